-- GET one project by an id drawn at random from IDS (a file, one id a line):
-- ids of rows the caller may see, so every answer should be 200. PREFIX is
-- the path before the id (the Directus peer serves /items/projects/).
local token = os.getenv("TOKEN")
local prefix = os.getenv("PREFIX") or "/api/v1/projects/"
local ids = {}
for line in io.lines(os.getenv("IDS")) do
  ids[#ids + 1] = line
end
math.randomseed(os.time())
request = function()
  local path = prefix .. ids[math.random(1, #ids)]
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
