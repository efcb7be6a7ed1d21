-- codex.patch: parsing unified diffs and applying (some of) their hunks, forwards and back.
-- Pure: runs under Lua 5.4 and in Neovim. The round-trip tests use a small differ of their
-- own, and `diff -u` / `git diff --no-index` when the machine has them.
local P = require("codex.patch")

local function lines(t) return table.concat(t, "\n") .. "\n" end

local function parse1(d)
  local files, err = P.parse(d)
  expect.truthy(files, err)
  expect.eq(#files, 1, "one file")
  return files[1]
end

-- Ten numbered lines, the usual test file.
local function numbered(n, fmt)
  local t = {}
  for i = 1, n do t[i] = (fmt or "line %d"):format(i) end
  return t
end

-- A test-only differ: LCS over lines, hunks with `ctx` lines of context, git's conventions
-- (zero-count starts are the line before; "\ No newline" after a side's last line).
local function split(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  local rest = s:match("([^\n]+)$")
  if rest then t[#t + 1] = rest end
  return t, s ~= "" and s:sub(-1) ~= "\n"
end

local function make_diff(old, new, ctx)
  ctx = ctx or 3
  local a, a_noeol = split(old)
  local b, b_noeol = split(new)
  -- the last line of a side without newline differs from the same text with one
  local function key(t, i, noeol) return (i == #t and noeol) and (t[i] .. "\0") or t[i] end
  local n, m = #a, #b
  local L = {}
  for i = n + 1, 1, -1 do
    L[i] = {}
    for j = m + 1, 1, -1 do
      if i > n or j > m then L[i][j] = 0
      elseif key(a, i, a_noeol) == key(b, j, b_noeol) then L[i][j] = L[i + 1][j + 1] + 1
      else L[i][j] = math.max(L[i + 1][j], L[i][j + 1]) end
    end
  end
  local script, i, j = {}, 1, 1 -- {op, text, old line, new line}
  while i <= n or j <= m do
    if i <= n and j <= m and key(a, i, a_noeol) == key(b, j, b_noeol) then
      script[#script + 1] = { " ", a[i], i, j } i, j = i + 1, j + 1
    elseif j <= m and (i > n or L[i][j + 1] >= L[i + 1][j]) then
      script[#script + 1] = { "+", b[j], i, j } j = j + 1
    else
      script[#script + 1] = { "-", a[i], i, j } i = i + 1
    end
  end
  local out, k = {}, 1
  while k <= #script do
    if script[k][1] ~= " " then
      local s = math.max(1, k - ctx)
      local e, last_change = k, k
      while e < #script and (script[e + 1][1] ~= " " or e + 1 - last_change <= 2 * ctx) do
        e = e + 1
        if script[e][1] ~= " " then last_change = e end
      end
      e = math.min(#script, last_change + ctx)
      local oc, nc = 0, 0
      for x = s, e do
        if script[x][1] ~= "+" then oc = oc + 1 end
        if script[x][1] ~= "-" then nc = nc + 1 end
      end
      local os_ = oc == 0 and script[s][3] - 1 or script[s][3]
      local ns = nc == 0 and script[s][4] - 1 or script[s][4]
      local function r(st, c) return c == 1 and tostring(st) or (st .. "," .. c) end
      out[#out + 1] = ("@@ -%s +%s @@"):format(r(os_, oc), r(ns, nc))
      for x = s, e do
        local op, text, oi, nj = script[x][1], script[x][2], script[x][3], script[x][4]
        out[#out + 1] = op .. text
        local old_last = op ~= "+" and oi == n and a_noeol
        local new_last = op ~= "-" and nj == m and b_noeol
        if old_last or new_last then out[#out + 1] = "\\ No newline at end of file" end
      end
      k = e + 1
    else
      k = k + 1
    end
  end
  return #out > 0 and (table.concat(out, "\n") .. "\n") or ""
end

local function hunks_of(old, new, ctx)
  local h, err = P.parse_hunks(make_diff(old, new, ctx))
  expect.truthy(h, err)
  return h
end

local function apply_ok(text, hunks, opts)
  local out, res = P.apply(text, hunks, opts)
  expect.truthy(out, res and res.message)
  return out, res
end

describe("codex.patch parse", function()
  it("reads a git diff: update, add, delete, rename (with and without changes), mode and binary lines", function()
    local files, err = P.parse(table.concat({
      "diff --git a/src/x.lua b/src/x.lua",
      "index 83db48f..bf269f4 100644",
      "--- a/src/x.lua",
      "+++ b/src/x.lua",
      "@@ -1,3 +1,3 @@ local function f()",
      " a",
      "-b",
      "+B",
      " c",
      "diff --git a/new.txt b/new.txt",
      "new file mode 100644",
      "index 0000000..e69de29",
      "--- /dev/null",
      "+++ b/new.txt",
      "@@ -0,0 +1,2 @@",
      "+one",
      "+two",
      "diff --git a/gone.txt b/gone.txt",
      "deleted file mode 100755",
      "--- a/gone.txt",
      "+++ /dev/null",
      "@@ -1 +0,0 @@",
      "-bye",
      "\\ No newline at end of file",
      "diff --git a/old name.txt b/new name.txt",
      "similarity index 100%",
      "rename from old name.txt",
      "rename to new name.txt",
      "diff --git a/m.txt b/n.txt",
      "similarity index 80%",
      "rename from m.txt",
      "rename to n.txt",
      "--- a/m.txt",
      "+++ b/n.txt",
      "@@ -2 +2 @@",
      "-x",
      "+y",
      "diff --git a/empty b/empty",
      "new file mode 100644",
      "index 0000000..e69de29",
      "diff --git a/img.png b/img.png",
      "index 1..2 100644",
      "Binary files a/img.png and b/img.png differ",
      "diff --git a/run.sh b/run.sh",
      "old mode 100644",
      "new mode 100755",
    }, "\n") .. "\n")
    expect.truthy(files, err)
    local got = {}
    for _, f in ipairs(files) do got[#got + 1] = { f.kind, f.old_path or false, f.new_path or false, #f.hunks } end
    expect.same(got, {
      { "update", "src/x.lua", "src/x.lua", 1 },
      { "add", false, "new.txt", 1 },
      { "delete", "gone.txt", false, 1 },
      { "rename", "old name.txt", "new name.txt", 0 },
      { "rename", "m.txt", "n.txt", 1 },
      { "add", false, "empty", 0 },
      { "update", "img.png", "img.png", 0 },
      { "update", "run.sh", "run.sh", 0 },
    })
    local h = files[1].hunks[1]
    expect.same(h, { old_start = 1, old_count = 3, new_start = 1, new_count = 3, header = "local function f()",
      no_eol_old = false, no_eol_new = false,
      lines = { { op = " ", text = "a" }, { op = "-", text = "b" }, { op = "+", text = "B" }, { op = " ", text = "c" } } })
    expect.eq(files[3].hunks[1].no_eol_old, true, "\\ No newline after a removed line: the old side")
    expect.eq(files[3].hunks[1].no_eol_new, false)
    expect.eq(files[3].old_mode, "100755")
    expect.eq(files[7].binary, true)
    expect.same({ files[8].old_mode, files[8].new_mode }, { "100644", "100755" })
  end)

  it("reads diff -u's headers (timestamps, no prefix) and git's quoted paths; a/ b/ go only in pairs", function()
    local f = parse1("--- x.txt\t2024-01-01 10:00:00.000000000 +0100\n+++ x.txt\t2024-01-02 10:00:00.000000000 +0100\n@@ -1 +1 @@\n-a\n+b\n")
    expect.same({ f.kind, f.old_path, f.new_path }, { "update", "x.txt", "x.txt" })
    f = parse1("--- a/only_a\n+++ c/other\n@@ -1 +1 @@\n-a\n+b\n")
    expect.same({ f.old_path, f.new_path }, { "a/only_a", "c/other" }, "no b/: nothing stripped")
    f = parse1('diff --git "a/t\\303\\251st\\tx" "b/t\\303\\251st\\tx"\n--- "a/t\\303\\251st\\tx"\n+++ "b/t\\303\\251st\\tx"\n@@ -1 +1 @@\n-a\n+b\n')
    expect.eq(f.new_path, "t\195\169st\tx")
    f = parse1("diff --git a//abs/p.txt b//abs/p.txt\n--- a//abs/p.txt\n+++ b//abs/p.txt\n@@ -1 +1 @@\n-a\n+b\n")
    expect.eq(f.new_path, "/abs/p.txt", "an absolute path (codex outside a repository)")
  end)

  it("\\ No newline after a context line marks both sides; counts default to 1; a lost space is an empty context line", function()
    local h = P.parse_hunks("@@ -1,2 +1,2 @@\n-a\n+A\n b\n\\ No newline at end of file\n")
    expect.same({ h[1].no_eol_old, h[1].no_eol_new }, { true, true })
    h = P.parse_hunks("@@ -3 +3,2 @@\n x\n+y\n")
    expect.same({ h[1].old_start, h[1].old_count, h[1].new_start, h[1].new_count }, { 3, 1, 3, 2 })
    h = P.parse_hunks("@@ -1,3 +1,3 @@\n a\n\n-c\n+C\n")
    expect.same(h[1].lines[2], { op = " ", text = "" })
  end)

  it("parse_hunks takes bare hunks or a one-file diff; empty is no hunks", function()
    local bare = P.parse_hunks("@@ -1 +1 @@\n-a\n+b\n@@ -5 +5 @@\n-e\n+f\n")
    expect.eq(#bare, 2)
    local with = P.parse_hunks("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    expect.same(with, { bare[1] })
    expect.same(P.parse_hunks(""), {})
    local h, err = P.parse_hunks("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n")
    expect.eq(h, nil)
    expect.match(err, "one file")
  end)

  it("malformed input gives nil and a message, never an error", function()
    local bad = {
      "@@ -1 +1 @@\n-a\n+b\n", -- parse: a hunk without a file
      "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n", -- ends early
      "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n-b\n+c\n", -- more lines than the header says
      "--- a/x\n+++ b/x\n@@ -x +1 @@\n-a\n", -- bad header
      "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+++ b/y\n", -- +++ alone
      "--- a/x\n+++ b/x\nhello\n", -- no hunk after the header
      "--- /dev/null\n+++ /dev/null\n@@ -0,0 +1 @@\n+a\n",
      "diff --git a/x b/y\nnew file mode 100644\n--- a/x\n+++ /dev/null\n", -- added, and no name
    }
    for k, d in ipairs(bad) do
      local ok, files, err = pcall(P.parse, d)
      expect.truthy(ok, "parse raised on case " .. k)
      expect.eq(files, nil, "case " .. k)
      expect.eq(type(err), "string", "case " .. k)
    end
    local ok, h, err = pcall(P.parse_hunks, "@@ -1,2 +1,2 @@\n a\n")
    expect.truthy(ok and h == nil and err:match("ends early"), err)
    expect.same({ P.parse_hunks("garbage\n") }, { nil, 'line 1: expected a hunk (@@), got "garbage"' })
    expect.eq(select(2, P.parse(42)), "the diff is not a string")
    expect.same(P.parse(""), {}, "an empty diff has no files")
  end)

  it("from_change reads the app-server's fileChange changes (add/delete: the content; update: hunks)", function()
    local add = P.from_change({ path = "/w/n.txt", kind = "add", diff = "x\ny" })
    expect.same({ add.kind, add.old_path, add.new_path }, { "add", nil, "/w/n.txt" })
    expect.eq(P.apply("", add.hunks), "x\ny", "no final newline kept")
    local del = P.from_change({ path = "/w/d.txt", kind = { type = "delete" }, diff = "a\nb\n" })
    expect.eq(P.apply("a\nb\n", del.hunks), "")
    expect.same({ P.apply("a\nB\n", del.hunks, { max_offset = 0 }) }, { nil, { message = 'hunk 1 of 1 does not match the text at line 1: line 2 is "B", the diff has "b"', hunk = 1, reason = "context", line = 1 } })
    local upd = P.from_change({ path = "/w/a.lua", kind = { type = "update", move_path = "/w/b.lua" }, diff = "@@ -1 +1 @@\n-a\n+b\n" })
    expect.same({ upd.kind, upd.old_path, upd.new_path, #upd.hunks }, { "rename", "/w/a.lua", "/w/b.lua", 1 })
    expect.eq(P.from_change({ path = "/w/a", kind = "update", diff = "@@ -1 +1 @@\n-a\n+b\n" }).kind, "update")
    expect.eq(P.from_change({ path = "p", kind = "add", diff = "" }).hunks[1], nil, "an empty new file")
    expect.eq(P.from_change({ path = "p", kind = "update", diff = "@@ bad" }), nil)
  end)
end)

describe("codex.patch apply", function()
  local old = lines(numbered(30))
  local function edited(skip)
    local t = numbered(30)
    if not skip[3] then table.remove(t, 27) end -- (from the end: the edits do not move each other)
    if not skip[2] then table.insert(t, 15, "inserted") end
    if not skip[1] then t[2] = "TWO" end
    return t
  end
  local new = lines(edited({}))
  local hunks = hunks_of(old, new)

  it("add, delete and update a whole file", function()
    expect.eq(apply_ok("", hunks_of("", "a\nb\n")), "a\nb\n", "add")
    expect.eq(apply_ok("a\nb\n", hunks_of("a\nb\n", "")), "", "delete")
    expect.eq(apply_ok("a\nb\nc\n", hunks_of("a\nb\nc\n", "a\nX\nc\n")), "a\nX\nc\n", "update")
  end)

  it("a multi-hunk update: all, a subset (1st and 3rd), and the reverse of all gives the original exactly", function()
    expect.eq(#hunks, 3, "three hunks")
    local out = apply_ok(old, hunks)
    expect.eq(out, new)
    expect.eq(apply_ok(out, hunks, { reverse = true }), old, "undo")
    local some = apply_ok(old, { hunks[1], hunks[3] })
    expect.eq(some, lines(edited({ [2] = true })))
    local undone, res = apply_ok(some, { hunks[1], hunks[3] }, { reverse = true })
    expect.eq(undone, old, "undo of the subset")
    expect.same(res.offsets, { 0, 0 }, "hunk 3 expected where it is, without hunk 2's line (not found by search)")
    expect.eq(P.apply(some, { hunks[1], hunks[3] }, { reverse = true, max_offset = 0 }), old)
    expect.eq(apply_ok(old, { hunks[3], hunks[1] }), some, "order does not matter")
    expect.eq(apply_ok(old, { hunks[2] }), lines(edited({ true, nil, true })))
    local _, res = apply_ok(old, hunks)
    expect.same(res.offsets, { 0, 0, 0 })
  end)

  it("a hunk whose context changed is refused, naming it, and nothing is applied", function()
    local t = numbered(30)
    t[27] = "the user edited this" -- inside the 3rd hunk's context
    local changed = lines(t)
    local out, err = P.apply(changed, hunks)
    expect.eq(out, nil)
    expect.eq(err.hunk, 3)
    expect.eq(err.reason, "context")
    expect.eq(err.message, 'hunk 3 of 3 does not match the text at line 24 or within 20 lines of it: line 27 is "the user edited this", the diff has "line 27"')
    expect.eq(err.line, 24)
    expect.eq(changed, lines(t), "the text is untouched")
    -- the other hunks still apply on their own
    expect.eq(apply_ok(changed, { hunks[1], hunks[2] }) ~= nil, true)
    -- undo refuses the same way when the user changed a line the turn added
    local after = lines(edited({}))
    out, err = P.apply((after:gsub("TWO", "two!")), hunks, { reverse = true })
    expect.eq(out, nil)
    expect.same({ err.hunk, err.reason }, { 1, "context" })
  end)

  it("lines inserted above a hunk: it is found at the shifted place (and the next ones follow)", function()
    local t = numbered(30)
    for k = 1, 5 do table.insert(t, 8, "new " .. k) end -- after hunk 1, before hunks 2 and 3
    local out, res = apply_ok(lines(t), hunks)
    local want = edited({})
    for k = 1, 5 do table.insert(want, 8, "new " .. k) end
    expect.eq(out, lines(want))
    expect.same(res.offsets, { 0, 5, 5 })
    -- too far: refused
    local far = numbered(30)
    for k = 1, 25 do table.insert(far, 8, "new " .. k) end
    local none, err = P.apply(lines(far), hunks)
    expect.eq(none, nil)
    expect.same({ err.hunk, err.reason }, { 2, "context" })
    expect.truthy(P.apply(lines(far), hunks, { max_offset = 30 }), "opts.max_offset")
  end)

  it("overlapping hunks are refused", function()
    local a = P.parse_hunks("@@ -1,3 +1,3 @@\n l1\n-l2\n+L2\n l3\n")[1]
    local b = P.parse_hunks("@@ -3,2 +3,2 @@\n l3\n-l4\n+L4\n")[1]
    local out, err = P.apply("l1\nl2\nl3\nl4\n", { a, b })
    expect.eq(out, nil)
    expect.same({ err.hunk, err.reason }, { 2, "overlap" })
    out, err = P.apply("l1\nl2\nl3\nl4\n", { a, a })
    expect.same({ out, err.reason }, { nil, "overlap" }, "the same hunk twice")
    local ins = P.parse_hunks("@@ -1,0 +2 @@\n+x\n")[1]
    out, err = P.apply("l1\nl2\n", { ins, ins })
    expect.same({ out, err.reason }, { nil, "overlap" }, "two insertions at one place")
  end)

  it("a hand-built hunk whose lines disagree with its counts is refused", function()
    local h = { old_start = 1, old_count = 2, new_start = 1, new_count = 1, header = "", lines = { { op = "-", text = "a" } } }
    local out, err = P.apply("a\n", { h })
    expect.same({ out, err.reason, err.hunk }, { nil, "invalid", 1 })
  end)

  it("CRLF: lines match without \\r and keep (or get) the file's ending, diffs with or without \\r", function()
    local crlf = "one\r\ntwo\r\nthree\r\n"
    local lf_diff = P.parse_hunks("@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n+2b\n three\n")
    expect.eq(apply_ok(crlf, lf_diff), "one\r\nTWO\r\n2b\r\nthree\r\n")
    local cr_diff = P.parse_hunks("@@ -1,3 +1,3 @@\n one\r\n-two\r\n+TWO\r\n three\r\n")
    expect.eq(apply_ok(crlf, cr_diff), "one\r\nTWO\r\nthree\r\n")
    expect.eq(apply_ok("one\r\nTWO\r\n2b\r\nthree\r\n", lf_diff, { reverse = true }), crlf)
    expect.eq(apply_ok("one\ntwo\nthree\n", cr_diff), "one\nTWO\nthree\n", "an LF file stays LF")
    -- a text with no line ending to learn from: the diff's "\r"s say CRLF
    expect.eq(apply_ok("one", P.parse_hunks("@@ -1 +1,2 @@\n-one\n\\ No newline at end of file\n+one\r\n+two\r\n")), "one\r\ntwo\r\n")
    expect.eq(apply_ok("", P.parse_hunks("@@ -0,0 +1 @@\n+x\n")), "x\n")
    -- mixed endings: each kept line keeps its own
    expect.eq(apply_ok("a\r\nb\nc\r\n", P.parse_hunks("@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")), "a\r\nB\r\nc\r\n")
    expect.eq(apply_ok("a\r\nb\nc\n", P.parse_hunks("@@ -1,3 +1,3 @@\n a\n b\n-c\n+C\n")), "a\r\nb\nC\n")
  end)

  it("no trailing newline: in the old text, the new one, both; and a mismatch there is refused", function()
    -- old without, new with
    local h = hunks_of("a\nb", "a\nb\n")
    expect.eq(h[1].no_eol_old, true)
    expect.eq(apply_ok("a\nb", h), "a\nb\n")
    expect.eq(apply_ok("a\nb\n", h, { reverse = true }), "a\nb")
    -- old with, new without
    h = hunks_of("a\nb\n", "a\nc")
    expect.eq(apply_ok("a\nb\n", h), "a\nc")
    expect.eq(apply_ok("a\nc", h, { reverse = true }), "a\nb\n")
    -- both without
    h = hunks_of("a\nb\nc", "A\nb\nc", 1)
    expect.eq(apply_ok("a\nb\nc", h), "A\nb\nc")
    h = hunks_of("a\nb\nc", "a\nb\nC")
    expect.same({ h[1].no_eol_old, h[1].no_eol_new }, { true, true })
    expect.eq(apply_ok("a\nb\nc", h), "a\nb\nC")
    -- the hunk expects no newline at the end but the file has one (or the reverse): refused
    local out, err = P.apply("a\nb\nc\n", h)
    expect.same({ out, err and err.reason }, { nil, "context" })
    expect.match(err.message, "the diff says the file has no newline at its end, it has one$")
    out, err = P.apply("a\nb\n", hunks_of("a\nb\n", "a\nc"), { reverse = true })
    expect.same({ out, err and err.reason }, { nil, "context" })
    -- a new side "without newline" that is not the file's end; lines added after a last line
    -- that has no newline (the diff would have shown that line changing): refused
    out, err = P.apply("a\nb\n", P.parse_hunks("@@ -0,0 +1 @@\n+x\n\\ No newline at end of file\n"))
    expect.same({ out, err and err.message }, { nil, "hunk 1 of 1 does not match the text at line 1 or within 20 lines of it: the diff says it ends the file, the text goes on" })
    out, err = P.apply("a\nb", P.parse_hunks("@@ -2,0 +3 @@\n+c\n"))
    expect.same({ out, err and err.message }, { nil, "hunk 1 of 1 does not match the text at line 3 or within 20 lines of it: the diff adds lines after the last one, which has no newline" })
  end)

  it("an empty file, and a hunk at the very start and at the very end", function()
    expect.eq(apply_ok("", {}), "", "no hunks")
    expect.eq(apply_ok("keep\n", {}), "keep\n")
    expect.eq(apply_ok("", hunks_of("", "x")), "x")
    expect.eq(apply_ok("x", hunks_of("x", "")), "")
    local base = lines(numbered(10))
    local t = numbered(10)
    table.insert(t, 1, "first")
    t[#t + 1] = "last"
    local h = hunks_of(base, lines(t))
    expect.eq(#h, 2)
    expect.same({ h[1].old_start, h[2].old_start + h[2].old_count - 1 }, { 1, 10 })
    expect.eq(apply_ok(base, h), lines(t))
    expect.eq(apply_ok(lines(t), h, { reverse = true }), base)
    expect.eq(apply_ok(base, { h[2] }), lines(numbered(10)) .. "last\n", "only the end")
    -- zero-context insertions at both ends
    local h0 = hunks_of(base, lines(t), 0)
    expect.same({ h0[1].old_start, h0[1].old_count, h0[2].old_start, h0[2].old_count }, { 0, 0, 10, 0 },
      "insertions before line 1 and after line 10")
    expect.eq(apply_ok(base, h0), lines(t))
    expect.eq(apply_ok(lines(t), h0, { reverse = true }), base)
    expect.eq(apply_ok(base, { h0[2] }), base .. "last\n")
    -- a hunk without old lines matches anywhere: it goes to its own line, never searched for
    local _, res = apply_ok(lines(numbered(30)), { h0[1] })
    expect.same(res.offsets, { 0 })
  end)

  it("format and hunk_text give diffs that parse back (and a subset's numbers are renumbered)", function()
    local file = { kind = "update", old_path = "x.txt", new_path = "x.txt", hunks = hunks }
    local again = parse1(P.format(file))
    expect.same(again.hunks, hunks)
    local sub = parse1(P.format(file, { hunks[3], hunks[1] }))
    expect.eq(#sub.hunks, 2)
    expect.eq(sub.hunks[2].new_start, hunks[3].new_start - 1, "without hunk 2's inserted line")
    expect.eq(apply_ok(old, sub.hunks), apply_ok(old, { hunks[1], hunks[3] }))
    local one = P.hunk_text(file, hunks[2])
    expect.match(one, "^diff %-%-git a/x%.txt b/x%.txt\n%-%-%- a/x%.txt\n%+%+%+ b/x%.txt\n@@ %-12,6 %+12,7 @@\n")
    expect.eq(P.hunk_text(file, hunks[2], { headers = false }), one:match("\n(@@.*)$"))
    local add = { kind = "add", new_path = "n", hunks = hunks_of("", "a") }
    expect.eq(P.format(add), "diff --git a/n b/n\nnew file mode 100644\n--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+a\n\\ No newline at end of file\n")
    local ren = parse1(P.format({ kind = "rename", old_path = "a b", new_path = "c\td", hunks = {} }))
    expect.same({ ren.kind, ren.old_path, ren.new_path }, { "rename", "a b", "c\td" })
  end)

  it("summary counts lines per file and in all", function()
    local files = P.parse(P.format({ kind = "update", old_path = "x", new_path = "x", hunks = hunks })
      .. P.format({ kind = "add", new_path = "n", hunks = hunks_of("", "a\nb\n") })
      .. P.format({ kind = "delete", old_path = "d", hunks = hunks_of("z\n", "") }))
    local by, total = P.summary(files)
    expect.same(by, { x = { added = 2, removed = 2 }, n = { added = 2, removed = 0 }, d = { added = 0, removed = 1 } })
    expect.same(total, { files = 3, added = 4, removed = 3 })
    expect.eq(P.summary_text(total), "3 files changed, +4 −3")
    expect.eq(P.summary_text({ files = 1, added = 0, removed = 0 }), "1 file changed, +0 −0")
  end)
end)

describe("codex.patch round trip", function()
  -- Random texts from few distinct lines (so contexts repeat), random edits, random final newlines.
  local WORDS = { "a", "b", "c", "", "end", "x = 1" }
  local seed = 20261201
  local function rnd(n) -- a small LCG: the same sequence under Lua 5.4 and LuaJIT
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n + 1
  end
  local function text_of(t, eol, noeol)
    if #t == 0 then return "" end
    local s = table.concat(t, eol) .. eol
    return noeol and s:sub(1, -1 - #eol) or s
  end
  local function random_case()
    local t = {}
    for k = 1, rnd(25) - 1 do t[k] = WORDS[rnd(#WORDS)] end
    local u = {}
    for _, l in ipairs(t) do
      local r = rnd(10)
      if r == 1 then -- drop
      elseif r == 2 then u[#u + 1] = "new " .. rnd(99)
      elseif r == 3 then u[#u + 1] = l u[#u + 1] = WORDS[rnd(#WORDS)]
      else u[#u + 1] = l end
    end
    if rnd(4) == 1 then u[#u + 1] = "tail" end
    return t, u, rnd(3) == 1, rnd(3) == 1
  end

  it("300 random edits: the diff applied gives the new text, reversed the old; random subsets go back too", function()
    for n = 1, 300 do
      local t, u, noeol_a, noeol_b = random_case()
      -- (CRLF only where the old text has a line ending to learn it from: this differ's
      -- diffs are of the LF texts)
      local eol = n % 5 == 0 and (#t > 1 or (#t == 1 and not noeol_a)) and "\r\n" or "\n"
      local a, b = text_of(t, "\n", noeol_a), text_of(u, "\n", noeol_b)
      local ctx = n % 4 -- 0..3 lines of context
      local d = make_diff(a, b, ctx)
      local h, err = P.parse_hunks(d)
      expect.truthy(h, err)
      local A, B = text_of(t, eol, noeol_a), text_of(u, eol, noeol_b)
      local out, e1 = P.apply(A, h)
      expect.eq(out, B, ("case %d forward (%s)\n%s"):format(n, e1 and e1.message or "", d))
      local back, e2 = P.apply(B, h, { reverse = true })
      expect.eq(back, A, ("case %d reverse (%s)\n%s"):format(n, e2 and e2.message or "", d))
      local sub = {}
      for _, x in ipairs(h) do if rnd(2) == 1 then sub[#sub + 1] = x end end
      local mid, e3 = P.apply(A, sub)
      expect.truthy(mid, ("case %d subset (%s)\n%s"):format(n, e3 and e3.message or "", d))
      local again, e4 = P.apply(mid, sub, { reverse = true })
      expect.eq(again, A, ("case %d subset reverse (%s)\n%s"):format(n, e4 and e4.message or "", d))
    end
  end)

  local function sh_ok(cmd)
    local p = io.popen(cmd .. " >/dev/null 2>&1; echo $?")
    local rc = p and p:read("*l")
    if p then p:close() end
    return rc == "0"
  end
  local dir = TEST_ROOT .. "/.testenv/patch_spec"
  local function write(name, s)
    local f = assert(io.open(dir .. "/" .. name, "wb"))
    f:write(s)
    f:close()
  end
  local function read(name)
    local f = io.open(dir .. "/" .. name, "rb")
    if not f then return nil end
    local s = f:read("*a")
    f:close()
    return s
  end
  local function run(cmd)
    local p = assert(io.popen("cd '" .. dir .. "' && " .. cmd .. " 2>&1"))
    local s = p:read("*a")
    p:close()
    return s
  end

  it("a real git diff of a repository (update, add, delete, rename with changes, CRLF, no newline) applies file by file", function()
    if not sh_ok("git --version") then
      pending("git is not installed")
      return
    end
    dir = TEST_ROOT .. "/.testenv/patch_spec_repo"
    os.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "/sub'")
    local before = {
      ["keep.txt"] = lines(numbered(40)),
      ["gone.txt"] = "bye\n",
      ["sub/old name.txt"] = lines(numbered(20, "row %d")),
      ["dos.txt"] = "one\r\ntwo\r\nthree\r\n",
      ["tail.txt"] = "a\nb",
    }
    local t = numbered(40)
    t[3], t[38] = "three", "thirty-eight"
    table.insert(t, 20, "twenty-ish")
    local r = numbered(20, "row %d")
    r[10] = "row ten"
    local after = {
      ["keep.txt"] = lines(t),
      ["new file.txt"] = "fresh\ncontent",
      ["sub/new name.txt"] = lines(r),
      ["dos.txt"] = "one\r\n2\r\nthree\r\n",
      ["tail.txt"] = "a\nb\nc\n",
    }
    for name, s in pairs(before) do write(name, s) end
    run("git init -q . && git -c user.name=t -c user.email=t@t add -A && git -c user.name=t -c user.email=t@t commit -qm base")
    os.execute("cd '" .. dir .. "' && rm gone.txt 'sub/old name.txt'")
    for name, s in pairs(after) do write(name, s) end
    run("git add -A")
    local files, err = P.parse(run("git -c core.quotePath=true diff --cached -M --no-color"))
    expect.truthy(files, err)
    local kinds = {}
    for _, f in ipairs(files) do
      kinds[f.new_path or f.old_path] = f.kind
      local old_text = f.old_path and before[f.old_path] or ""
      local new_text = f.new_path and after[f.new_path] or ""
      expect.eq(P.apply(old_text, f.hunks), new_text, f.new_path or f.old_path)
      expect.eq(P.apply(new_text, f.hunks, { reverse = true }), old_text, "undo " .. (f.new_path or f.old_path))
    end
    expect.same(kinds, { ["keep.txt"] = "update", ["gone.txt"] = "delete", ["new file.txt"] = "add",
      ["sub/new name.txt"] = "rename", ["dos.txt"] = "update", ["tail.txt"] = "update" })
    local by = P.summary(files)
    expect.same(by["keep.txt"], { added = 3, removed = 2 })
  end)

  for _, tool in ipairs({
    { name = "diff -u", probe = "diff --version", cmd = "diff -u a.txt b.txt" },
    { name = "git diff --no-index", probe = "git --version", cmd = "git diff --no-index --no-color a.txt b.txt" },
  }) do
    it(tool.name .. ": 60 random pairs (LF and CRLF) apply forwards and back; GNU patch agrees on subsets", function()
      dir = TEST_ROOT .. "/.testenv/patch_spec"
      if not sh_ok(tool.probe) then
        pending(tool.name .. " is not installed")
        return
      end
      os.execute("mkdir -p '" .. dir .. "'")
      local has_patch = sh_ok("patch --version")
      for n = 1, 60 do
        local t, u, noeol_a, noeol_b = random_case()
        local eol = n % 3 == 0 and "\r\n" or "\n"
        local a, b = text_of(t, eol, noeol_a), text_of(u, eol, noeol_b)
        write("a.txt", a)
        write("b.txt", b)
        local d = run(tool.cmd)
        local files, err = P.parse(d)
        expect.truthy(files, err)
        if a == b then
          expect.eq(#files, 0)
        else
          expect.eq(#files, 1, d)
          local h = files[1].hunks
          expect.eq(P.apply(a, h), b, ("case %d forward\n%s"):format(n, d))
          expect.eq(P.apply(b, h, { reverse = true }), a, ("case %d reverse\n%s"):format(n, d))
          if has_patch and #h > 1 then
            local sub = {}
            for k, x in ipairs(h) do if k % 2 == 1 then sub[#sub + 1] = x end end
            write("sub.diff", P.format({ kind = "update", old_path = "a.txt", new_path = "a.txt", hunks = sub }))
            write("c.txt", a)
            run("patch -s -p1 --binary -F0 c.txt < sub.diff")
            expect.eq(P.apply(a, sub), read("c.txt"), ("case %d: GNU patch on the subset\n%s"):format(n, d))
          end
        end
      end
    end)
  end
end)
