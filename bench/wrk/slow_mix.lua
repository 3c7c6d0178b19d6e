-- The slow side of the mixed scenario: PATHS (already percent-encoded,
-- separated by spaces) in turn, from a random first one, with the token.
local token = os.getenv("TOKEN")
local paths = {}
for path in string.gmatch(os.getenv("PATHS"), "%S+") do
  paths[#paths + 1] = path
end
math.randomseed(os.time())
local next_path = math.random(0, #paths - 1)
request = function()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path], { ["Authorization"] = "Bearer " .. token })
end
