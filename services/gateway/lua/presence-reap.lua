-- Takes a dead node's users out of a room. Returns the users no node holds any more.
local users_key, dead_node_key = KEYS[1], KEYS[2]

local users = redis.call('SMEMBERS', dead_node_key)
redis.call('DEL', dead_node_key)
local gone = {}
for _, user in ipairs(users) do
  if redis.call('HINCRBY', users_key, user, -1) <= 0 then
    redis.call('HDEL', users_key, user)
    table.insert(gone, user)
  end
end
return gone
