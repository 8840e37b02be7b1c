#!/usr/bin/env bash
# rsink_lua_scripts.sh — the sink's Lua scripts (server/lua/*.lua) against a
# real redis-server started here on a free loopback port: in-order appends,
# duplicates, a replayed batch, a gap, skip, trimming, seq-0 dedup.
# Exits non-zero on the first mismatch; kills its redis-server on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LUA=$ROOT/server/lua
WORK=$(mktemp -d)

# A free port: let the kernel pick one, then release it for redis.
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" --daemonize no >"$WORK/redis.log" 2>&1 &
RPID=$!
trap 'kill $RPID 2>/dev/null; wait $RPID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do
  redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done

R() { redis-cli -p "$PORT" "$@"; }
fails=0
# expect NAME WANT GOT
expect() {
  if [[ "$2" == "$3" ]]; then echo "ok   $1"
  else echo "FAIL $1: want [$2] got [$3]"; fails=$((fails + 1)); fi
}
S='kkim:{t1}:msgs'; H='kkim:{t1}:hw'; E='kkim:{t1}:events'
# msg SEQ -> the per-message argv of append.lua (seq, k, 3 field/value pairs)
msg() { echo "$1 6 conversationID c1 seq $1 content m$1"; }
append() { # append MAXLEN MINID SEQS...
  local trim=$1 th=$2; shift 2
  local args=()
  for s in "$@"; do args+=($(msg "$s")); done
  R EVAL "$(cat "$LUA/append.lua")" 2 "$S" "$H" c1 "$trim" "$th" "${args[@]}" | tr '\n' ' '
}
seqs() { R XRANGE "$S" - + | awk 'p{print; p=0} $0=="seq"{p=1}' | tr '\n' ' '; }

expect "in-order batch starts a new conversation" "3 0 3 0 " "$(append '' '' 1 2 3)"
expect "hw hash holds the last seq" "3" "$(R HGET "$H" c1)"
expect "stream holds 1..3 in order" "1 2 3 " "$(seqs)"
expect "replayed batch is all duplicates" "0 3 3 0 " "$(append '' '' 1 2 3)"
expect "overlap: dups dropped, new appended" "2 2 5 0 " "$(append '' '' 2 3 4 5)"
expect "gap stops the batch" "1 0 6 9 " "$(append '' '' 6 9 10)"
expect "nothing after the gap was written" "1 2 3 4 5 6 " "$(seqs)"
expect "entry fields in the given order" "conversationID c1 seq 1 content m1 " \
  "$(R XRANGE "$S" - + COUNT 1 | tail -n 6 | tr '\n' ' ')"
expect "malformed batch is refused" "ERR kkim append: malformed batch at argument 4" \
  "$(R EVAL "$(cat "$LUA/append.lua")" 2 "$S" "$H" c1 '' '' 7 3 a b c 2>&1 | head -1)"
expect "malformed batch wrote nothing" "6" "$(R XLEN "$S")"

SK() { R EVAL "$(cat "$LUA/skip.lua")" 2 "$H" "$E" c1 "$@" | tr '\n' ' '; }
expect "skip not right after hw is refused" "0 6 " "$(SK 8 8 missing '')"
expect "skip right after hw advances" "1 8 " "$(SK 7 8 missing 1000)"
expect "skip wrote one gap event" "type gap conversationID c1 from 7 to 8 reason missing " \
  "$(R XRANGE "$E" - + | tail -n 10 | tr '\n' ' ')"
expect "append continues after the skip" "2 0 10 0 " "$(append '' '' 9 10)"
expect "skip on a new conversation starts it" "1 4 " \
  "$(R EVAL "$(cat "$LUA/skip.lua")" 2 "$H" "$E" c2 1 4 placeholder '' | tr '\n' ' ')"
expect "skip with a bad range is refused" "ERR kkim skip: bad range" \
  "$(R EVAL "$(cat "$LUA/skip.lua")" 2 "$H" "$E" c2 5 4 missing '' 2>&1 | head -1)"

# Trimming: MAXLEN ~ keeps at least N, trims whole macro nodes.
R CONFIG SET stream-node-max-entries 10 >/dev/null
many=(); for s in $(seq 11 60); do many+=("$s"); done
expect "50 appended with MAXLEN ~ 20" "50 0 60 0 " "$(append 20 '' "${many[@]}")"
len=$(R XLEN "$S")
if (( len >= 20 && len < 60 )); then echo "ok   MAXLEN ~ trimmed to $len"; else echo "FAIL MAXLEN trim: $len"; fails=$((fails+1)); fi
expect "newest entry kept" "60" "$(R XREVRANGE "$S" + - COUNT 1 | awk 'p{print; p=0} $0=="seq"{p=1}')"
R DEL "$S" >/dev/null
# 61..70 fill exactly one macro node (10 entries), all older than the cut.
append '' '' 61 62 63 64 65 66 67 68 69 70 >/dev/null
sleep 0.01
cut=$(( $(date +%s%3N) ))
sleep 0.01
for s in $(seq 71 90); do append '' '' "$s" >/dev/null; done
append '' "$cut-0" 91 >/dev/null
expect "MINID ~ drops entries older than the cut" "0" \
  "$(R XRANGE "$S" - "$cut-0" | grep -c '^seq$' || true)"
expect "MINID keeps the newest" "91" "$(R XREVRANGE "$S" + - COUNT 1 | awk 'p{print; p=0} $0=="seq"{p=1}')"

A0() { R EVAL "$(cat "$LUA/append0.lua")" 2 'kkim:{t1}:msgs0' "kkim:{t1}:seen0:c1:$1" "$2" '' '' \
         conversationID c1 seq 0 clientMsgID "$1" | tr '\n' ' '; }
expect "seq-0 message appended" "1 0 " "$(A0 cm1 600000)"
expect "seq-0 same clientMsgID is a duplicate" "0 1 " "$(A0 cm1 600000)"
expect "seq-0 other clientMsgID appended" "1 0 " "$(A0 cm2 600000)"
ttl=$(R PTTL 'kkim:{t1}:seen0:c1:cm1')
if (( ttl > 0 && ttl <= 600000 )); then echo "ok   seq-0 marker has a TTL"; else echo "FAIL marker TTL $ttl"; fails=$((fails+1)); fi
expect "seq-0 without clientMsgID is never deduplicated" "1 0 1 0 " "$(A0 '' 0)$(A0 '' 0)"
expect "seq-0 stream has 4 entries" "4" "$(R XLEN 'kkim:{t1}:msgs0')"

if (( fails )); then echo "rsink_lua_scripts: $fails failed"; exit 1; fi
echo "rsink_lua_scripts: all passed"
