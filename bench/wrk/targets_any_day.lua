-- GET /targets on a random day from 2019-01-01 on (PATH_Q, the path up to
-- `as_of=`), so no two requests need ask about the same date.
local token = os.getenv("TOKEN")
local path = os.getenv("PATH_Q")
math.randomseed(os.time())
request = function()
  local day = os.time({year = 2019, month = 1, day = 1, hour = 12}) + math.random(0, 2880) * 86400
  return wrk.format("GET", path .. os.date("!%Y-%m-%d", day), { ["Authorization"] = "Bearer " .. token })
end
