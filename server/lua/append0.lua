-- append0.lua: append one seq-0 (push-only, NOTES §5.4) message, at most
-- once per clientMsgID within a TTL window. Embedded in server/rsink_lua.c
-- (keep both identical).
--
-- KEYS[1] kkim:{T}:msgs (or :notifications)
-- KEYS[2] kkim:{T}:seen0:<conversationID>:<clientMsgID>  (the dedup marker)
-- ARGV[1] marker TTL in ms ('0' = no dedup: the message has no clientMsgID)
-- ARGV[2] MAXLEN threshold, ARGV[3] MINID threshold ('' = not used)
-- ARGV[4..] the entry's field/value pairs
-- Reply: {appended, duplicates} — {1,0} or {0,1}.
if #ARGV < 5 or (#ARGV - 3) % 2 ~= 0 then
  return redis.error_reply('ERR kkim append0: malformed entry')
end
if ARGV[1] ~= '0' then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then
    return {0, 1}
  end
end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4, #ARGV))
if ARGV[2] ~= '' then
  redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[2])
end
if ARGV[3] ~= '' then
  redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[3])
end
return {1, 0}
