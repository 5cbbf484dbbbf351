"""The page benchmark: a pool page and a parent page, served by the release
build and by peer servers over one PostgreSQL database, with a pgbench
replay of this server's own statements as the database-bound ceiling.

  python3 scripts/bench/pages.py API_BIN [PEER_DIR]      (scripts/bench/pages calls it)

PEER_DIR holds the peers, kept outside the project: `yoga/server.js`
(graphql-js) and `postgraphile/server.js`, each started with `node server.js`
and DATABASE_URL, AUTH_SECRET, PORT and NODE_ENV=production, and
`queries.py` with `body(server, workload, state, n)` spelling each workload
for `peer1` and `peer2`. Without PEER_DIR only this server and the ceiling
are measured.

Every run is one wrk run against one server; runs of every server are
interleaved, CYCLES times, and figures are medians over the cycles. CPU per
request is read from /proc for the server and for the database backends of
the benchmark database. The machine is shared, so compare ratios within a
run, not absolute figures across runs.
"""
import importlib.util
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from common import TICK, cpu_ticks, free_port, post, psql, sign_up, wait_for_port

HERE = os.path.dirname(os.path.abspath(__file__))
PG = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
SHORT = os.environ.get("SHORT") == "1"
DURATION = int(os.environ.get("DURATION", "5" if SHORT else "15"))
CYCLES = int(os.environ.get("CYCLES", "1" if SHORT else "3"))
CONCS = [int(c) for c in os.environ.get("CONCURRENCY", "16" if SHORT else "16,64").split(",")]
PAGE = 50
SECRET = "page-benchmark-secret-0123456789-abcdefghijklmnop"
# Production asks for a pack signing key; any 32 bytes will do here.
PACK_KEY = "cGFnZS1iZW5jaG1hcmstcGFjay1rZXktMzItYnl0ZXM="
PASSWORD = "correct horse battery staple"
PEERS = {"peer1": ("graphql-js", "yoga"), "peer2": ("PostGraphile", "postgraphile")}
procs = []

POOL_PAGE = """query PoolPage($id: ID!, $n: Int!) {
  pool(id: $id) {
    id name slug
    stakeholderGroups { id key name kind }
    members(first: $n) {
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id role status stakeholderGroup { id name } user { displayName } } }
    }
    ledger { balances { amount currency } }
  }
}"""

PARENT_PAGE = """query ParentPools($id: ID!, $n: Int!) {
  parentEntity(id: $id) {
    id name
    pools(first: $n) {
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id name slug status stakeholderGroups { id key name } } }
    }
  }
}"""


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def db_url(db):
    return f"{PG}/{db}"


def rust_body(workload, st, n):
    if workload == "pool":
        return {"query": POOL_PAGE, "variables": {"id": st["pool"], "n": n}}
    return {"query": PARENT_PAGE, "variables": {"id": st["parent"], "n": n}}


def start(name, cmd, env, cwd, port, work):
    out = open(os.path.join(work, f"{name}.log"), "ab")
    p = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    procs.append(p)
    wait_for_port(port, p)
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    procs.remove(p)


def start_rust(api_bin, db, work, name="rust", run_jobs="true"):
    port = free_port()
    p = start(name, [api_bin], {"DATABASE_URL": db_url(db), "LISTEN_ADDR": f"127.0.0.1:{port}",
                                "AUTH_SECRET": SECRET, "PACK_SIGNING_KEY": PACK_KEY,
                                "APP_ENV": "production", "RUST_LOG": "warn",
                                "RUN_JOBS": run_jobs}, work, port, work)
    return p, port


