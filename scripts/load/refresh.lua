-- Refresh-token rotation, one chain per connection: each answer's new refresh token goes
-- back into the thread's pool, and each request takes one from it. A connection has one
-- request in flight, so a thread with as many tokens as connections never runs dry unless
-- a rotation fails (then it sends an empty token, counted as an error).
-- Arguments: a file with one refresh token per line, the number of wrk threads (`id`, this
-- thread's number, is set by report.lua).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local tokens = {}

function init(args)
  local threads, i = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if i % threads == id then
      table.insert(tokens, line)
    end
    i = i + 1
  end
end

local function refresh(token)
  return wrk.format("POST", "/api/v1/auth/refresh", { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

-- Before the run, wrk builds one request on the first thread's state only to check that it
-- parses (script_verify_request in wrk.c); it is never sent. That call must not take a
-- token: it did, so the first thread was one token short for good and one of its
-- connections sent an empty token (401) on every round, 1-3 % of the refreshes.
local checked = false

function request()
  if not checked then
    checked = true
    if id == 0 then
      return refresh("")
    end
  end
  return refresh(table.remove(tokens) or "")
end

function on_response(status, body)
  if status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      table.insert(tokens, token)
    end
  end
end
