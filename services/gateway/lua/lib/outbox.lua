-- The room's outbox: a stream of the events a webhook must hear about, written by the same script
-- that changes the room, in the room's slot (`{room}:ev`), so no stored change can miss its event.
-- Dispatchers read it (webhook-dispatcher.ts); `outbox_max` 0 means no webhook is configured and
-- nothing is recorded. The cap only bounds memory if every receiver stays down for very long.
local function record_event(outbox_key, outbox_max, ttl, event_type, data)
  local max = tonumber(outbox_max)
  if not max or max <= 0 then return end
  redis.call('XADD', outbox_key, 'MAXLEN', '~', max, '*', 't', event_type, 'd', data)
  redis.call('EXPIRE', outbox_key, ttl)
end

-- The data of a presence event: names are plain ASCII (protocol grammar), so no escaping is needed.
local function presence_data(room, user)
  if room == '@online' then return '{"user":"' .. user .. '"}' end
  return '{"room":"' .. room .. '","user":"' .. user .. '"}'
end
