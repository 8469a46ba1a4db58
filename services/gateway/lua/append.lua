-- Stores a message in its room and publishes it, once per (user, cid).
-- Returns {epoch, offset, duplicate (0/1), frame}; a duplicate has no frame.
local meta_key, log_key, cid_key, channel, outbox_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local new_epoch, room_ttl, frame_head = ARGV[1], ARGV[2], ARGV[3]
local history_size, cid_ttl, publish_cmd, outbox_max = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
--#include lib/outbox.lua
--#include lib/room-log.lua

local epoch = ensure_epoch(meta_key, log_key, new_epoch, room_ttl)
local seen_epoch, seen = stored_offset(cid_key, meta_key, epoch)
if seen then return {seen_epoch, seen, 1} end
local keys = {meta = meta_key, log = log_key, cid = cid_key, channel = channel, outbox = outbox_key}
local offset, frame = append_and_publish(keys, epoch, frame_head, room_ttl, history_size, cid_ttl, publish_cmd, outbox_max)
return {epoch, offset, 0, frame}
