-- skip.lua: step a conversation's watermark over seqs the gateway cannot
-- deliver, and say so in the events stream (design §5, "gap").
-- Embedded in server/rsink_lua.c (keep both identical).
--
-- KEYS[1] kkim:{T}:hw   KEYS[2] kkim:{T}:events (absent with partitions:
-- kkim:{T:p}:hw and the events stream are in different Cluster slots, so
-- the relay writes the gap event itself first, and takes it back with
-- XDEL when this script does not advance)
-- ARGV[1] conversationID, ARGV[2] from, ARGV[3] to, ARGV[4] reason
-- ('missing' or 'placeholder'), ARGV[5] events MAXLEN ('' = no trim)
-- Advances hw to `to` only if hw == from-1 (or the conversation has no hw
-- yet); anything else is left alone: another writer moved on.
-- Reply: {1 if advanced else 0, hw}.
local conv = ARGV[1]
local from = tonumber(ARGV[2])
local to = tonumber(ARGV[3])
if not from or not to or from < 1 or to < from then
  return redis.error_reply('ERR kkim skip: bad range')
end
local hw = redis.call('HGET', KEYS[1], conv)
if hw then hw = tonumber(hw) else hw = from - 1 end
if hw ~= from - 1 then
  return {0, hw}
end
redis.call('HSET', KEYS[1], conv, ARGV[3])
if not KEYS[2] then
  return {1, to}
end
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'gap',
             'conversationID', conv, 'from', ARGV[2], 'to', ARGV[3], 'reason', ARGV[4])
else
  redis.call('XADD', KEYS[2], '*', 'type', 'gap',
             'conversationID', conv, 'from', ARGV[2], 'to', ARGV[3], 'reason', ARGV[4])
end
return {1, to}
