-- Puts a user in a room on one node. Returns 1 when the user was on no node before.
local users_key, node_key = KEYS[1], KEYS[2]
local user = ARGV[1]

if redis.call('SADD', node_key, user) == 0 then return 0 end
if redis.call('HINCRBY', users_key, user, 1) == 1 then return 1 end
return 0
