-- Claims (or renews) a dispatcher shard for a gateway for ttl_ms: set when free, extended when
-- already ours, refused when another live gateway holds it. Returns 1 when the shard is ours.
local owner_key = KEYS[1]
local node, ttl_ms = ARGV[1], ARGV[2]

local owner = redis.call('GET', owner_key)
if owner == node then
  redis.call('PEXPIRE', owner_key, ttl_ms)
  return 1
end
if owner then return 0 end
redis.call('SET', owner_key, node, 'PX', ttl_ms)
return 1
