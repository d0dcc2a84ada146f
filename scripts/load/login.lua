-- Password logins, one account per connection (each has its own failure budget, which a
-- successful login never spends). Arguments: provider slug, number of accounts, password,
-- number of wrk threads (`id`, this thread's number, is set by report.lua); the accounts
-- are load-1@example.com … load-N@example.com (scripts/load/seed.py).
--
-- Each thread takes its own share of the accounts and sends them in turn, so an account's
-- next login leaves when the one before it, as many requests back, is answered: parallel
-- attempts on one account count against its budget until they are done, and take the
-- slower path of a budget that exists (a read and an update). When every thread went
-- through all the accounts, the two threads' logins met on the same accounts.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local provider, password
local mine = {}
local n = 0

function init(args)
  provider, password = args[1], args[3]
  local accounts, threads = tonumber(args[2]), tonumber(args[4] or 1)
  for k = 1, accounts do
    if (k - 1) % threads == id then
      table.insert(mine, k)
    end
  end
  n = math.random(#mine)
end

function request()
  n = n % #mine + 1
  local body = string.format('{"provider":"%s","login":"load-%d@example.com","password":"%s"}',
    provider, mine[n], password)
  return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end
