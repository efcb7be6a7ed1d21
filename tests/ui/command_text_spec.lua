-- codex.ui.command_text: the script inside a shell wrapper, as the chat and the approval show
-- it. Pure: runs under Lua 5.4 as inside Neovim.
local ct = require("codex.ui.command_text")

describe("codex.ui.command_text", function()
  it("unwraps bash/sh/zsh -c and -lc, with any directory", function()
    local cases = {
      { "/bin/bash -c 'echo demo-ok && ls -la'", "echo demo-ok && ls -la", "bash" },
      { "/bin/bash -lc 'ls -la'", "ls -la", "bash" },
      { "bash -lc 'cat a | wc -l; echo $HOME'", "cat a | wc -l; echo $HOME", "bash" },
      { "sh -c 'make test'", "make test", "sh" },
      { "/usr/bin/zsh -lc 'print -r -- x'", "print -r -- x", "zsh" },
      { "/bin/dash -cl 'true'", "true", "dash" },
      { "bash -c ls", "ls", "bash" },
    }
    for _, c in ipairs(cases) do
      local script, shell = ct.unwrap(c[1])
      expect.eq(script, c[2], c[1])
      expect.eq(shell, c[3], c[1])
    end
  end)

  it("undoes the quoting: '\\'' and double quotes with backslashes", function()
    expect.eq(ct.unwrap([[bash -lc 'echo '\''hi'\'' there']]), "echo 'hi' there")
    expect.eq(ct.unwrap([[bash -lc 'echo '"'"'x'"'"'']]), "echo 'x'")
    expect.eq(ct.unwrap([[bash -c "echo \"quoted\" \$HOME"]]), [[echo "quoted" $HOME]])
    expect.eq(ct.unwrap([[bash -c echo\ hi]]), "echo hi")
  end)

  it("unwraps an argv list; joins any other list", function()
    local script, shell = ct.unwrap({ "/bin/bash", "-lc", "echo 'a b' && ls" })
    expect.eq(script, "echo 'a b' && ls")
    expect.eq(shell, "bash")
    script, shell = ct.unwrap({ "ls", "-la", 3 })
    expect.eq(script, "ls -la 3")
    expect.eq(shell, nil)
    expect.eq(ct.unwrap({ "bash", "-lc", {} }), "bash -lc", "a non-text element: joined, not unwrapped")
  end)

  it("leaves alone what is not a plain wrapper", function()
    for _, cmd in ipairs({
      "echo demo-ok && ls -la",                  -- no wrapper
      "bash script.sh",                          -- no -c
      "bash -x 'echo hi'",                       -- another flag
      "bash -lc 'echo hi' extra",                -- $0 given: more than the script
      "bash -lc 'unbalanced",                    -- broken quoting
      [[bash -c "echo $HOME"]],                  -- an expansion in double quotes
      "bash -lc 'a' && rm -rf x",                -- the wrapper is part of a longer line
      "python -c 'print(1)'",                    -- not a shell
      "/bin/bashful -c 'x'",                     -- not a shell either
    }) do
      local script, shell = ct.unwrap(cmd)
      expect.eq(script, cmd, cmd)
      expect.eq(shell, nil, cmd)
    end
    expect.eq(ct.unwrap(nil), nil)
    expect.eq(ct.unwrap(42), "42")
  end)

  it("joins commands: strings, numbers and argv lists", function()
    expect.eq(ct.join("ls -la"), "ls -la")
    expect.eq(ct.join({ "git", "status", false, 2 }), "git status 2")
    expect.eq(ct.join(nil), nil)
    expect.eq(ct.join(true), nil)
  end)
end)
