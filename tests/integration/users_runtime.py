"""users_runtime.py BUILD_DIR — users added and removed while the relay runs.

Tenant `ru` (jwt tokens minted with the simulator's secret): ru1 in the
config, ru2 in its usersFile. Checks, each timed from the change:
  SADD kkim:{ru}:users ru3 ru4  → both online within 1 s;
  SREM ru3                      → its login gone within 1 s (logout event
                                  with reason removed), ru4 untouched;
  SREM of a config user (ru1 added then removed from the set) → ru1 stays;
  usersFile rewritten (ru2 → ru5) + SIGHUP → ru5 online, ru2 gone, the
                                  run-time ru4 and config ru1 untouched
                                  (same connection: onlineMs keeps growing).
"""
import json
import os
import signal
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SECRET = "kkim-gatewaysim-secret"
check = kkit.Checks()


def sessions(admin):
    with urllib.request.urlopen("http://127.0.0.1:%d/v1/sessions?tenant=ru" % admin, timeout=2) as r:
        return {s["user"]: s for s in json.loads(r.read())["sessions"]}


def online(admin):
    return sorted(u for u, s in sessions(admin).items() if s["state"] == "online")


def wait(pred, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return time.time() - t0
        time.sleep(0.02)
    return None


def run(env):
    ws, ctl, rp, admin = (kkit.free_port() for _ in range(4))
    env.start_redis(rp, aof=False)
    env.start_sim(ws, ctl, ["ru%d" % i for i in range(1, 7)], ["-secret", SECRET])
    users_file = os.path.join(env.dir, "ru.users")
    with open(users_file, "w") as f:
        f.write("ru2\n")
    cfg = {"instance": {"id": "it"}, "admin": {"listen": "127.0.0.1:%d" % admin},
           "log": {"level": "info"}, "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [{"id": "ru", "gateway": {"url": "ws://127.0.0.1:%d" % ws, "platformID": 7},
                        "tokens": {"source": "jwt", "secret": SECRET}, "users": ["ru1"],
                        "usersFile": "ru.users", "backfill": "none"}]}
    path = os.path.join(env.dir, "relay.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    relay = env.start_relay(path)
    kkit.wait_port(admin)
    r = kkit.Redis(rp)
    check(wait(lambda: online(admin) == ["ru1", "ru2"], 15) is not None, "config and usersFile users online")

    t0 = time.time()
    r.cmd("SADD", "kkim:{ru}:users", "ru3", "ru4")
    dt = wait(lambda: online(admin) == ["ru1", "ru2", "ru3", "ru4"], 5)
    print("     SADD → online: %s s" % (None if dt is None else "%.3f" % dt))
    check(dt is not None and dt <= 1.0, "SADD ru3 ru4: both online within 1 s")

    r.cmd("SREM", "kkim:{ru}:users", "ru3")
    dt = wait(lambda: "ru3" not in sessions(admin), 5)
    print("     SREM → gone: %s s" % (None if dt is None else "%.3f" % dt))
    check(dt is not None and dt <= 1.0, "SREM ru3: login gone within 1 s")
    check(online(admin) == ["ru1", "ru2", "ru4"], "ru4 untouched by the SREM of ru3")
    ev = [dict((k.decode(), v.decode()) for k, v in kv.items()) for _, kv in r.stream("kkim:{ru}:events")]
    check(any(e.get("type") == "logout" and e.get("user") == "ru3" and e.get("reason") == "removed" for e in ev),
          "event logout user=ru3 reason=removed")
    conns = env.sim("/conns")
    conns = conns.get("conns", conns) if isinstance(conns, dict) else conns
    check(not any(c.get("userID") == "ru3" for c in conns) and any(c.get("userID") == "ru4" for c in conns),
          "the gateway has no connection of ru3 any more (and still one of ru4)")

    r.cmd("SADD", "kkim:{ru}:users", "ru1")
    time.sleep(1.2)
    r.cmd("SREM", "kkim:{ru}:users", "ru1")
    time.sleep(1.2)
    check(online(admin) == ["ru1", "ru2", "ru4"], "SADD+SREM of config user ru1 leaves its login alone")

    before = sessions(admin)
    with open(users_file, "w") as f:
        f.write("ru5\n")
    relay.send_signal(signal.SIGHUP)
    dt = wait(lambda: online(admin) == ["ru1", "ru4", "ru5"], 5)
    check(dt is not None, "usersFile reload (SIGHUP): ru5 online, ru2 gone (%s s)" % dt)
    after = sessions(admin)
    check(all(after[u]["onlineMs"] > before[u]["onlineMs"] for u in ("ru1", "ru4")),
          "ru1 and ru4 kept their connections across the reload")
    r.close()
    rc = env.stop("relay")
    check(rc == 0, "relay exits 0 on SIGTERM, no sanitizer report (rc=%s)" % rc)


def main():
    kkit.run_driver("users_runtime", BUILD, run, check, logs=("relay",))


if __name__ == "__main__":
    main()
