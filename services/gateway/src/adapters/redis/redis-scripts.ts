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
 * GCRA (the generic cell rate algorithm, a token bucket stored as one number): the key holds the
 * bucket's "theoretical arrival time" (TAT), in ms of the Redis server clock. A take is allowed
 * when TAT - now <= interval x (burst - 1), and moves TAT one interval on. One key per bucket,
 * written only on an allowed take and expiring when the bucket is full again, so an idle user or
 * address costs nothing. The server clock (TIME) keeps nodes with skewed clocks in agreement.
 */
const TAKE_TOKEN = `
local function take_token(key, interval, burst)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  if tat - now > interval * (burst - 1) then return false end
  tat = tat + interval
  redis.call('SET', key, string.format('%.3f', tat), 'PX', math.ceil(tat - now))
  return true
end
`;

/** KEYS: bucket. ARGV: interval ms (1000 / rate), burst. Returns 1 (allowed) or 0. */
export const RATE_TAKE = `${TAKE_TOKEN}
if take_token(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])) then return 1 end
return 0
`;

/** A stored (user, cid) of the current epoch answers as a duplicate, before anything else. */
const DUPLICATE_CHECK = `
local seen = redis.call('GET', KEYS[3])
if seen then
  local sep = string.find(seen, ':', 1, true)
  if sep and string.sub(seen, 1, sep - 1) == epoch then
    return {epoch, tonumber(string.sub(seen, sep + 1)), 1}
  end
end
`;

const APPEND_AND_PUBLISH = `
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
 * KEYS: meta, log, cid, channel (same slot). ARGV: newEpoch, roomTtl, framePrefix, historySize, cidTtl, publishCmd.
 * Returns {epoch, offset, duplicate(0/1), frame}.
 */
export const APPEND = `${ENSURE_EPOCH}${DUPLICATE_CHECK}${APPEND_AND_PUBLISH}`;

/**
 * APPEND after spending a token of a rate bucket, in one script and one round trip: only on one
 * Redis, where any keys may meet in a script (on Redis Cluster the bucket lives in another slot).
 * KEYS: meta, log, cid, channel, bucket. ARGV: as APPEND, then interval ms, burst.
 * Returns {epoch, offset, duplicate(0/1), frame}, or {epoch, 0, 2} when the bucket is empty.
 */
export const APPEND_CHARGED = `${TAKE_TOKEN}${ENSURE_EPOCH}${DUPLICATE_CHECK}
if not take_token(KEYS[5], tonumber(ARGV[7]), tonumber(ARGV[8])) then return {epoch, 0, 2} end
${APPEND_AND_PUBLISH}`;

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
