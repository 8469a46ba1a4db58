-- Takes a user out of a room on one node. Returns 1 when no node holds the user any more.
-- Records `member.left` (`user.offline` for the online pseudo-room) then, for the last member,
-- `room.vacated` in the room's outbox, in the same step (see presence-add.lua).
local users_key, node_key, outbox_key = KEYS[1], KEYS[2], KEYS[3]
local user, room, outbox_max, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
--#include lib/outbox.lua

if redis.call('SREM', node_key, user) == 0 then return 0 end
if redis.call('HINCRBY', users_key, user, -1) > 0 then return 0 end
redis.call('HDEL', users_key, user)
if room == '@online' then
  record_event(outbox_key, outbox_max, ttl, 'user.offline', presence_data(room, user))
else
  record_event(outbox_key, outbox_max, ttl, 'member.left', presence_data(room, user))
  if redis.call('HLEN', users_key) == 0 then record_event(outbox_key, outbox_max, ttl, 'room.vacated', '{"room":"' .. room .. '"}') end
end
return 1
