-- GET one project by an id drawn at random from IDS (a file, one id a line):
-- ids of rows the caller may see, so every answer should be 200.
local token = os.getenv("TOKEN")
local ids = {}
for line in io.lines(os.getenv("IDS")) do
  ids[#ids + 1] = line
end
math.randomseed(os.time())
request = function()
  local path = "/api/v1/projects/" .. ids[math.random(1, #ids)]
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
