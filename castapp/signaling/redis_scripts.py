"""Lua scripts of the Redis room store: each decision runs atomically inside Redis.

Key layout (every key starts with the store's prefix, ``castapp:`` by default):

``room:<code>``     hash: owner, receiver (peer id or ""), rname, hold (hold-until or "")
``senders:<code>``  hash: sender peer id -> name
``peer:<id>``       hash: role, name, code, inst (the instance the peer is connected to)
``ipeers:<inst>``   set of the peer ids connected to an instance
``alive:<inst>``    present while the instance heartbeats (expires after the instance TTL)
``instances``       set of the instances that registered
``rl:<key>``        hash: start, count (a fixed rate-limit window)
``to:<inst>``       pub/sub channel of an instance: peer id, a NUL byte, then the payload

Rooms with a live receiver have no TTL (the instance heartbeat protects them); a room whose
receiver dropped expires a minute after its hold, and rate-limit windows when they end.
"""

from __future__ import annotations

#: KEYS room, senders; ARGV owner, peer id, name, now, fresh ('1': only a free code).
#: Returns {ok, replaced, id1, name1, ...}.
CLAIM_ROOM = """
local r = redis.call('HMGET', KEYS[1], 'owner', 'receiver', 'hold')
local owner, receiver, hold = r[1], r[2], r[3]
local live = owner and (receiver ~= '' or (hold ~= '' and tonumber(hold) > tonumber(ARGV[4])))
if not live then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'receiver', ARGV[2], 'rname', ARGV[3],
             'hold', '')
  return {1, ''}
end
if owner ~= ARGV[1] or ARGV[5] == '1' then
  return {0, ''}
end
redis.call('HSET', KEYS[1], 'receiver', ARGV[2], 'rname', ARGV[3], 'hold', '')
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', KEYS[2])
local replaced = ''
if receiver ~= '' and receiver ~= ARGV[2] then replaced = receiver end
local out = {1, replaced}
local senders = redis.call('HGETALL', KEYS[2])
for i = 1, #senders do out[#out + 1] = senders[i] end
return out
"""

#: KEYS room, senders; ARGV peer id, hold-until, expire-at (ms). Returns 1 if detached.
DETACH_RECEIVER = """
if redis.call('HGET', KEYS[1], 'receiver') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'receiver', '', 'hold', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('PEXPIREAT', KEYS[2], ARGV[3])
return 1
"""

#: KEYS room, senders; ARGV owner, now. Returns {expired, id1, id2, ...}.
EXPIRE_ROOM = """
local r = redis.call('HMGET', KEYS[1], 'owner', 'receiver', 'hold')
if r[1] ~= ARGV[1] or r[2] ~= '' or r[3] == '' or tonumber(r[3]) > tonumber(ARGV[2]) then
  return {0}
end
local out = {1}
for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do out[#out + 1] = id end
redis.call('DEL', KEYS[1], KEYS[2])
return out
"""

#: KEYS room, senders; ARGV owner. Returns the senders' ids.
DELETE_ROOM = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return {} end
local ids = redis.call('HKEYS', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return ids
"""

#: KEYS room, senders; ARGV peer id, name, limit. Returns 'ok', 'full' or 'gone'.
ADD_SENDER = """
local receiver = redis.call('HGET', KEYS[1], 'receiver')
if not receiver or receiver == '' then return 'gone' end
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[3]) then return 'full' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 'ok'
"""

#: KEYS peer, ipeers; ARGV peer id, role, name, code, instance.
PUT_PEER = """
redis.call('HSET', KEYS[1], 'role', ARGV[2], 'name', ARGV[3], 'code', ARGV[4], 'inst', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[1])
"""

#: KEYS peer, ipeers; ARGV peer id.
DROP_PEER = """
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
"""

#: KEYS window; ARGV limit, window (s), now, count (1 to count, 0 to only look).
#: Returns seconds to wait as a string (0 while within the limit).
RATE = """
local r = redis.call('HMGET', KEYS[1], 'start', 'count')
local now, window, limit = tonumber(ARGV[3]), tonumber(ARGV[2]), tonumber(ARGV[1])
local start, count = tonumber(r[1]), tonumber(r[2])
if not start or now - start >= window then start, count = now, 0 end
if ARGV[4] == '0' then
  if count < limit then return '0' end
  return tostring(start + window - now)
