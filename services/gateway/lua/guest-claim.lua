-- Claims a guest name for a holder key, or keeps the holder's claim alive. Returns 1 (held by
-- this key now) or 0 (a live claim of another key holds it).
local claim_key = KEYS[1]
local holder, ttl_ms = ARGV[1], ARGV[2]

local current = redis.call('GET', claim_key)
if current and current ~= holder then return 0 end
redis.call('SET', claim_key, holder, 'PX', ttl_ms)
return 1
