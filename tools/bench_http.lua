-- wrk script of `tools/bench http`: every request posts a FAQ question (the bot answers each one,
-- durably) to one of many conversations created beforehand, with a client_msg_id of its own as the
-- widget and WeCom always send. The file of conversations comes after wrk's `--`: one
-- "conversation_id customer_token" per line.
local conversations = {}
local questions = {
  "How do I place an order?",
  "How long does delivery take?",
  "What payment methods do you accept?",
  "how do I return an item",
  "where is my order",
  "do you ship abroad",
  "how do I reset my password",
  "can I change my delivery address",
}
local n = 0
local prefix = ""

function init(args)
  for line in io.lines(args[1]) do
    local id, token = line:match("^(%S+)%s+(%S+)$")
    if id then conversations[#conversations + 1] = {id = id, token = token} end
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 1000)
  n = math.random(#conversations)  -- each thread starts at another conversation
  prefix = string.format("wrk-%d-%d-", os.time(), math.random(1000000000))  -- unique per thread and run
end

function request()
  n = n + 1
  local c = conversations[(n % #conversations) + 1]
  local q = questions[(n % #questions) + 1]
  return wrk.format("POST", "/v1/conversations/" .. c.id .. "/messages",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. c.token},
    '{"text":"' .. q .. '","client_msg_id":"' .. prefix .. n .. '"}')
end
