-- codex.ui.code_fallback: fenced code coloured where Neovim has no parser for its language
-- (0.7 has none; 0.10/0.12 a few). Pure: runs under Lua 5.4 as inside Neovim.
local fb = require("codex.ui.code_fallback")

local function spans(line, lang)
  local out = {}
  for _, s in ipairs(fb.line(line, lang)) do out[#out + 1] = line:sub(s[1] + 1, s[2]) .. ":" .. s[3]:gsub("^CodexCode", "") end
  return out
end

describe("codex.ui.code_fallback", function()
  it("keywords, strings, numbers and the language's comments", function()
    expect.same(spans('local x = "a -- b" -- note', "lua"), { "local:Keyword", '"a -- b":String', "-- note:Comment" })
    expect.same(spans("def f(n): return n * 2.5  # twice", "python"), { "def:Keyword", "return:Keyword", "2.5:Number", "# twice:Comment" })
    expect.same(spans("int x = 0x1F; /* c */ y; // end", "c"), { "0x1F:Number", "/* c */:Comment", "// end:Comment" })
    expect.same(spans([[echo "it's \"q\"" $#]], "bash"), { "echo:Keyword", [["it's \"q\"":String]] }, "# inside a word is not a comment")
  end)

  it("leaves identifiers, fields and words with digits plain", function()
    expect.same(spans("x1 = obj.end + t.local", "lua"), {})
    expect.same(spans("value2 returned", "python"), {})
  end)

  it("knows which languages it draws", function()
    expect.truthy(fb.supports("python"))
    expect.truthy(fb.supports("lua"))
    expect.falsy(fb.supports("diff"))
    expect.falsy(fb.supports("text"))
  end)
end)
