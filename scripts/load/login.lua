-- Password logins, spread over several accounts (each has its own failure budget, which a
-- successful login never spends). Arguments: provider slug, number of accounts, password;
-- the accounts are load-1@example.com … load-N@example.com (scripts/load/seed.py).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local provider, accounts, password
local n = 0

function init(args)
  provider, accounts, password = args[1], tonumber(args[2]), args[3]
  n = math.random(accounts)
end

function request()
  n = n % accounts + 1
  local body = string.format('{"provider":"%s","login":"load-%d@example.com","password":"%s"}',
    provider, n, password)
  return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end
