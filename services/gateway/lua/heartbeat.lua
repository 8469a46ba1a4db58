-- Records a node's beat (scored by the Redis clock) and its stats.
-- Returns {was_missing (0/1), up to 16 nodes whose last beat is older than ttl_ms}.
local beats_key, info_key = KEYS[1], KEYS[2]
local node, info_json, ttl_ms = ARGV[1], ARGV[2], tonumber(ARGV[3])
--#include lib/now-ms.lua

local now = now_ms()
local added = redis.call('ZADD', beats_key, now, node)
redis.call('HSET', info_key, node, info_json)
return {added, redis.call('ZRANGEBYSCORE', beats_key, '-inf', now - ttl_ms, 'LIMIT', 0, 16)}
