---@mod codex.ui.file_search  The app-server's fuzzy file search, fast while typing.
---
--- One search session per root (fuzzyFileSearch/sessionStart): the server walks the tree
--- once and keeps it, so each later query (sessionUpdate) answers in a few milliseconds on
--- a 100,000-file tree, where a one-shot fuzzyFileSearch walks it again (~300 ms; bench/
--- complete.lua); its answers rank as the one-shot's do (the bench checks the scores). A
--- server without sessions is asked one-shot. Only the newest query of a root is answered;
--- an older one gets nil.
local M = {}

local sessions = {} -- root -> {id, client, root, state = "starting"|"ready"|"failed", want, cb, inflight, files, walked, timer}
local counter = 0

local function one_shot(client, root, query, cb)
  client:request("fuzzyFileSearch", { query = query, roots = { root }, cancellationToken = "codex-nvim-files-" .. root }, nil,
    function(err, res)
      if err or type(res) ~= "table" or type(res.files) ~= "table" then return cb({}) end
      cb(res.files)
    end)
end

local function send(s)
  local q = s.want
  s.inflight, s.files = q, nil
  s.client:request("fuzzyFileSearch/sessionUpdate", { sessionId = s.id, query = q }, nil, function(err)
    if not err then return end
    s.state, s.inflight = "failed", nil
    if s.cb then
      local cb = s.cb
      s.cb = nil
      one_shot(s.client, s.root, s.want, cb)
    end
  end)
end

--- The inflight query's answer is in: to its asker if still wanted, else the next query goes.
local function finish(s, files)
  local q = s.inflight
  s.inflight, s.files = nil, nil
  if s.timer then s.timer:stop() s.timer:close() s.timer = nil end
  if not s.cb then return end
  if s.want == q then
    local cb = s.cb
    s.cb = nil
    -- (an empty answer before the session ever found a file may be a tree not walked yet:
    -- the one-shot search walks it itself)
    if files and (#files > 0 or s.found) then
      s.found = s.found or #files > 0
      cb(files)
    else
      one_shot(s.client, s.root, q, cb)
    end
  else
    send(s)
  end
end

-- Once the tree is walked (the session's first sessionCompleted), a query's one
-- sessionUpdated (its query echoed) is its whole answer; it may come just before or just
-- after that query's sessionCompleted. While walking, the updates grow: the answer is the
-- last one when the walk completes. A query with no update 250 ms after its completion is
-- asked one-shot (never a stale answer).
local function on_updated(p)
  for _, s in pairs(sessions) do
    if p.sessionId == s.id and s.inflight and p.query == s.inflight and type(p.files) == "table" then
      s.files = p.files
      if s.walked then finish(s, p.files) end
    end
  end
end

local function on_completed(p)
  for _, s in pairs(sessions) do
    if p.sessionId == s.id then
      local first = not s.walked
      s.walked = true
      if s.inflight and s.files and not first then
        finish(s, s.files)
      elseif s.inflight and not s.timer then
        -- The walk's own completion may come before the query's last update (on a loaded
        -- machine the updates so far can miss files): wait for that update (on_updated
        -- answers), else take the last one seen, else ask one-shot.
        local q = s.inflight
        s.timer = vim.loop.new_timer()
        s.timer:start(250, 0, vim.schedule_wrap(function()
          if s.timer then s.timer:close() s.timer = nil end
          if s.inflight == q then finish(s, s.files) end
        end))
      end
    end
  end
end

local subscribed = setmetatable({}, { __mode = "k" })
local function subscribe(client)
  if subscribed[client] then return end
  subscribed[client] = true
  client:on("fuzzyFileSearch/sessionUpdated", on_updated)
  client:on("fuzzyFileSearch/sessionCompleted", on_completed)
end

--- The server's matches (FuzzyFileSearchResult[]) for a query under root, ranked by it: cb(files),
--- or cb(nil) for a query a newer one replaced.
---@param client codex.Client
---@param root string
---@param query string
---@param cb fun(files: table[]|nil)
function M.search(client, root, query, cb)
  local s = sessions[root]
  if s and s.client ~= client then s = nil end -- (a new session: the old client is gone)
  if s and s.state == "failed" then return one_shot(client, root, query, cb) end
  if s and s.cb then s.cb(nil) end
  if not s then
    counter = counter + 1
    s = { id = ("codex-nvim-%d-%d"):format(vim.fn.getpid(), counter), client = client, root = root, state = "starting" }
    sessions[root] = s
    subscribe(client)
    client:request("fuzzyFileSearch/sessionStart", { sessionId = s.id, roots = { root } }, nil, function(err)
      if err then
        s.state = "failed"
        if s.cb then
          local pending_cb = s.cb
          s.cb = nil
          one_shot(client, root, s.want, pending_cb)
        end
        return
      end
      s.state = "ready"
      if s.cb then send(s) end
    end)
  end
  s.want, s.cb = query, cb
  if s.state == "ready" and not s.inflight then send(s) end
end

--- Forgets every session (a new client, tests).
function M.reset() sessions = {} end

return M
