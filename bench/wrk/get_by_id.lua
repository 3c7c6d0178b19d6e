-- GET one project by a random id (ids are counter-made: see src/loadgen.rs).
local rows = tonumber(os.getenv("ROWS"))
local token = os.getenv("TOKEN")
math.randomseed(os.time())
request = function()
  local n = math.random(0, rows - 1)
  local path = string.format("/api/v1/projects/00000000-0000-7000-8000-%012d", n)
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
