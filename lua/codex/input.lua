---@mod codex.input  Builders for turn input items (protocol.md §4.3).
local M = {}

---@alias codex.InputItem {type: string, text?: string, url?: string, path?: string, name?: string, detail?: string}
---@alias codex.Input string|codex.InputItem|(string|codex.InputItem)[]

---@param text string
---@return codex.InputItem
function M.text(text) return { type = "text", text = text } end

---@param url string an http(s) or data: URL
---@return codex.InputItem
function M.image(url) return { type = "image", url = url } end

---@param path string
---@param detail string|nil "auto"|"low"|"high"
---@return codex.InputItem
function M.local_image(path, detail) return { type = "localImage", path = path, detail = detail } end

---@param name string
---@param path string e.g. "app://…" or "plugin://name@marketplace"
---@return codex.InputItem
function M.mention(name, path) return { type = "mention", name = name, path = path } end

---@param name string
---@param path string
---@return codex.InputItem
function M.skill(name, path) return { type = "skill", name = name, path = path } end

--- Normalizes an input: a string becomes one text item, a single item a one-item list, and
--- strings inside a list become text items. Returns nil + message when it is not an input.
---@param input codex.Input
---@return codex.InputItem[]|nil, string|nil
function M.normalize(input)
  if type(input) == "string" then return { M.text(input) } end
  if type(input) ~= "table" then return nil, "input must be a string, an item or a list of items" end
  if input.type then return { input } end
  local out = {}
  for i, v in ipairs(input) do
    if type(v) == "string" then
      out[i] = M.text(v)
    elseif type(v) == "table" and type(v.type) == "string" then
      out[i] = v
    else
      return nil, ("input item %d is not a string or an item with a type"):format(i)
    end
  end
  if #out == 0 then return nil, "input is empty" end
  return out
end

return M
