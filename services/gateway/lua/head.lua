-- A room's epoch (created if it has none) and latest offset. Returns {epoch, seq}.
local meta_key, log_key = KEYS[1], KEYS[2]
local new_epoch, room_ttl = ARGV[1], ARGV[2]
--#include lib/room-log.lua

local epoch = ensure_epoch(meta_key, log_key, new_epoch, room_ttl)
return {epoch, tonumber(redis.call('HGET', meta_key, 'seq'))}
