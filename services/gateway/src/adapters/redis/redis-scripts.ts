/*
 * Lua scripts. Each runs atomically on the Redis that owns the keys' slot, which is what makes
 * "append + publish" one step (offset order = publish order) and presence counts race-free.
 */

/** Ensures the room has an epoch; a missing meta hash means its history is gone. */
const ENSURE_EPOCH = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
  redis.call('DEL', KEYS[2])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
`;

/**
 * KEYS: meta, log, cid, channel (same slot). ARGV: newEpoch, roomTtl, framePrefix, historySize, cidTtl, publishCmd.
 * Returns {epoch, offset, duplicate(0/1), frame}.
 */
export const APPEND = `${ENSURE_EPOCH}
local seen = redis.call('GET', KEYS[3])
if seen then
  local sep = string.find(seen, ':', 1, true)
  if sep and string.sub(seen, 1, sep - 1) == epoch then
    return {epoch, tonumber(string.sub(seen, sep + 1)), 1}
  end
end
local offset = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local frame = ARGV[3] .. ',"epoch":"' .. epoch .. '","offset":' .. offset .. '}'
redis.call('RPUSH', KEYS[2], frame)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('SET', KEYS[3], epoch .. ':' .. offset, 'EX', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call(ARGV[6], KEYS[4], frame)
return {epoch, offset, 0, frame}
`;

/**
 * KEYS: meta, log. ARGV: newEpoch, roomTtl, from, to (0 = up to the head).
 * Returns {epoch, seq, oldest, frames} with frames for from..to still held.
 */
export const RANGE = `${ENSURE_EPOCH}
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local len = redis.call('LLEN', KEYS[2])
local oldest = seq - len + 1
local from = math.max(tonumber(ARGV[3]), oldest)
local to = tonumber(ARGV[4])
if to == 0 or to > seq then to = seq end
if from > to then return {epoch, seq, oldest, {}} end
return {epoch, seq, oldest, redis.call('LRANGE', KEYS[2], from - oldest, to - oldest)}
`;

/**
 * KEYS: meta, log. ARGV: newEpoch, roomTtl, before (0 = newest), limit.
 * Returns {epoch, seq, oldest, frames, more(0/1)}.
 */
export const HISTORY = `${ENSURE_EPOCH}
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local len = redis.call('LLEN', KEYS[2])
local oldest = seq - len + 1
local to = seq
local before = tonumber(ARGV[3])
if before > 0 and before - 1 < to then to = before - 1 end
local from = math.max(oldest, to - tonumber(ARGV[4]) + 1)
if from > to then return {epoch, seq, oldest, {}, 0} end
local more = 0
if from > oldest then more = 1 end
return {epoch, seq, oldest, redis.call('LRANGE', KEYS[2], from - oldest, to - oldest), more}
`;

/** KEYS: users hash, node set. ARGV: user. Returns 1 when the user was on no node before. */
export const PRESENCE_ADD = `
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], 1) == 1 then return 1 end
return 0
`;

/** KEYS: users hash, node set. ARGV: user. Returns 1 when no node holds the user any more. */
export const PRESENCE_REMOVE = `
if redis.call('SREM', KEYS[2], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

/** KEYS: users hash, dead node's set. Returns the users no node holds any more. */
export const PRESENCE_REAP = `
local users = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
local gone = {}
for _, user in ipairs(users) do
  if redis.call('HINCRBY', KEYS[1], user, -1) <= 0 then
    redis.call('HDEL', KEYS[1], user)
    table.insert(gone, user)
  end
end
return gone
`;

/**
 * KEYS: beats zset, info hash. ARGV: node, infoJson, ttlMs.
 * Uses the server clock so nodes with skewed clocks agree. Returns {wasMissing(0/1), deadNodes}.
 */
export const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return {added, redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))}
`;

/** KEYS: beats zset. ARGV: ttlMs. Returns {node, score} pairs of live nodes. */
export const LIVE_NODES = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf', 'WITHSCORES')
`;