def seed(api_bin, db, work):
    """One parent, one pool with two groups formed through the API, then bulk rows by SQL."""
    p, port = start_rust(api_bin, db, work, "seed")
    url = f"http://127.0.0.1:{port}"
    founder, founder_id = sign_up(url, "founder@bench.example", PASSWORD, "Founder")
    viewer, _ = sign_up(url, "viewer@bench.example", PASSWORD, "Viewer")
    # Submitting a formation needs a confirmed address; the link's mail is
    # not read here.
    psql(db_url(db), "UPDATE users SET email_confirmed_at = now()")
    parent = post(url, "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
                  {"i": {"name": "Bench Co-op", "jurisdiction": "ES", "legalForm": "Cooperativa",
                         "registrationNumber": "BENCH-1", "approvalPolicy": "MANUAL"}},
                  founder)["registerParentEntity"]["id"]
    f = post(url, "mutation($i: StartFormationInput!) { startFormation(input: $i) { id } }",
             {"i": {"parentEntityId": parent, "workingName": "Riders"}}, founder)["startFormation"]["id"]
    steps = [
        ("setStakeholderGroups", "SetStakeholderGroupsInput", {"groups": [
            {"key": "riders", "name": "Riders", "kind": "WORKERS", "votingWeight": 1, "admission": "APPLICATION"},
            {"key": "customers", "name": "Customers", "kind": "USERS", "votingWeight": 1, "admission": "OPEN"}]}),
        ("setFoundingMembers", "SetFoundingMembersInput", {"members": [
            {"email": "founder@bench.example", "displayName": "Founder", "stakeholderGroupKey": "riders",
             "role": "ADMIN"},
            {"email": "grace@bench.example", "displayName": "Grace", "stakeholderGroupKey": "riders"}]}),
        ("setFinancialProfile", "SetFinancialProfileInput", {
            "distributesSurplus": False, "raisesShareCapital": False, "acceptsInvestorMembers": False,
            "tradesWithPublic": True, "currency": "EUR"}),
        ("chooseLegalTemplate", "ChooseLegalTemplateInput", {"templateId": "pool-inside-parent"}),
        ("nameFormation", "NameFormationInput", {"name": "Ciclos Bench"}),
        ("selectApps", "SelectAppsInput", {"appIds": []}),
    ]
    for field, input_type, fields in steps:
        post(url, f"mutation($i: {input_type}!) {{ {field}(input: $i) {{ id }} }}",
             {"i": {"formationId": f, **fields}}, founder)
    post(url, "mutation($f: ID!) { submitFormation(formationId: $f) { status } }", {"f": f}, founder)
    pool = post(url, "mutation($f: ID!) { approveFormation(formationId: $f) { id stakeholderGroups { id key } } }",
                {"f": f}, founder)["approveFormation"]
    groups = {g["key"]: g["id"] for g in pool["stakeholderGroups"]}
    post(url, "mutation($i: ApplyForMembershipInput!) { applyForMembership(input: $i) { status } }",
         {"i": {"poolId": pool["id"], "stakeholderGroupId": groups["customers"]}}, viewer)
    stop(p)
    members = int(os.environ.get("MEMBERS", "200"))
    subprocess.run(["psql", "-qX", db_url(db), "-v", f"pool={pool['id']}", "-v", f"parent={parent}",
                    "-v", f"steward={founder_id}", "-v", f"g1={groups['riders']}",
                    "-v", f"g2={groups['customers']}", "-v", f"members={members}",
                    "-v", f"entries={os.environ.get('ENTRIES', '1000')}",
                    "-v", f"pools={os.environ.get('POOLS', '59')}",
                    "-f", os.path.join(HERE, "seed_pages.sql")], check=True)
    return {"parent": parent, "pool": pool["id"], "founder": founder_id, "member_token": viewer,
            "group_riders": groups["riders"], "group_customers": groups["customers"],
            "members": int(psql(db_url(db), f"SELECT count(*) FROM memberships WHERE pool_id = '{pool['id']}' "
                                            "AND left_at IS NULL")),
            "pools": int(psql(db_url(db), f"SELECT count(*) FROM pools WHERE parent_entity_id = '{parent}'"))}


class Servers:
    """This server and whichever peers PEER_DIR has, all on one database."""

    def __init__(self, api_bin, peer_dir, db, work, run_jobs="true"):
        self.p, self.ports = {}, {}
        self.p["rust"], self.ports["rust"] = start_rust(api_bin, db, work, run_jobs=run_jobs)
        for server, (_, folder) in PEERS.items() if peer_dir else ():
            port = free_port()
            self.ports[server] = port
            self.p[server] = start(server, ["node", "server.js"],
                                   {"DATABASE_URL": db_url(db), "AUTH_SECRET": SECRET,
                                    "NODE_ENV": "production", "PORT": str(port)},
                                   os.path.join(peer_dir, folder), port, work)

    def stop(self):
        for p in self.p.values():
            stop(p)


def call(port, body, token):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps(body).encode(),
                                 method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as res:
        out = json.loads(res.read())
    if "errors" in out:
        raise SystemExit(f"port {port} answered errors: {out['errors']}")
    return out


# --- statements per request, from PostgreSQL's own log --------------------

def pg_log_path():
    if os.environ.get("PG_LOG"):
        return os.environ["PG_LOG"]
    port = PG.rsplit(":", 1)[-1].split("/")[0]
    try:
        for line in subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout.splitlines():
            f = line.split()
            if len(f) >= 7 and f[2] == port:
                return f[6]
    except OSError:
        pass
    return None


