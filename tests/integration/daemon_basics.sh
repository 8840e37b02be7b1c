#!/usr/bin/env bash
# daemon_basics.sh BUILD_DIR — the daemon's foundations end to end:
# /healthz /readyz /metrics, /readyz follows Redis down and up, SIGHUP
# reloads and logs the diff, SIGTERM exits 0 within the drain deadline,
# --check-config reports every error with line:col, a wrong Redis password
# gives a clear log line without the password. Starts its own redis-server
# on a free loopback port; kills everything it started on exit.
set -u
BUILD=${1:?usage: daemon_basics.sh BUILD_DIR}
RELAY=$BUILD/server/kkim-relay
[ -x "$RELAY" ] || { echo "FAIL: $RELAY not built"; exit 1; }
WORK=$(mktemp -d /tmp/kk_daemon.XXXXXX)
PIDS=()
FAILS=0
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

ok()   { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

# A free loopback TCP port (bind to 0, read it back).
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

REDIS_PORT=$(free_port)
ADMIN_PORT=$(free_port)
start_redis() {  # $1 = extra args
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no $1 >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ${2:-} ping >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
stop_redis() { kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; }

# Waits until curl on path returns code $2 (up to $3 tenths of a second).
wait_code() {
    for _ in $(seq "${3:-100}"); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
write_config() {  # $1 = redis url, $2 = users json
    cat >"$WORK/relay.json" <<JSON
{
  "instance": { "id": "it-1", "drainTimeout": "3s" },
  "admin": { "listen": "127.0.0.1:$ADMIN_PORT" },
  "log": { "level": "info" },
  "redis": { "url": "$1" },
  "tenants": [ { "id": "demo",
    "gateway": { "url": "ws://127.0.0.1:10001", "platformID": 7 },
    "tokens": { "source": "file", "path": "demo.tokens" },
    "users": $2 } ]
}
JSON
}

start_redis "" || { echo "FAIL: redis-server did not start"; exit 1; }
# No users first: /readyz also needs the logins "mostly online", and no
# gateway runs in this test (the relay's own tests cover logins).
write_config "redis://127.0.0.1:$REDIS_PORT/0" '[]'
"$RELAY" -c "$WORK/relay.json" 2>"$WORK/relay.log" &
RELAY_PID=$!
PIDS+=("$RELAY_PID")

check "/healthz answers 200" wait_code /healthz 200
check "/readyz answers 200 with Redis up" wait_code /readyz 200
curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" >"$WORK/metrics.txt"
check "/metrics has HELP/TYPE and kkim_redis_up 1" \
    grep -q -x 'kkim_redis_up 1' "$WORK/metrics.txt"
check "/metrics declares its types" grep -q '^# TYPE kkim_config_reloads_total counter$' "$WORK/metrics.txt"
check "unknown path gives 404" wait_code /nope 404 1
check "POST /healthz gives 405" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$ADMIN_PORT/healthz")" = 405
check "/v1/sessions answers JSON" \
    test "$(curl -s "http://127.0.0.1:$ADMIN_PORT/v1/sessions?tenant=demo")" = '{"sessions":[]}'

stop_redis
check "/readyz goes 503 when Redis stops" wait_code /readyz 503
check "redis_down is logged" grep -q '"event":"redis_down"' "$WORK/relay.log"
start_redis "" || fail "redis restart"
check "/readyz is 200 again when Redis is back" wait_code /readyz 200 400

write_config "redis://127.0.0.1:$REDIS_PORT/0" '["alice", "carol"]'
kill -HUP "$RELAY_PID"
for _ in $(seq 50); do grep -q '"event":"reload"' "$WORK/relay.log" && break; sleep 0.1; done
check "SIGHUP logs the reload diff" \
    grep -q '"event":"reload".*"usersAdded":2,"usersRemoved":0' "$WORK/relay.log"
check "SIGHUP logs each change" \
    grep -q '"event":"reload_change","tenant":"demo","user":"carol","platform":7,"change":"user_added"' "$WORK/relay.log"
check "/v1/sessions lists the added logins" \
    sh -c "curl -s 'http://127.0.0.1:$ADMIN_PORT/v1/sessions?tenant=demo' | grep -q '\"user\":\"carol\"'"
check "/readyz is 503 while the added logins are offline" wait_code /readyz 503 50

START=$(date +%s%N)
kill -TERM "$RELAY_PID"
wait "$RELAY_PID"; RC=$?
MS=$(( ($(date +%s%N) - START) / 1000000 ))
check "SIGTERM exits 0 (rc=$RC) within the 3s deadline (${MS} ms)" test "$RC" = 0 -a "$MS" -lt 3000
check "no sanitizer report" bash -c "! grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error' '$WORK/relay.log'"
check "loop closed cleanly" grep -q '"event":"stopped".*"exitCode":0' "$WORK/relay.log"

cat >"$WORK/broken.json" <<'JSON'
{
  "logg": {},
  "tenants": [ { "id": "demo",
    "gateway": { "url": "http://x", "platformID": 0 },
    "tokens": { "source": "file" } } ]
}
JSON
"$RELAY" -c "$WORK/broken.json" --check-config >"$WORK/check.out" 2>&1; RC=$?
check "--check-config exits 1 on a broken config" test "$RC" = 1
check "--check-config reports the unknown key at 2:3" grep -q "broken.json:2:3: logg: unknown key" "$WORK/check.out"
check "--check-config reports the bad url at 4:25" grep -q "broken.json:4:25: tenants\[0\].gateway.url" "$WORK/check.out"
check "--check-config reports platformID at 4:51" grep -q "broken.json:4:51: tenants\[0\].gateway.platformID" "$WORK/check.out"
check "--check-config reports the missing tokens.path at 5:15" grep -q "broken.json:5:15: tenants\[0\].tokens.path" "$WORK/check.out"
"$RELAY" -c "$WORK/relay.json" --check-config >"$WORK/check.out" 2>&1
check "--check-config prints the summary" grep -q -x "config ok: 1 tenants, 2 users" "$WORK/check.out"

# Wrong password: Redis with requirepass, relay with another password.
stop_redis
start_redis "--requirepass right-pass-123" "-a right-pass-123 --no-auth-warning" || fail "redis with password"
write_config "redis://:wrong-pass-456@127.0.0.1:$REDIS_PORT/0" '["alice"]'
"$RELAY" -c "$WORK/relay.json" 2>"$WORK/relay2.log" &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
for _ in $(seq 50); do grep -q '"event":"redis_down"' "$WORK/relay2.log" && break; sleep 0.1; done
check "a wrong Redis password gives a clear log line" \
    grep -q '"event":"redis_down".*"reason":"AUTH failed: WRONGPASS' "$WORK/relay2.log"
check "the password appears nowhere in the log" bash -c "! grep -q 'wrong-pass-456' '$WORK/relay2.log'"
check "/readyz is 503 while AUTH fails" wait_code /readyz 503 20
kill -TERM "$RELAY_PID"; wait "$RELAY_PID"; RC=$?
check "SIGTERM while Redis rejects us exits 0" test "$RC" = 0

if [ "$FAILS" -ne 0 ]; then echo "daemon_basics: $FAILS check(s) failed"; sed 's/^/  relay: /' "$WORK/relay.log" | tail -20; exit 1; fi
echo "daemon_basics: all checks passed"
