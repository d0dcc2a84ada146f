-- GET /api/v1/me with one access token (argument 1).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end

function request()
  return wrk.format("GET", "/api/v1/me")
end
