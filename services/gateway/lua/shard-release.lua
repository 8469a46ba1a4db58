-- Gives a dispatcher shard back (a draining gateway), only if this gateway still holds it.
local owner_key = KEYS[1]
local node = ARGV[1]

if redis.call('GET', owner_key) == node then return redis.call('DEL', owner_key) end
return 0
