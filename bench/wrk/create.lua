-- POST a new project; each write commits with its stage history and audit row.
local token = os.getenv("TOKEN")
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"name":"基准写入项目 %d","industry":"electronic_information","attraction_mode":"targeted","planned_investment_usd":1000000,"tags":["芯片"]}', counter)
  return wrk.format("POST", "/api/v1/projects", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
