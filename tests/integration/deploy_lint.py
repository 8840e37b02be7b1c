#!/usr/bin/python3
"""deploy_lint.py BUILD_DIR — lints deploy/ with what this machine has.

Docker and Kubernetes are not available here, so nothing is built or
applied; the checks are: yamllint on every YAML file; JSON syntax of the
Grafana dashboard and its panel structure; every metric the dashboard
queries exists in a live relay's /metrics; the Dockerfile parsed (stages on
debian:12, non-root USER, HEALTHCHECK on /healthz, the runtime stage has the
lws libuv plugin and no -dev package, build packages all in scripts/deps.sh);
the systemd unit through `systemd-analyze verify` and `security --offline`;
every ConfigMap's config.json through `kkim-relay --check-config` with the
Secret's files beside it; the StatefulSet's command gives pod K `--shard K/N`
with N = replicas; the Deployment runs replicas only with leases on; probes
and resource requests present. One line per check.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kkit  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
RELAY = os.path.join(BUILD, "server", "kkim-relay")
FAILS = []
CHECKS = [0]


def check(ok, what, detail=""):
    CHECKS[0] += 1
    print(("ok   - " if ok else "FAIL - ") + what + ("" if ok or not detail else ": " + detail), flush=True)
    if not ok:
        FAILS.append(what)


def yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def k8s_objects():
    objs = []
    for p in sorted(glob.glob(os.path.join(DEPLOY, "k8s", "*.yaml"))):
        objs += [(os.path.basename(p), d) for d in yaml_docs(p)]
    return objs


def lint_yaml():
    files = sorted(glob.glob(os.path.join(DEPLOY, "**", "*.yaml"), recursive=True))
    conf = "{extends: default, rules: {line-length: {max: 160}}}"
    r = subprocess.run(["yamllint", "-f", "parsable", "-d", conf] + files, capture_output=True, text=True)
    check(r.returncode == 0 and files, "yamllint: %d YAML files clean" % len(files), r.stdout[-800:])


def dashboard_metrics():
    path = os.path.join(DEPLOY, "grafana", "kkim-relay.json")
    r = subprocess.run([sys.executable, "-m", "json.tool", path], capture_output=True, text=True)
    check(r.returncode == 0, "grafana/kkim-relay.json is valid JSON (python3 -m json.tool)", r.stderr)
    if r.returncode:
        return set()
    d = json.load(open(path))
    panels = d.get("panels", [])
    ids = [p.get("id") for p in panels]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    fits = all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in panels)
    check(d.get("uid") and d.get("title") and len(ids) == len(set(ids)) and fits and len(exprs) >= 10
          and all(p.get("type") == "row" or p.get("targets") for p in panels),
          "dashboard: uid, title, %d panels with unique ids inside 24 columns, %d queries" % (len(panels), len(exprs)))
    names = set()
    for e in exprs:
        names |= set(re.findall(r"\bkkim_[a-z0-9_]+", e))
    return names


def live_metrics(env):
    rp, admin = kkit.free_port(), kkit.free_port()
    env.start_redis(rp, aof=False)
    with open(os.path.join(env.dir, "t.tokens"), "w") as f:
        f.write("u1 7 tok\n")
    cfg = {"instance": {"id": "lint"}, "admin": {"listen": "127.0.0.1:%d" % admin},
           "leases": {"shards": 4, "ttlMs": 3000},
           "redis": {"url": "redis://127.0.0.1:%d/0" % rp},
           "tenants": [{"id": "acme", "gateway": {"url": "ws://127.0.0.1:1", "platformID": 7},
                        "tokens": {"source": "file", "path": "t.tokens"}, "users": ["u1"]}]}
    path = os.path.join(env.dir, "relay.json")
    json.dump(cfg, open(path, "w"))
    env.start_relay(path)
    kkit.wait_port(admin)
    import time
    end = time.time() + 10
    text = ""
    while time.time() < end:  # tenant series appear once the tenant runs
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=3) as r:
            text = r.read().decode()
        if 'tenant="acme"' in text:
            break
        time.sleep(0.2)
    env.stop("relay")
    return {ln.split("{")[0].split(" ")[0] for ln in text.splitlines() if ln and not ln.startswith("#")}


def lint_dashboard(env):
    used = dashboard_metrics()
    have = live_metrics(env)
    missing = sorted(used - have)
    check(used and not missing, "every metric the dashboard uses (%d) is exported by a live relay" % len(used),
          "missing: %s" % missing)
    unused = sorted({n for n in have if not re.sub(r"_(bucket|sum|count)$", "", n) + "" in
                     {re.sub(r"_(bucket|sum|count)$", "", u) for u in used}})
    check(not unused, "the dashboard shows every metric family the relay exports", "not shown: %s" % unused)


def dockerfile_stages():
    lines, cur = [], ""
    for raw in open(os.path.join(DEPLOY, "Dockerfile")):
        s = raw.rstrip("\n")
        if not cur and (not s.strip() or s.lstrip().startswith("#")):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        lines.append((cur + s).strip())
        cur = ""
    stages = []
    for ln in lines:
        word, _, rest = ln.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages.append({"from": rest, "ins": []})
        elif stages:
            stages[-1]["ins"].append((word, rest))
        else:
            return None, "instruction %s before FROM" % word
    known = {"RUN", "COPY", "USER", "WORKDIR", "ARG", "ENV", "EXPOSE", "HEALTHCHECK", "STOPSIGNAL",
             "ENTRYPOINT", "CMD", "LABEL", "VOLUME", "ADD", "SHELL"}
    bad = [w for st in stages for w, _ in st["ins"] if w not in known]
    return stages, ("unknown instructions %s" % bad if bad else "")


def apt_packages(run):
    m = re.search(r"apt-get install (.*?)(?:&&|$)", run)
    return [w for w in (m.group(1).split() if m else []) if not w.startswith("-")]


def lint_dockerfile():
    stages, err = dockerfile_stages()
    check(stages and not err, "Dockerfile parses: every line a known instruction after FROM", err)
    if not stages:
        return
    froms = [s["from"] for s in stages]
    check(len(stages) == 2 and all(f.startswith("debian:12") for f in froms),
          "Dockerfile: two stages, both FROM debian:12", str(froms))
    build, rt = stages[0], stages[-1]
    bpk = [p for w, a in build["ins"] if w == "RUN" for p in apt_packages(a)]
    rpk = [p for w, a in rt["ins"] if w == "RUN" for p in apt_packages(a)]
    deps = open(os.path.join(ROOT, "scripts", "deps.sh")).read()
    check(bpk and all(re.search(r"(^|\s)%s(\s|$)" % re.escape(p), deps) for p in bpk),
          "Dockerfile build stage installs only packages named in scripts/deps.sh (%d)" % len(bpk),
          str([p for p in bpk if p not in deps]))
    check("libwebsockets-evlib-uv" in rpk and "libwebsockets17" in rpk and not [p for p in rpk if p.endswith("-dev")],
          "Dockerfile runtime stage: lws + its libuv plugin, no -dev package", str(rpk))
    copies = [a for w, a in rt["ins"] if w == "COPY"]
    check(any("--from=build" in a for a in copies), "Dockerfile runtime stage copies the binaries from the build stage")
    users = [a.split(":")[0].strip() for w, a in rt["ins"] if w == "USER"]
    check(users and users[-1] not in ("root", "0"), "Dockerfile: runs as a non-root USER (%s)" % (users[-1:] or "none"))
    hc = [a for w, a in rt["ins"] if w == "HEALTHCHECK"]
    check(hc and "/healthz" in hc[0], "Dockerfile: HEALTHCHECK on /healthz")
    ep = [a for w, a in rt["ins"] if w in ("ENTRYPOINT", "CMD")]
    check(any("kkim-relay" in a for a in ep), "Dockerfile: ENTRYPOINT runs kkim-relay")


def lint_systemd():
    unit = open(os.path.join(DEPLOY, "systemd", "kkim-relay.service")).read()
    need = ["DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
            "NoNewPrivileges=yes", "RestrictAddressFamilies=", "CapabilityBoundingSet=\n",
            "LimitNOFILE=", "StateDirectory=", "ExecReload=/bin/kill -HUP $MAINPID"]
    missing = [n.strip() for n in need if n not in unit]
    check(not missing, "systemd unit has the hardening settings", "missing %s" % missing)
    tmp = tempfile.mkdtemp(prefix="kk_unit.")
    try:
        path = os.path.join(tmp, "kkim-relay.service")
        open(path, "w").write(unit.replace("/usr/bin/kkim-relay", RELAY))
        r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and not out, "systemd-analyze verify: clean", out[-600:])
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", path],
                           capture_output=True, text=True)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        check(r.returncode == 0 and m, "systemd-analyze security --offline: exposure %s (<= 2.0)"
              % (m.group(1) if m else "?"), r.stderr[-300:])
    finally:
        shutil.rmtree(tmp)


def materialize_config(tmp, name, cm, sec):
    """Writes ConfigMap cm's files under tmp/name/conf and the Secret's under
    tmp/name/secret (the pod's layout); returns the config.json path."""
    for sub, items in (("conf", cm["data"]), ("secret", sec["stringData"])):
        os.makedirs(os.path.join(tmp, name, sub))
        for k, v in items.items():
            open(os.path.join(tmp, name, sub, k), "w").write(v)
    return os.path.join(tmp, name, "conf", "config.json")


def lint_leased(objs, cms):
    """The Deployment runs several replicas only with leases on: its ConfigMap
    has a "leases" key and its command gives no --shard."""
    dep = next(d for _, d in objs if d["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    cm_name = next(v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v)
    leases = json.loads(cms[cm_name]["data"]["config.json"]).get("leases")
    args = " ".join(pod["containers"][0].get("args", []))
    check(dep["spec"]["replicas"] > 1 and leases is not None and "--shard" not in args,
          "Deployment: %d replicas on ConfigMap %s with leases %s, no --shard"
          % (dep["spec"]["replicas"], cm_name, leases))


def lint_k8s():
    objs = k8s_objects()
    kinds = {d["kind"] for _, d in objs}
    check({"ConfigMap", "Secret", "StatefulSet", "Deployment", "Service", "ServiceMonitor"} <= kinds,
          "k8s: ConfigMap, Secret, StatefulSet, Deployment, Service, ServiceMonitor present", str(sorted(kinds)))
    cms = {d["metadata"]["name"]: d for _, d in objs if d["kind"] == "ConfigMap"}
    sec = next(d for _, d in objs if d["kind"] == "Secret")
    tmp = tempfile.mkdtemp(prefix="kk_k8s.")
    try:
        env = dict(os.environ, KKIM_ADMIN_TOKEN=sec["stringData"]["admin-token"],
                   ASAN_OPTIONS="detect_leaks=1")
        confs = {}
        for cm_name, cm in sorted(cms.items()):
            confs[cm_name] = materialize_config(tmp, cm_name, cm, sec)
            r = subprocess.run([RELAY, "-c", confs[cm_name], "--check-config"], capture_output=True, text=True,
                               env=env)
            check(r.returncode == 0, "ConfigMap %s config.json passes kkim-relay --check-config (%s)"
                  % (cm_name, r.stdout.strip()), (r.stdout + r.stderr)[-600:])
        lint_leased(objs, cms)
        conf = confs["kkim-relay-config"]
        sts = next(d for _, d in objs if d["kind"] == "StatefulSet")
        n = sts["spec"]["replicas"]
        c = sts["spec"]["template"]["spec"]["containers"][0]
        envs = {e["name"]: e.get("value") for e in c["env"]}
        check(envs.get("KKIM_SHARDS") == str(n), "StatefulSet: KKIM_SHARDS = replicas = %d" % n)
        script = c["args"][0].replace("exec /usr/bin/kkim-relay", "printf '%s\\n'")
        got = []
        for k in range(n):
            r = subprocess.run(["/bin/sh", "-c", script],
                               env={"POD_NAME": "kkim-relay-%d" % k, "KKIM_SHARDS": envs["KKIM_SHARDS"],
                                    "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
            got.append(r.stdout.split())
        ok = all(g[-2:] == ["--shard", "%d/%d" % (k, n)] for k, g in enumerate(got))
        check(ok, "StatefulSet: pod kkim-relay-K runs --shard K/%d" % n, str(got))
        r = subprocess.run([RELAY, "-c", conf, "--shard", "%d/%d" % (n - 1, n), "--check-config"],
                           capture_output=True, text=True, env=env)
        r2 = subprocess.run([RELAY, "-c", conf, "--shard", "%d/%d" % (n, n), "--check-config"],
                            capture_output=True, text=True, env=env)
        check(r.returncode == 0 and r2.returncode == 2 and "--shard" in r2.stderr,
              "kkim-relay accepts --shard %d/%d and refuses %d/%d (exit 2)" % (n - 1, n, n, n),
              "rc %d / %d" % (r.returncode, r2.returncode))
    finally:
        shutil.rmtree(tmp)
    for name, d in objs:
        if d["kind"] not in ("StatefulSet", "Deployment"):
            continue
        pod = d["spec"]["template"]["spec"]
        c = pod["containers"][0]
        probes = {k: " ".join(c[k]["exec"]["command"]) for k in ("livenessProbe", "readinessProbe") if k in c}
        res = c.get("resources", {})
        ok = ("/healthz" in probes.get("livenessProbe", "") and "/readyz" in probes.get("readinessProbe", "")
              and res.get("requests", {}).get("memory") and res.get("requests", {}).get("cpu")
              and pod["securityContext"].get("runAsNonRoot") is True
              and c["securityContext"].get("readOnlyRootFilesystem") is True)
        check(ok, "%s %s: liveness /healthz, readiness /readyz, requests %s, non-root, read-only root"
              % (name, d["kind"], res.get("requests")))


def main():
    env = kkit.Env(BUILD, "deploy")
    try:
        lint_yaml()
        lint_dashboard(env)
        lint_dockerfile()
        lint_systemd()
        lint_k8s()
    except Exception as e:  # a crash of the driver is a failure too
        check(False, "driver: %r" % e)
    finally:
        env.close()
    print("deploy_lint: %d passed, %d failed (docker/kubectl not available: syntax and content checks only)"
          % (CHECKS[0] - len(FAILS), len(FAILS)))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
