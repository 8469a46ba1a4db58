-- Moves the user's read position in a room forward (never back, within the room's epoch) and
-- drops the mentions it covers. On a move, appends the note to the user's feed, which tells the
-- user's other sessions. Returns {stored offset, moved (0/1)}.
local convs_key, feed_meta, feed_log, feed_channel = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local room, room_epoch, offset = ARGV[1], ARGV[2], tonumber(ARGV[3])
local note_head, new_epoch, ttl, history_size, publish_cmd = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
--#include lib/user-state.lua

local f = feed(feed_meta, feed_log, feed_channel, new_epoch, ttl, history_size, publish_cmd)
local read_epoch, read_offset = split_epoch(redis.call('HGET', convs_key, 'r:' .. room))
if read_epoch == room_epoch and tonumber(read_offset) >= offset then return {tonumber(read_offset), 0} end
redis.call('HSET', convs_key, 'r:' .. room, room_epoch .. ':' .. offset)
local mention_epoch, list = split_epoch(redis.call('HGET', convs_key, 'm:' .. room))
if mention_epoch then
  local kept = {}
  if mention_epoch == room_epoch then
    for o in string.gmatch(list, '%d+') do
      if tonumber(o) > offset then table.insert(kept, o) end
    end
  end
  if #kept == 0 then redis.call('HDEL', convs_key, 'm:' .. room)
  else redis.call('HSET', convs_key, 'm:' .. room, room_epoch .. ':' .. table.concat(kept, ',')) end
end
append_note(f, convs_key, note_head)
return {offset, 1}
