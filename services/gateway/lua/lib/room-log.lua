-- A room's stream: a `meta` hash (epoch, seq, rid) and a capped list `log` of frames, newest at
-- the tail. A missing meta hash means the room's history is gone (expired or wiped), so the room
-- starts a new epoch and whatever is left of its log is dropped.
--
-- Fencing (docs/RELIABILITY.md, "Failover"): `rid` is the replication id of the primary that
-- last wrote the room. Replication is asynchronous, so a replica promoted to primary may lack the
-- old primary's last writes, which clients may already have seen (published at append time):
-- continuing the epoch would give the next message an offset they hold with other content, and
-- the SDK would drop it as a duplicate. A promoted server cannot tell which rooms lost writes, so
-- a room last written under another replication id, on a server that was promoted since
-- (master_replid2 set), starts a new epoch: members get `loss` instead of silent divergence.
-- The old epoch is kept in `pepoch`, so a retried send stored before the failover (its cid key
-- survived with it, in the same transaction) is answered with its first position, not stored
-- twice. A server that restarted from its own files (no master_replid2) keeps its rooms' epochs.

local NEVER_PROMOTED = string.rep('0', 40)

-- This server's replication id and the one it followed before its promotion (zeros if none).
-- INFO is allowed in scripts and costs a few microseconds; reading it here, inside the script
-- that appends, leaves no window between the check and the write.
local function replication_ids()
  local info = redis.call('INFO', 'replication')
  return string.match(info, 'master_replid:(%x+)'), string.match(info, 'master_replid2:(%x+)')
end

local function start_epoch(meta_key, log_key, new_epoch, room_ttl, replid)
  redis.call('HSET', meta_key, 'epoch', new_epoch, 'seq', 0, 'rid', replid)
  redis.call('DEL', log_key)
  redis.call('EXPIRE', meta_key, room_ttl)
  return new_epoch
end

-- Returns the room's epoch, creating it (as new_epoch) when the room has none, or when the
-- room's counter may have gone back in a failover (see above).
local function ensure_epoch(meta_key, log_key, new_epoch, room_ttl)
  local meta = redis.call('HMGET', meta_key, 'epoch', 'rid')
  local epoch, written_by = meta[1], meta[2]
  local replid, promoted_from = replication_ids()
  if not epoch then return start_epoch(meta_key, log_key, new_epoch, room_ttl, replid) end
  if written_by == replid then return epoch end
  if written_by and promoted_from ~= NEVER_PROMOTED then
    redis.call('HSET', meta_key, 'pepoch', epoch)
    return start_epoch(meta_key, log_key, new_epoch, room_ttl, replid)
  end
  -- Written before fencing existed, or this server restarted (its replication id is new).
  redis.call('HSET', meta_key, 'rid', replid)
  return epoch
end

-- The position a (user, cid) was stored at, in this epoch or the one a failover fenced off, or
-- nil: a retry is answered with it. Returns epoch, offset.
local function stored_offset(cid_key, meta_key, epoch)
  local seen = redis.call('GET', cid_key)
  if not seen then return nil end
  local sep = string.find(seen, ':', 1, true)
  if not sep then return nil end
  local seen_epoch = string.sub(seen, 1, sep - 1)
  if seen_epoch == epoch or seen_epoch == redis.call('HGET', meta_key, 'pepoch') then
    return seen_epoch, tonumber(string.sub(seen, sep + 1))
  end
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