end
count = count + 1
redis.call('HSET', KEYS[1], 'start', tostring(start), 'count', count)
redis.call('PEXPIRE', KEYS[1], math.ceil((start + window - now) * 1000) + 1000)
if count <= limit then return '0' end
return tostring(start + window - now)
"""

#: KEYS windows; ARGV now, then limit, window (s), hard (1/0) per key. Refuses (counting
#: nothing) if a hard window is spent, else counts one in every window. Returns
#: {verdict, wait}: 'ok', 'refused' or 'guarded' (a soft window is now past its limit).
ATTEMPT = """
local now = tonumber(ARGV[1])
local starts, counts = {}, {}
for i = 1, #KEYS do
  local limit, window = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local r = redis.call('HMGET', KEYS[i], 'start', 'count')
  local start, count = tonumber(r[1]), tonumber(r[2])
  if not start or now - start >= window then start, count = now, 0 end
  starts[i], counts[i] = start, count
  if ARGV[3 * i + 1] == '1' and count >= limit then
    return {'refused', tostring(start + window - now)}
  end
end
local verdict, wait = 'ok', '0'
for i = 1, #KEYS do
  local limit, window = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local count = counts[i] + 1
  redis.call('HSET', KEYS[i], 'start', tostring(starts[i]), 'count', count)
  redis.call('PEXPIRE', KEYS[i], math.ceil((starts[i] + window - now) * 1000) + 1000)
  if verdict == 'ok' and ARGV[3 * i + 1] == '0' and count > limit then
    verdict, wait = 'guarded', tostring(starts[i] + window - now)
  end
end
return {verdict, wait}
"""

#: KEYS windows. Takes back one count from each window that still holds one.
REFUND = """
for i = 1, #KEYS do
  local count = tonumber(redis.call('HGET', KEYS[i], 'count'))
  if count and count > 0 then redis.call('HINCRBY', KEYS[i], 'count', -1) end
end
"""

#: KEYS peer; ARGV prefix, peer id, payload. Publishes to the peer's instance; returns the
#: number of instances that took it (0: the peer is nowhere).
FORWARD = """
local inst = redis.call('HGET', KEYS[1], 'inst')
if not inst then return 0 end
return redis.call('PUBLISH', ARGV[1] .. 'to:' .. inst, ARGV[2] .. '\\0' .. ARGV[3])
"""

#: KEYS peer; ARGV prefix, peer id, room code, '1' if the peer must be a receiver, payload.
#: A relay in one round trip: -1 when the peer is not in that room (or not a receiver when it
#: must be), else how many instances got the message (0: the peer's instance is gone).
RELAY = """
local p = redis.call('HMGET', KEYS[1], 'role', 'code', 'inst')
if p[2] ~= ARGV[3] or (ARGV[4] == '1' and p[1] ~= 'receiver') then return -1 end
if not p[3] then return 0 end
return redis.call('PUBLISH', ARGV[1] .. 'to:' .. p[3], ARGV[2] .. '\\0' .. ARGV[5])
"""

#: KEYS instances, alive; ARGV instance id, ttl (ms). Returns 1 if the instance had to be
#: registered again (first start, or Redis lost it: a restart or a takeover).
HEARTBEAT = """
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return added
"""

#: KEYS instances; ARGV prefix, own instance id. Takes over one instance that stopped
#: heartbeating: removes it and its peers, returns {instance, id1, role1, name1, code1, ...}.
REAP = """
local prefix = ARGV[1]
for _, inst in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if inst ~= ARGV[2] and redis.call('EXISTS', prefix .. 'alive:' .. inst) == 0 then
    redis.call('SREM', KEYS[1], inst)
    local out = {inst}
    local set = prefix .. 'ipeers:' .. inst
    for _, id in ipairs(redis.call('SMEMBERS', set)) do
      local key = prefix .. 'peer:' .. id
      local p = redis.call('HMGET', key, 'role', 'name', 'code', 'inst')
      if p[1] and p[4] == inst then
        out[#out + 1] = id
        out[#out + 1] = p[1]
        out[#out + 1] = p[2]
        out[#out + 1] = p[3]
        redis.call('DEL', key)
      end
    end
    redis.call('DEL', set)
    return out
  end
end
return {}
"""
