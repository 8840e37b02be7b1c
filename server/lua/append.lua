-- append.lua: append one conversation's batch to its stream, exactly once
-- and in seq order (design §5). Embedded in server/rsink_lua.c (keep both
-- identical: test_srv_rsink compares them).
--
-- KEYS[1] kkim:{T}:msgs (or :notifications)   KEYS[2] kkim:{T}:hw
-- ARGV[1] conversationID
-- ARGV[2] MAXLEN threshold, ARGV[3] MINID threshold ('' = not used; both
-- may be set: each trims approximately, '~')
-- ARGV[4..] the batch, per message: seq, k, then k field/value entries
-- Per message: seq <= hw -> duplicate; seq == hw+1 -> XADD, hw = seq;
-- otherwise stop (a gap: the caller pulls the hole). A conversation with no
-- hw field starts at the batch's first seq. One HSET and one XTRIM at the end.
-- Reply: {appended, duplicates, hw, first seq not appended or 0}.
local conv = ARGV[1]
local n = #ARGV
-- Validate the whole batch before writing anything.
local i = 4
while i <= n do
  local seq = tonumber(ARGV[i])
  local k = tonumber(ARGV[i + 1])
  if not seq or not k or seq < 1 or k < 2 or k % 2 ~= 0 or i + 1 + k > n then
    return redis.error_reply('ERR kkim append: malformed batch at argument ' .. i)
  end
  i = i + 2 + k
end
local hw = redis.call('HGET', KEYS[2], conv)
if hw then
  hw = tonumber(hw)
elseif n >= 4 then
  hw = tonumber(ARGV[4]) - 1
else
  hw = 0
end
local appended, dups, stop, last = 0, 0, 0, nil
i = 4
while i <= n do
  local seq = tonumber(ARGV[i])
  local k = tonumber(ARGV[i + 1])
  if seq <= hw then
    dups = dups + 1
  elseif seq == hw + 1 then
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 2, i + 1 + k))
    hw = seq
    last = ARGV[i]
    appended = appended + 1
  else
    stop = seq
    break
  end
  i = i + 2 + k
end
if last then
  redis.call('HSET', KEYS[2], conv, last)
  if ARGV[2] ~= '' then
    redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[2])
  end
  if ARGV[3] ~= '' then
    redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[3])
  end
end
return {appended, dups, hw, stop}
