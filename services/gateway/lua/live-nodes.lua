-- Nodes that beat within ttl_ms. Returns {node, score, node, score, ...}.
local beats_key = KEYS[1]
local ttl_ms = tonumber(ARGV[1])
--#include lib/now-ms.lua

return redis.call('ZRANGEBYSCORE', beats_key, now_ms() - ttl_ms, '+inf', 'WITHSCORES')
