-- A user's conversations, in one hash beside the user's feed (same hash tag, same slot):
--   <room>    "<kind>|<member 1/0>|<since ms>"   kind: room or dm; member 0: listed for mentions
--   r:<room>  "<epoch>:<offset>"                 the user's read position
--   m:<room>  "<epoch>:<o1>,<o2>,..."            offsets of unread mentions (newest last, bounded)
-- Every change a user must hear about is appended to their feed (room-log.lua) as a note.
--#include lib/outbox.lua
--#include lib/room-log.lua

local function conversation(convs_key, room)
  local value = redis.call('HGET', convs_key, room)
  if not value then return nil end
  local kind, member, since = string.match(value, '^([^|]*)|([01])|(%d+)$')
  return {kind = kind, member = member == '1', since = since}
end

local function set_conversation(convs_key, room, kind, member, since)
  local flag = '0'
  if member then flag = '1' end
  redis.call('HSET', convs_key, room, kind .. '|' .. flag .. '|' .. since)
end

-- "<epoch>:<rest>" -> epoch, rest (nil, nil when absent)
local function split_epoch(value)
  if not value then return nil, nil end
  local sep = string.find(value, ':', 1, true)
  if not sep then return nil, nil end
  return string.sub(value, 1, sep - 1), string.sub(value, sep + 1)
end

-- The feed's keys and settings, as every user script receives them.
local function feed(meta_key, log_key, channel, new_epoch, ttl, history_size, publish_cmd)
  return {keys = {meta = meta_key, log = log_key, channel = channel}, new_epoch = new_epoch,
          ttl = ttl, history_size = history_size, publish_cmd = publish_cmd}
end

-- Appends a note (its head: the frame up to its cid) to the feed; returns the note's offset.
local function append_note(f, convs_key, note_head)
  local epoch = ensure_epoch(f.keys.meta, f.keys.log, f.new_epoch, f.ttl)
  redis.call('EXPIRE', convs_key, f.ttl)
  local offset = append_and_publish(f.keys, epoch, note_head, f.ttl, f.history_size, nil, f.publish_cmd)
  return offset
end
