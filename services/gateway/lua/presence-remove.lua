-- Takes a user out of a room on one node. Returns 1 when no node holds the user any more.
local users_key, node_key = KEYS[1], KEYS[2]
local user = ARGV[1]

if redis.call('SREM', node_key, user) == 0 then return 0 end
if redis.call('HINCRBY', users_key, user, -1) <= 0 then
  redis.call('HDEL', users_key, user)
  return 1
end
return 0
