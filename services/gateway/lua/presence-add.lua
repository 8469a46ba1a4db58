-- Puts a user in a room on one node. Returns 1 when the user was on no node before.
-- The cluster-wide changes are recorded in the room's outbox (lib/outbox.lua) in the same step,
-- so each is one event for the whole cluster: `member.joined` (`user.online` for the online
-- pseudo-room) when the user was on no node, preceded by `room.occupied` when nobody was.
local users_key, node_key, outbox_key = KEYS[1], KEYS[2], KEYS[3]
local user, room, outbox_max, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
--#include lib/outbox.lua

if redis.call('SADD', node_key, user) == 0 then return 0 end
if redis.call('HINCRBY', users_key, user, 1) ~= 1 then return 0 end
if room == '@online' then
  record_event(outbox_key, outbox_max, ttl, 'user.online', presence_data(room, user))
else
  if redis.call('HLEN', users_key) == 1 then record_event(outbox_key, outbox_max, ttl, 'room.occupied', '{"room":"' .. room .. '"}') end
  record_event(outbox_key, outbox_max, ttl, 'member.joined', presence_data(room, user))
end
return 1
