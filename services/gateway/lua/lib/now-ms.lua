-- The Redis server's clock in whole milliseconds. Every script that needs "now" uses this one
-- clock, so gateways with skewed clocks agree (heartbeats, token buckets).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
