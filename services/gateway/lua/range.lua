-- Frames with offsets first..last that the log still holds (last = 0: up to the head).
-- Returns {epoch, seq, oldest, frames}.
local meta_key, log_key = KEYS[1], KEYS[2]
local new_epoch, room_ttl, first, last = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
--#include lib/room-log.lua

local epoch = ensure_epoch(meta_key, log_key, new_epoch, room_ttl)
local seq, oldest = bounds(meta_key, log_key)
local from = math.max(first, oldest)
local to = last
if to == 0 or to > seq then to = seq end
if from > to then return {epoch, seq, oldest, {}} end
return {epoch, seq, oldest, redis.call('LRANGE', log_key, from - oldest, to - oldest)}
