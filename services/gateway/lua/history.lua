-- Up to `limit` frames with offsets below `before` (before = 0: the newest).
-- Returns {epoch, seq, oldest, frames, more (0/1)}.
local meta_key, log_key = KEYS[1], KEYS[2]
local new_epoch, room_ttl, before, limit = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
--#include lib/room-log.lua

local epoch = ensure_epoch(meta_key, log_key, new_epoch, room_ttl)
local seq, oldest = bounds(meta_key, log_key)
local to = seq
if before > 0 and before - 1 < to then to = before - 1 end
local from = math.max(oldest, to - limit + 1)
if from > to then return {epoch, seq, oldest, {}, 0} end
local more = 0
if from > oldest then more = 1 end
return {epoch, seq, oldest, redis.call('LRANGE', log_key, from - oldest, to - oldest), more}
