-- A room's stream: a `meta` hash (epoch, seq) and a capped list `log` of frames, newest at the
-- tail. A missing meta hash means the room's history is gone (expired or wiped), so the room
-- starts a new epoch and whatever is left of its log is dropped.

-- Returns the room's epoch, creating it (as new_epoch) when the room has none.
local function ensure_epoch(meta_key, log_key, new_epoch, room_ttl)
  local epoch = redis.call('HGET', meta_key, 'epoch')
  if epoch then return epoch end
  redis.call('HSET', meta_key, 'epoch', new_epoch, 'seq', 0)
  redis.call('DEL', log_key)
  redis.call('EXPIRE', meta_key, room_ttl)
  return new_epoch
end

-- The offset a (user, cid) was stored at in this epoch, or nil: a retry is answered with it.
local function stored_offset(cid_key, epoch)
  local seen = redis.call('GET', cid_key)
  if not seen then return nil end
  local sep = string.find(seen, ':', 1, true)
  if sep and string.sub(seen, 1, sep - 1) == epoch then return tonumber(string.sub(seen, sep + 1)) end
  return nil
end

-- The latest offset and the oldest one the log still holds (oldest = seq + 1 when it is empty).
local function bounds(meta_key, log_key)
  local seq = tonumber(redis.call('HGET', meta_key, 'seq'))
  return seq, seq - redis.call('LLEN', log_key) + 1
end

-- Appends the frame with the next offset, records the cid (when keys.cid is given), records the `message.created` event in
-- the room's outbox (keys.outbox, when outbox_max > 0; needs lib/outbox.lua), and publishes the
-- frame: one step, so offset order is publish order and no stored message lacks its event.
-- `frame_head` is the frame up to its epoch (encodeMsgHead); the tail is written here the way
-- encodeMsgTail writes it (epochs need no JSON escaping).
local function append_and_publish(keys, epoch, frame_head, room_ttl, history_size, cid_ttl, publish_cmd, outbox_max)
  local offset = redis.call('HINCRBY', keys.meta, 'seq', 1)
  local frame = frame_head .. ',"epoch":"' .. epoch .. '","offset":' .. offset .. '}'
  redis.call('RPUSH', keys.log, frame)
  redis.call('LTRIM', keys.log, -tonumber(history_size), -1)
  if keys.cid then redis.call('SET', keys.cid, epoch .. ':' .. offset, 'EX', cid_ttl) end
  redis.call('EXPIRE', keys.meta, room_ttl)
  redis.call('EXPIRE', keys.log, room_ttl)
  record_event(keys.outbox, outbox_max, room_ttl, 'message.created', frame)
  redis.call(publish_cmd, keys.channel, frame)
  return offset, frame
end
