-- Records that a message at (room_epoch, offset) mentions the user: counted until read, listed
-- even when the user is not a member. Once per message; unread mentions kept at most max_kept.
-- Appends the note to the user's feed. Returns 1 when recorded, 0 for a repeat or a read one.
local convs_key, feed_meta, feed_log, feed_channel = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local room, room_epoch, offset, now, max_kept = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local note_head, new_epoch, ttl, history_size, publish_cmd = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
--#include lib/user-state.lua

local f = feed(feed_meta, feed_log, feed_channel, new_epoch, ttl, history_size, publish_cmd)
local read_epoch, read_offset = split_epoch(redis.call('HGET', convs_key, 'r:' .. room))
if read_epoch == room_epoch and tonumber(read_offset) >= offset then return 0 end
local kept = {}
local mention_epoch, list = split_epoch(redis.call('HGET', convs_key, 'm:' .. room))
if mention_epoch == room_epoch then
  for o in string.gmatch(list, '%d+') do
    if tonumber(o) == offset then return 0 end
    table.insert(kept, o)
  end
end
table.insert(kept, tostring(offset))
while #kept > max_kept do table.remove(kept, 1) end
redis.call('HSET', convs_key, 'm:' .. room, room_epoch .. ':' .. table.concat(kept, ','))
if not conversation(convs_key, room) then set_conversation(convs_key, room, 'room', false, now) end
append_note(f, convs_key, note_head)
return 1
