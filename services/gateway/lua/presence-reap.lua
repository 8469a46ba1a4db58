-- Takes up to `batch` of a dead node's users out of a room (SPOP: no call reads a whole set, however
-- many users the node held there). Returns {users no node holds any more, more (0/1)}, and records
-- their `member.left` / `user.offline` (and `room.vacated`) events as presence-remove.lua does.
local users_key, dead_node_key, outbox_key = KEYS[1], KEYS[2], KEYS[3]
local room, outbox_max, ttl, batch = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
--#include lib/outbox.lua

local users = redis.call('SPOP', dead_node_key, batch)
local gone = {}
for _, user in ipairs(users) do
  if redis.call('HINCRBY', users_key, user, -1) <= 0 then
    redis.call('HDEL', users_key, user)
    table.insert(gone, user)
    local kind = 'member.left'
    if room == '@online' then kind = 'user.offline' end
    record_event(outbox_key, outbox_max, ttl, kind, presence_data(room, user))
  end
end
if #gone > 0 and room ~= '@online' and redis.call('HLEN', users_key) == 0 then
  record_event(outbox_key, outbox_max, ttl, 'room.vacated', '{"room":"' .. room .. '"}')
end
local more = 0
if redis.call('EXISTS', dead_node_key) == 1 then more = 1 end
return {gone, more}
