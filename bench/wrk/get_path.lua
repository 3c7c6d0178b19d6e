-- GET one fixed path (PATH_Q, already percent-encoded) with the token.
local token = os.getenv("TOKEN")
local path = os.getenv("PATH_Q")
request = function()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
