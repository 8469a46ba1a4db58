-- Makes a user a member of a conversation (add = 1) or not (add = 0). On a change, appends the
-- note to the user's feed. Returns 1 when membership changed, else 0.
local convs_key, feed_meta, feed_log, feed_channel = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local room, kind, add, now = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4]
local note_head, new_epoch, ttl, history_size, publish_cmd = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
--#include lib/user-state.lua

local f = feed(feed_meta, feed_log, feed_channel, new_epoch, ttl, history_size, publish_cmd)
local current = conversation(convs_key, room)
if add then
  if current and current.member then return 0 end
  local since = now
  if current then since = current.since end
  set_conversation(convs_key, room, kind, true, since)
else
  if not current or not current.member then return 0 end
  redis.call('HDEL', convs_key, room, 'r:' .. room, 'm:' .. room)
end
append_note(f, convs_key, note_head)
return 1