# Debian's default log_line_prefix: '%m [%p] %q%u@%d '
LOG_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] \S*@(\S+) (LOG|DETAIL):  (.*)$")
PARAM = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")


def logged_statements(path, offset, db):
    """Statements the database logged for `db` after `offset`, with their parameters inlined."""
    with open(path, "rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").split("\n")
    out, cur = [], None
    for line in lines:
        m = LOG_LINE.match(line)
        if not m:
            if cur is not None and line.startswith("\t"):
                cur["sql"] += "\n" + line[1:]
            continue
        cur = None
        pid, dbname, level, text = m.groups()
        if dbname != db:
            continue
        if level == "LOG" and (text.startswith("statement: ") or text.startswith("execute ")):
            cur = {"pid": pid, "sql": text.split(": ", 1)[1], "params": ""}
            out.append(cur)
        elif level == "DETAIL" and text.startswith("parameters: ") and out and out[-1]["pid"] == pid:
            out[-1]["params"] = text[len("parameters: "):]
    for e in out:
        values = {int(n): v for n, v in PARAM.findall(e["params"])}
        for n in sorted(values, reverse=True):
            e["sql"] = re.sub(r"\$%d(?!\d)" % n, lambda _: values[n], e["sql"])
    return out


def count_statements(servers, st, path, db, peer_queries):
    counts, replay = {}, None
    for server in servers.ports:
        for workload, sizes in (("pool", (10, 50, 100)), ("parent", (50,))):
            for n in sizes:
                body = bodies_for(server, workload, st, n, peer_queries)
                call(servers.ports[server], body, st["member_token"])  # warm: prepared statements, token
                time.sleep(0.3)  # the log is written by another process; let it flush
                offset = os.path.getsize(path)
                call(servers.ports[server], body, st["member_token"])
                time.sleep(0.7)
                entries = logged_statements(path, offset, db)
                counts[f"{server}/{workload}/{n}"] = {"statements": len(entries),
                                                      "texts": [e["sql"][:200] for e in entries]}
                if server == "rust" and workload == "pool" and n == PAGE:
                    replay = [" ".join(e["sql"].split()) for e in entries]
    return counts, replay


def bodies_for(server, workload, st, n, peer_queries):
    if server == "rust":
        return rust_body(workload, st, n)
    return peer_queries.body(server, workload, st, n)


# --- load -------------------------------------------------------------------

def wrk(port, body_file, token, conc, duration):
    env = {**os.environ, "BODY_FILE": body_file, "TOKEN": token}
    r = subprocess.run(["wrk", "-t1", f"-c{conc}", f"-d{duration}s", "--timeout", "10s",
                        "-s", os.path.join(HERE, "post.lua"), f"http://127.0.0.1:{port}/graphql"],
                       env=env, capture_output=True, text=True, check=True)
    m = re.search(r"^RESULT (.*)$", r.stdout, re.M)
    res = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
    return res


def pgbench(db, script, conc, duration):
    r = subprocess.run(["pgbench", "-n", "-M", "prepared", "-f", script, "-c", str(conc), "-j", "1",
                        "-T", str(duration), db_url(db)], capture_output=True, text=True)
    tps = re.search(r"tps = ([\d.]+)", r.stdout)
    if r.returncode != 0 or not tps:
        raise SystemExit("pgbench failed: " + (r.stderr or r.stdout)[-2000:])
    return {"rps": float(tps.group(1))}


def backends(db):
    out = psql(db_url("postgres"),
               f"SELECT pid FROM pg_stat_activity WHERE datname = '{db}' AND pid <> pg_backend_pid()")
    return [int(x) for x in out.split()] if out else []


def busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


def measured(servers, server, body_file, token, conc, db):
    """One wrk run, with CPU per request of the server and of the database, and
    the share of the machine that anything else used meanwhile."""
    pid = servers.p[server].pid
    b0 = {b: cpu_ticks(b) for b in backends(db)}
    s0, c0, m0 = cpu_ticks(pid), resource.getrusage(resource.RUSAGE_CHILDREN), busy_ticks()
    res = wrk(servers.ports[server], body_file, token, conc, DURATION)
    m1, c1, s1 = busy_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN), cpu_ticks(pid)
    b1 = {b: cpu_ticks(b) for b in backends(db)}
    db_ticks = sum((t or 0) - (b0.get(b) or 0) for b, t in b1.items())
    wrk_ticks = (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime) * TICK
    n = max(res["requests"], 1)
    res["server_ms"] = (s1 - s0) * 1000 / TICK / n
    res["db_ms"] = db_ticks * 1000 / TICK / n
    res["wrk_ms"] = wrk_ticks * 1000 / TICK / n
    busy, total = m1[0] - m0[0], m1[1] - m0[1]
    res["others_pct"] = 100 * max(busy - (s1 - s0) - db_ticks - wrk_ticks, 0) / max(total, 1)
    return res


