-- tests/run.lua: runs spec files under plain Lua 5.4 or inside Neovim (see tests/lib/runner.lua).
--   lua5.4 tests/run.lua tests/core/*_spec.lua
--   CODEX_TEST_FILES="tests/core/a_spec.lua …" nvim --headless -u NONE -c 'luafile tests/run.lua'
local in_nvim = type(vim) == "table" and vim.api ~= nil
local src = debug.getinfo(1, "S").source:gsub("^@", "")
local root = src:match("^(.*)/tests/run%.lua$") or "."
if root:sub(1, 1) ~= "/" then
  local pwd = os.getenv("PWD") or "."
  root = root == "." and pwd or pwd .. "/" .. root
end
package.path = root .. "/tests/?.lua;" .. root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
if in_nvim then
  vim.opt.rtp:prepend(root)
  vim.cmd("runtime! plugin/codex.lua") -- as a user's Neovim would (tests run with -u NONE)
else
  package.cpath = (os.getenv("CODEX_CPATH") or (root .. "/build/lua5.4/?.so")) .. ";" .. package.cpath
end
TEST_ROOT = root

local R = require("lib.runner")
local print = R.print
R.filter = os.getenv("CODEX_TEST_FILTER")
local files = {}
if in_nvim then
  for f in (os.getenv("CODEX_TEST_FILES") or ""):gmatch("%S+") do files[#files + 1] = f end
else
  for _, f in ipairs(arg or {}) do files[#files + 1] = f end
end

local host = in_nvim and ("nvim " .. tostring(vim.version().major) .. "." .. tostring(vim.version().minor)) or _VERSION
print(("# codex.nvim tests under %s: %d file(s)"):format(host, #files))
for _, f in ipairs(files) do
  if f:sub(1, 1) ~= "/" then f = root .. "/" .. f end -- specs may change the directory
  print("# " .. f:sub(#root + 2))
  local chunk, err = loadfile(f)
  if not chunk then
    R.results.failed = R.results.failed + 1
    print("FAIL loading " .. f .. ": " .. tostring(err))
  else
    R.run_file(chunk) -- an error in the file counts as one failure; its teardowns still run
  end
end
local r = R.results
-- (in Neovim, a late notification may have left the output line unfinished)
if in_nvim then print("") end
print(("%d passed, %d failed%s"):format(r.passed, r.failed, r.skipped > 0 and (", %d skipped"):format(r.skipped) or ""))
collectgarbage()
collectgarbage()
local code = (r.failed > 0 or r.passed == 0) and 1 or 0
if in_nvim then
  vim.cmd((code == 0 and "qa!" or "cq!"))
else
  -- luv (1.44) crashes in lua_close when a handle's close is still pending: its loop's __gc
  -- runs the close callback after the state it needs was freed (luvit/luv#599). A spec that
  -- failed half-way can leave one (tests/mock/launch.lua closes the mock's stdout pipe and
  -- returns): run the pending close callbacks now.
  local uv = package.loaded.luv
  if uv then uv.run("nowait") end
  os.exit(code, true)
end
