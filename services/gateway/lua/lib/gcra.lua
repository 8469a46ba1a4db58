-- GCRA (the generic cell rate algorithm, a token bucket stored as one number): the key holds the
-- bucket's "theoretical arrival time" (TAT), in ms of the Redis server clock. A take is allowed
-- when TAT - now <= interval x (burst - 1), and moves TAT one interval on. One key per bucket,
-- written only on an allowed take and expiring when the bucket is full again, so an idle user or
-- address costs nothing.
--#include lib/now-ms.lua
local function take_token(bucket_key, interval_ms, burst)
  local now = now_ms()
  local tat = tonumber(redis.call('GET', bucket_key) or '0')
  if tat < now then tat = now end
  if tat - now > interval_ms * (burst - 1) then return false end
  tat = tat + interval_ms
  redis.call('SET', bucket_key, string.format('%.3f', tat), 'PX', math.ceil(tat - now))
  return true
end
