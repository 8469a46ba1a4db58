-- Takes a room out of its shard's index of rooms that may hold undelivered events, but only if
-- its lease is still the one the dispatcher saw expire: a gateway that renewed it in between
-- (it is about to append) keeps the room in. Returns 1 when removed.
local index_key = KEYS[1]
local room, seen_score = ARGV[1], ARGV[2]

local score = redis.call('ZSCORE', index_key, room)
if score and tonumber(score) == tonumber(seen_score) then
  redis.call('ZREM', index_key, room)
  return 1
end
return 0