def profile(servers, files, st, work):
    """`perf record` of this server through one more pool-page run at 16
    clients: the symbols where its CPU time goes, flat (self time)."""
    data = os.path.join(work, "perf.data")
    extra = os.environ.get("PERF_RECORD", "").split()  # such as `--call-graph dwarf`
    rec = subprocess.Popen(["perf", "record", "-q", "-F", "999", *extra, "-o", data,
                            "-p", str(servers.p["rust"].pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wrk(servers.ports["rust"], files[("rust", "pool", PAGE)], st["member_token"], 16, DURATION)
    rec.send_signal(signal.SIGINT)
    rec.wait(30)
    report = subprocess.run(["perf", "report", "-q", "-i", data, "--no-children", "--sort", "dso,symbol",
                             "--stdio", "--percent-limit", "0.7"], capture_output=True, text=True).stdout
    path = os.path.join(work, "perf.txt")
    with open(path, "w") as f:
        f.write(report)
    log(f"profile of this server on pool/{PAGE} at c=16 (perf report -i {data}):")
    log(report.strip())
    return path


def load_peer_queries(peer_dir):
    spec = importlib.util.spec_from_file_location("peer_queries", os.path.join(peer_dir, "queries.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(api_bin, peer_dir):
    api_bin = os.path.abspath(api_bin)
    peer_queries = load_peer_queries(peer_dir) if peer_dir else None
    work = tempfile.mkdtemp(prefix="pages-bench.")
    db = f"bench_pages_{int(time.time())}"
    psql(db_url("postgres"), f"CREATE DATABASE {db}")
    log(f"database {db}; logs in {work}")
    results = {"db": db, "duration_s": DURATION, "cycles": CYCLES, "concurrency": CONCS, "runs": []}
    try:
        st = seed(api_bin, db, work)
        results["seed"] = {"members": st["members"], "pools": st["pools"]}
        log("seeded", results["seed"])

        replay = None
        path = pg_log_path()
        if path and os.access(path, os.R_OK):
            psql(db_url("postgres"), f"ALTER DATABASE {db} SET log_statement = 'all'")
            srv = Servers(api_bin, peer_dir, db, work, run_jobs="false")
            try:
                results["statements"], replay = count_statements(srv, st, path, db, peer_queries)
            finally:
                srv.stop()
                psql(db_url("postgres"), f"ALTER DATABASE {db} RESET log_statement")
        else:
            log("the PostgreSQL log is not readable (set PG_LOG): no statement counts and no ceiling")
        script = os.path.join(work, "replay.sql")
        if replay:
            with open(script, "w") as f:
                f.write("".join(s + ";\n" for s in replay))

        srv = Servers(api_bin, peer_dir, db, work)
        files = {}
        plan = [(s, w, PAGE) for w in ("pool", "parent") for s in srv.ports]
        plan += [] if SHORT else [("rust", "pool", 10), ("rust", "pool", 100)]
        for server, workload, n in plan:
            files[(server, workload, n)] = fn = os.path.join(work, f"{server}-{workload}-{n}.json")
            with open(fn, "w") as f:
                json.dump(bodies_for(server, workload, st, n, peer_queries), f)
        if "peer1" in srv.ports:
            for workload in ("pool", "parent"):
                ours = call(srv.ports["rust"], rust_body(workload, st, PAGE), st["member_token"])
                theirs = call(srv.ports["peer1"], bodies_for("peer1", workload, st, PAGE, peer_queries),
                              st["member_token"])
                same = json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
                results.setdefault("same_json", {})[workload] = same
                log(f"{workload}: same JSON as graphql-js: {same}")
        for server, workload, n in plan:  # warm-up, not counted
            wrk(srv.ports[server], files[(server, workload, n)], st["member_token"], 16, 2)
        for cycle in range(CYCLES):
            for conc in CONCS:
                for server, workload, n in plan:
                    res = measured(srv, server, files[(server, workload, n)], st["member_token"], conc, db)
                    res.update(cycle=cycle, conc=conc, server=server, workload=workload, n=n)
                    results["runs"].append(res)
                    log(f"cycle {cycle} c={conc} {server:6} {workload}/{n}: {res['rps']:7.0f} rps, "
                        f"p99 {res['p99_us'] / 1000:6.1f} ms, CPU {res['server_ms']:.3f} + {res['db_ms']:.3f} ms, "
                        f"non-2xx {res['non2xx']}, others {res['others_pct']:.0f}%")
                if replay:
                    res = pgbench(db, script, conc, DURATION)
                    res.update(cycle=cycle, conc=conc, server="pgbench", workload="pool", n=PAGE)
                    results["runs"].append(res)
                    log(f"cycle {cycle} c={conc} pgbench replay of the pool page: {res['rps']:7.0f} pages/s")
        if os.environ.get("PERF") == "1":
            results["profile"] = profile(srv, files, st, work)
        srv.stop()
    finally:
        for p in list(procs):
            stop(p)
        if os.environ.get("KEEP_DB") != "1":
            psql(db_url("postgres"), f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    out = os.environ.get("OUT_JSON") or os.path.join(work, "results.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
    print(table(results, peer_dir is not None))
    log(f"raw figures: {out}")


def table(results, with_peers):
    runs = results["runs"]

    def pick(server, workload, n, conc, key):
        return statistics.median([r[key] for r in runs if (r["server"], r["workload"], r["n"], r["conc"])
                                  == (server, workload, n, conc)] or [float("nan")])

    names = {"rust": "this server", **{k: v[0] for k, v in PEERS.items()}}
    bounds = []
    lines = ["| page | c | server | rps | p99 ms | server CPU ms/req | database CPU ms/req |"
             " server CPU ÷ graphql-js | total CPU ÷ graphql-js | p99 ÷ graphql-js |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for workload in ("pool", "parent"):
        for conc in results["concurrency"]:
            peer = {k: pick("peer1", workload, PAGE, conc, k) for k in ("server_ms", "db_ms", "p99_us")}
            for server in ["rust"] + (list(PEERS) if with_peers else []):
                s, d, p99 = (pick(server, workload, PAGE, conc, k) for k in ("server_ms", "db_ms", "p99_us"))
                ratios = ("", "", "")
                if with_peers and server != "peer1":
                    ratios = (f"{s / peer['server_ms']:.2f}", f"{(s + d) / (peer['server_ms'] + peer['db_ms']):.2f}",
                              f"{p99 / peer['p99_us']:.2f}")
                lines.append(f"| {workload}/{PAGE} | {conc} | {names[server]} | "
                             f"{pick(server, workload, PAGE, conc, 'rps'):.0f} | {p99 / 1000:.1f} | {s:.3f} | {d:.3f} | "
                             + " | ".join(ratios) + " |")
            if workload == "pool" and any(r["server"] == "pgbench" for r in runs):
                ceiling = pick("pgbench", "pool", PAGE, conc, "rps")
                ours = pick("rust", "pool", PAGE, conc, "rps")
                lines.append(f"| pool/{PAGE} | {conc} | pgbench replay of this server's statements | "
                             f"{ceiling:.0f} | | | | this server reaches {100 * ours / ceiling:.0f}% of it | | |")
                bounds.append(cpu_bound(pick, conc, ceiling, ours))
    if bounds:
        lines += [""] + bounds
    if "statements" in results:
        servers = ["rust"] + ([s for s in PEERS if f"{s}/pool/50" in results["statements"]] if with_peers else [])
        lines += ["", "| statements per request | " + " | ".join(names[s] for s in servers) + " |",
                  "|---|" + "---|" * len(servers)]
        for w in ("pool/10", "pool/50", "pool/100", "parent/50"):
            lines.append(f"| {w} | " + " | ".join(
                str(results["statements"].get(f"{s}/{w}", {}).get("statements", "")) for s in servers) + " |")
    return "\n".join(lines)


def cpu_bound(pick, conc, ceiling, ours):
    """What the machine's cores allow this server on the pool page, when it,
    its database and the load generator share them: the ceiling above gives
    the database every core, which a server on the same machine cannot."""
    cores = os.cpu_count() or 1
    s, d, w = (pick("rust", "pool", PAGE, conc, k) for k in ("server_ms", "db_ms", "wrk_ms"))
    bound = cores * 1000 / (s + d + w)
    budget = cores * 1000 / (0.7 * ceiling) - d - w
    return (f"c={conc}: on {cores} cores, {s:.3f} + {d:.3f} + {w:.3f} ms of CPU per pool page (this server, its "
            f"database, wrk) allow at most {bound:.0f} pages/s; this server reaches {100 * ours / bound:.0f}% of that. "
            f"Reaching 70% of the pgbench ceiling here would need at most {budget:.3f} ms of server CPU per page.")


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    finally:
        for p in list(procs):
            stop(p)
