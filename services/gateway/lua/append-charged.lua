-- append.lua after spending a token of a rate bucket, in one script and one round trip: only on
-- one Redis, where any keys may meet in a script (on Redis Cluster the bucket lives in another
-- slot). A duplicate is answered before the bucket is charged: a retry is not a new message.
-- Returns {epoch, offset, duplicate (0/1), frame}, or {epoch, 0, 2} when the bucket is empty.
local meta_key, log_key, cid_key, channel, bucket_key, outbox_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local new_epoch, room_ttl, frame_head = ARGV[1], ARGV[2], ARGV[3]
local history_size, cid_ttl, publish_cmd = ARGV[4], ARGV[5], ARGV[6]
local interval_ms, burst, outbox_max = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
--#include lib/gcra.lua
--#include lib/outbox.lua
--#include lib/room-log.lua

local epoch = ensure_epoch(meta_key, log_key, new_epoch, room_ttl)
local seen_epoch, seen = stored_offset(cid_key, meta_key, epoch)
if seen then return {seen_epoch, seen, 1} end
if not take_token(bucket_key, interval_ms, burst) then return {epoch, 0, 2} end
local keys = {meta = meta_key, log = log_key, cid = cid_key, channel = channel, outbox = outbox_key}
local offset, frame = append_and_publish(keys, epoch, frame_head, room_ttl, history_size, cid_ttl, publish_cmd, outbox_max)
return {epoch, offset, 0, frame}
