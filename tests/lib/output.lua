-- tests/lib/output.lua: busted's output for this project (the default of tests/run.lua): a
-- "# file" line a spec file, then one line a test: "ok   <full name> (N ms)", "SKIP <name>",
-- or "FAIL <name>" and the message indented. An error outside a test (a describe body, a
-- hook) is a FAIL line naming where. tests/lib/runner.lua prints the closing
-- "N passed, N failed" line.
return function(options)
  local busted = require("busted")
  local handler = require("busted.outputHandlers.base")()
  local print = require("lib.runner").print
  local t0 = {}

  local function indent(s) return (tostring(s):gsub("\n", "\n     ")) end
  local function failed(name, message, trace)
    local msg = tostring(message)
    if trace and trace.traceback and options.verbose then msg = msg .. "\n" .. trace.traceback end
    print("FAIL " .. name .. "\n     " .. indent(msg))
  end

  handler.fileStart = function(file)
    local root = TEST_ROOT and TEST_ROOT .. "/" or ""
    local name = file.name
    if name:sub(1, #root) == root then name = name:sub(#root + 1) end
    print("# " .. name:gsub("^%./", ""))
    return nil, true
  end
  handler.testStart = function(element)
    t0[element] = os.clock()
    return nil, true
  end
  handler.testEnd = function(element, parent, status)
    local name = handler.getFullName(element)
    if status == "success" then
      print(("ok   %s (%.0f ms cpu)"):format(name, (os.clock() - (t0[element] or os.clock())) * 1000))
    elseif status == "pending" then
      print("SKIP " .. name)
    end
    t0[element] = nil
    return nil, true
  end
  handler.error = function(element, parent, message, trace)
    local name
    if element.descriptor == "it" then
      name = handler.getFullName(element)
    elseif element.descriptor == "file" then
      name = tostring(element.name) .. " (file body)"
    elseif element.descriptor == "describe" then
      name = handler.getFullName(element) .. " (describe body)"
    elseif parent and parent.descriptor ~= "file" and parent.name then
      name = handler.getFullName(parent) .. " (" .. tostring(element.descriptor):gsub("^strict_", "") .. ")"
    else
      name = "(" .. tostring(element.descriptor or "?"):gsub("^strict_", "file ") .. ")"
    end
    failed(name, message, trace)
    return nil, true
  end
  handler.pendingMsg = function(element, parent, message)
    if message and message ~= "" then print("     " .. indent(message)) end
    return nil, true
  end

  busted.subscribe({ "file", "start" }, handler.fileStart)
  busted.subscribe({ "test", "start" }, handler.testStart, { predicate = handler.cancelOnPending })
  busted.subscribe({ "test", "end" }, handler.testEnd, { predicate = handler.cancelOnPending })
  busted.subscribe({ "error" }, handler.error)
  busted.subscribe({ "failure" }, handler.error)
  return handler
end
