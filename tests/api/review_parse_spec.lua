-- codex.review (pure): review targets, and findings read from the text app-server 0.171.0
-- sends (codex's rendering of the reviewer's JSON), from the JSON itself, and from drift.
local review = require("codex.review")

-- What 0.171.0 sent for the mock's two findings (tests/mock: a review request).
local TEXT = table.concat({
  "Mock review: 2 findings.",
  "",
  "Full review comments:",
  "",
  "- [P1] Mock finding 1 in app.lua \226\128\148 /ws/app.lua:2-2",
  "  Line 2 of `app.lua` needs a look.",
  "  A second line of the body.",
  "",
  "- [P2] Guard the nil \226\128\148 not a location \226\128\148 /ws/dir with space/b.lua:30-34",
  "  Body of two.",
}, "\n")

describe("codex.review", function()
  it("maps targets to the protocol's ReviewTarget", function()
    expect.same(review.target(nil), { type = "uncommittedChanges" })
    expect.same(review.target("uncommitted"), { type = "uncommittedChanges" })
    expect.same(review.target({ branch = "main" }), { type = "baseBranch", branch = "main" })
    expect.same(review.target({ commit = "abc123", title = "Fix it" }), { type = "commit", sha = "abc123", title = "Fix it" })
    expect.same(review.target({ commit = "abc123" }), { type = "commit", sha = "abc123" })
    expect.same(review.target({ instructions = "look at x" }), { type = "custom", instructions = "look at x" })
    expect.same(review.target({ type = "custom", instructions = "raw" }), { type = "custom", instructions = "raw" })
    local t, why = review.target({ branch = "" })
    expect.eq(t, nil)
    expect.match(why, "non%-empty")
    expect.eq((review.target("branch main")), nil)
  end)

  it("describes targets", function()
    expect.eq(review.describe(nil), "uncommitted changes")
    expect.eq(review.describe({ branch = "main" }), "changes against main")
    expect.eq(review.describe({ commit = "0123456789abcdef", title = "T" }), "commit 0123456789ab: T")
  end)

  it("reads codex's text rendering: title, priority, path, lines, body", function()
    local f = review.parse(TEXT)
    expect.eq(#f, 2)
    expect.same(f[1], { title = "[P1] Mock finding 1 in app.lua", priority = 1, path = "/ws/app.lua", lnum = 2, end_lnum = 2,
      body = "Line 2 of `app.lua` needs a look.\nA second line of the body." })
    -- the last dash before a location splits title and path; a path may hold spaces
    expect.eq(f[2].title, "[P2] Guard the nil \226\128\148 not a location")
    expect.eq(f[2].path, "/ws/dir with space/b.lua")
    expect.eq(f[2].lnum, 30)
    expect.eq(f[2].end_lnum, 34)
    expect.eq(f[2].priority, 2)
    expect.eq(f[2].body, "Body of two.")
  end)

  it("reads other renderings: ' -- ', checkboxes, one finding, no priority, CRLF", function()
    local f = review.parse("Ok.\r\n\r\nReview comment:\r\n\r\n- [x] Untagged title -- /a.lua:7-9\r\n  why\r\n")
    expect.eq(#f, 1)
    expect.eq(f[1].title, "Untagged title")
    expect.eq(f[1].priority, nil)
    expect.eq(f[1].path, "/a.lua")
    expect.eq(f[1].lnum, 7)
    expect.eq(f[1].body, "why")
  end)

  it("reads the reviewer's JSON when a release passes it through", function()
    local f = review.parse('{"findings":[{"title":"T","body":"B","confidence_score":0.5,"priority":0,'
      .. '"code_location":{"absolute_file_path":"/x.lua","line_range":{"start":3,"end":4}}}],'
      .. '"overall_correctness":"patch is incorrect","overall_explanation":"E"}')
    expect.same(f, { { title = "T", body = "B", priority = 0, path = "/x.lua", lnum = 3, end_lnum = 4, confidence = 0.5 } })
  end)

  it("gives {} for a review without findings, and for junk", function()
    expect.same(review.parse("Mock review: no findings."), {})
    expect.same(review.parse(""), {})
    expect.same(review.parse(nil), {})
    expect.same(review.parse("- a line that is no finding\n{not json}"), {})
    expect.same(review.parse('{"findings": 3}'), {})
    -- JSON findings with missing or odd fields are kept without them
    local f = review.parse('{"findings":[{"title":5,"code_location":null}, 7]}')
    expect.eq(#f, 1)
    expect.eq(f[1].path, nil)
    expect.eq(f[1].title, "")
  end)

  it("summarises a finding as one quickfix line", function()
    expect.eq(review.summary({ title = "[P1] T", body = "first\nsecond" }), "[P1] T: first")
    expect.eq(review.summary({ title = "T", body = "", priority = 2 }), "[P2] T")
  end)

  it("finds a turn's review text in its items", function()
    expect.eq(review.text_of({ { type = "agentMessage", text = "x" } }), nil)
    expect.eq(review.text_of({ { type = "exitedReviewMode", review = "R" }, { type = "agentMessage" } }), "R")
  end)
end)
