-- tests/run.lua: runs spec files with busted (Debian's lua-busted), under plain Lua 5.4 or
-- inside Neovim (0.7.2, 0.10, 0.12), one process a suite. The same as busted's own
-- busted.runner, with three differences (tests/lib/runner.lua): it() runs every finally()
-- of a test and has a deadline (a hung test fails with its name), a describe whose body
-- raises still runs its teardowns, and the process ends through the host (Neovim: :qa!/:cq!).
--   lua5.4 tests/run.lua [busted options] [files or dirs…]     e.g. --run=lua54, --filter=PATTERN
--   nvim --headless -u NONE -i NONE -c 'luafile tests/run.lua'   (arguments in CODEX_TEST_ARGS)
--   nvim -l tests/run.lua [busted options] [files…]               (Neovim 0.9+)
-- The tasks (which files each host runs) are in .busted. The default output is
-- tests/lib/output.lua (lines "ok …"/"FAIL …"/"SKIP …", then "N passed, N failed"); -o TAP or
-- -o junit give busted's own; CODEX_TEST_JUNIT=file writes a JUnit report besides.
local in_nvim = type(vim) == "table" and vim.api ~= nil
local src = debug.getinfo(1, "S").source:gsub("^@", "")
local root = src:match("^(.*)/tests/run%.lua$") or "."
if root:sub(1, 1) ~= "/" then
  local pwd = os.getenv("PWD") or "."
  root = root == "." and pwd or pwd .. "/" .. root
end
package.path = root .. "/tests/?.lua;" .. root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
if in_nvim then
  -- busted and its dependencies: Debian's trees for Lua 5.1 (LuaJIT).
  -- Only busted's own C modules (lua-system, lua-term, lua-filesystem) from the C tree: the
  -- plugin must not find Debian's luv or cjson there (a second libuv loop that Neovim never runs).
  package.path = package.path .. ";/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
  local ctree = "/usr/lib/" .. (io.popen("dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null"):read("*l") or "x86_64-linux-gnu") .. "/lua/5.1/"
  local loaders = package.loaders or package.searchers
  table.insert(loaders, function(name)
    local top = name:match("^[^.]+")
    if top ~= "system" and top ~= "term" and top ~= "lfs" then return nil end
    local file = ctree .. name:gsub("%.", "/") .. ".so"
    local f = io.open(file, "rb")
    if not f then return "\n\tno file '" .. file .. "'" end
    f:close()
    return assert(package.loadlib(file, "luaopen_" .. name:gsub("%.", "_")))
  end)
  vim.opt.rtp:prepend(root)
  vim.cmd("runtime! plugin/codex.lua") -- as a user's Neovim would (tests run with -u NONE)
else
  package.cpath = (os.getenv("CODEX_CPATH") or (root .. "/build/lua5.4/?.so")) .. ";" .. package.cpath
end
TEST_ROOT = root
os.execute("mkdir -p '" .. root:gsub("'", "'\\''") .. "/.testenv'") -- scratch space of the specs

-- The arguments: the command line's, or (Neovim with -c luafile, which has none) CODEX_TEST_ARGS.
local args = {}
if in_nvim and not (arg and #arg > 0) then
  for a in (os.getenv("CODEX_TEST_ARGS") or ""):gmatch("%S+") do args[#args + 1] = a end
else
  for i = 1, #(arg or {}) do args[i] = arg[i] end
end
local R = require("lib.runner")
local code = R.main(args, { root = root, host = in_nvim and "nvim" or "lua" })

collectgarbage()
collectgarbage()
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
