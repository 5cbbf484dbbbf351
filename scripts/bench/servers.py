"""More servers on one PostgreSQL: 1, 2 and 4 release servers share one
database under a mixed read/write workload while their workers deliver a
steady stream of webhooks; reports throughput, CPU per request of the
servers and of the database, where the database waits, and that every job
ran exactly once.

  python3 scripts/bench/servers.py API_BIN      (scripts/bench/servers calls it)

The workload: the pool page of the page benchmark (a member's view: pool,
groups, 50 members, balances) and, every WRITE_EVERY-th request, an
admin's `recordLedgerAdjustment` (a ledger entry and an audit event, under
the pool's lock, so writes to one pool are serialised) on one of
WRITE_POOLS other pools in turn (the page's own balances stay as seeded;
WRITE_POOLS=1 puts every write on one pool, the worst case of the lock).
The load generator spreads connections: one wrk per server, CONNECTIONS split between them.
Meanwhile JOBS_PER_SECOND `deliver_webhook` jobs a second are queued (as
the outbox writes them) for a receiver in this script; after each run the
script waits for all of them and checks each arrived once, each job ran
once, and which worker ran it.

The servers run with APP_ENV=development only so that the receiver may be
plain http on loopback (production allows https webhooks only); nothing
else on these paths differs. Runs for 1, 2 and 4 servers are interleaved,
CYCLES times, and figures are medians over cycles. This machine is shared:
compare within a run, and read the "others" column (CPU used by anything
else meanwhile).
"""
import collections
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pages
from common import TICK, cpu_ticks, free_port, post, psql
from pages import PASSWORD, SECRET, db_url, log, procs, start, stop

HERE = os.path.dirname(os.path.abspath(__file__))
DURATION = int(os.environ.get("DURATION", "10"))
CYCLES = int(os.environ.get("CYCLES", "2"))
COUNTS = [int(n) for n in os.environ.get("SERVERS", "1,2,4").split(",")]
CONNECTIONS = int(os.environ.get("CONNECTIONS", "32"))
WRITE_EVERY = int(os.environ.get("WRITE_EVERY", "10"))
JOBS_PER_SECOND = int(os.environ.get("JOBS_PER_SECOND", "100"))
WRITE_POOLS = int(os.environ.get("WRITE_POOLS", "8"))
DB_CONNECTIONS = os.environ.get("DATABASE_MAX_CONNECTIONS", "10")

WRITE = """mutation Adjust($i: RecordLedgerAdjustmentInput!) {
  recordLedgerAdjustment(input: $i) { id amount { amount currency } }
}"""


# --- the webhook receiver --------------------------------------------------

arrivals = collections.Counter()
arrivals_lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with arrivals_lock:
            arrivals[self.headers["x-pools-event-id"]] += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class ReceiverServer(ThreadingHTTPServer):
    request_queue_size = 1024  # a burst of deliveries must not meet dropped SYNs
    daemon_threads = True


def queue_jobs(db, pool, endpoint, count):
    """`count` events, deliveries and their jobs in one transaction, as the outbox writes them."""
    psql(db_url(db), f"""
      WITH ev AS (
        INSERT INTO webhook_events (id, kind, pool_id, payload, created_at)
        SELECT g.id, 'member.joined', '{pool}', json_build_object('id', g.id, 'type', 'member.joined')::text,
               clock_timestamp()
        FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, {count})) g
        RETURNING id),
      d AS (
        INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, attempts, created_at, updated_at)
        SELECT gen_random_uuid(), '{endpoint}', id, 'PENDING', 0, now(), now() FROM ev RETURNING id)
      INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
      SELECT gen_random_uuid(), 'deliver_webhook', json_build_object('deliveryId', d.id)::text, 'PENDING', 0, 10,
             now(), now(), now() FROM d;
      NOTIFY pools_jobs;""")


class Feeder(threading.Thread):
    """Queues up to JOBS_PER_SECOND jobs a second, in five batches, until stopped."""

    def __init__(self, db, pool, endpoint):
        super().__init__(daemon=True)
        self.db, self.pool, self.endpoint = db, pool, endpoint
        self.queued, self.halt = 0, threading.Event()

    def run(self):
        batch = max(JOBS_PER_SECOND // 5, 1)
        while not self.halt.wait(0.2):
            queue_jobs(self.db, self.pool, self.endpoint, batch)
            self.queued += batch


class Waits(threading.Thread):
    """Samples what the benchmark database's active backends are doing."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db, self.samples, self.seen, self.halt = db, 0, collections.Counter(), threading.Event()

    def run(self):
        while not self.halt.wait(0.25):
            out = psql(db_url("postgres"), f"""
              SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU'), count(*)
              FROM pg_stat_activity WHERE datname = '{self.db}' AND state = 'active'
                AND pid <> pg_backend_pid() GROUP BY 1""")
            self.samples += 1
            for line in out.splitlines():
                what, n = line.rsplit("|", 1)
                self.seen[what] += int(n)

    def mean(self):
        return {k: v / max(self.samples, 1) for k, v in self.seen.most_common()}


# --- servers and load ------------------------------------------------------

def start_servers(api_bin, db, work, count):
    out = []
    for i in range(count):
        port = free_port()
        p = start(f"server{i}", [api_bin], {
            "DATABASE_URL": db_url(db), "LISTEN_ADDR": f"127.0.0.1:{port}", "AUTH_SECRET": SECRET,
            "RUST_LOG": "warn", "RUN_JOBS": "true", "OUTBOUND_ALLOW_PRIVATE": "true",
            "DATABASE_MAX_CONNECTIONS": DB_CONNECTIONS}, work, port, work)
        out.append((p, port))
    return out


def wrk_many(servers, files, tokens, duration):
    """One wrk per server, the connections split between them, all at once."""
    per = max(CONNECTIONS // len(servers), 1)
    env = {**os.environ, "READ_BODY": files["read"], "WRITE_BODY": files["write"],
           "READ_TOKEN": tokens["member"], "WRITE_TOKEN": tokens["admin"], "WRITE_EVERY": str(WRITE_EVERY),
           "WRITE_POOLS": ",".join(files["write_pools"])}
    runs = [subprocess.Popen(["wrk", "-t1", f"-c{per}", f"-d{duration}s", "--timeout", "10s",
                              "-s", os.path.join(HERE, "mixed.lua"), f"http://127.0.0.1:{port}/graphql"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _, port in servers]
    results = []
    for r in runs:
        out, err = r.communicate()
        line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
        if r.returncode != 0 or line is None:
            raise SystemExit(f"wrk failed: {err or out}")
        results.append({k: int(v) for k, v in (kv.split("=") for kv in line[7:].split())})
    return results


def job_checks(db, since):
    """What the jobs of this run became: counted in the database."""
    q = f"FROM jobs WHERE kind = 'deliver_webhook' AND created_at >= '{since}'"
    rows = psql(db_url(db), f"SELECT status, attempts, count(*) {q} GROUP BY 1, 2 ORDER BY 1, 2")
    workers = psql(db_url(db), f"SELECT count(*) {q} GROUP BY locked_by ORDER BY 1 DESC")
    return {"status_attempts": [line.split("|") for line in rows.splitlines()],
            "per_worker": [int(x) for x in workers.split()]}


def wait_delivered(db, since, queued, timeout=300):
    deadline = time.time() + timeout
    q = (f"SELECT count(*) FROM jobs WHERE kind = 'deliver_webhook' AND created_at >= '{since}' "
         "AND status IN ('DONE', 'DEAD')")
    while time.time() < deadline:
        if int(psql(db_url(db), q)) >= queued:
            return
        time.sleep(0.2)
    stuck = psql(db_url(db), "SELECT id, status, attempts, locked_by, locked_at FROM jobs "
                             f"WHERE created_at >= '{since}' AND status NOT IN ('DONE', 'DEAD') LIMIT 10")
    busy = psql(db_url("postgres"), "SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid), "
                                    "now() - state_change, left(query, 200) FROM pg_stat_activity "
                                    f"WHERE datname = '{db}' AND state <> 'idle'")
    raise SystemExit(f"the jobs of this run did not finish within {timeout} s:\n{stuck}\n{busy}")


def measured(api_bin, db, work, count, files, tokens, st):
    servers = start_servers(api_bin, db, work, count)
    try:
        wrk_many(servers, files, tokens, 2)  # warm-up: connections, prepared statements
        wait_delivered(db, "-infinity", 0)
        since = psql(db_url(db), "SELECT clock_timestamp()")
        with arrivals_lock:
            arrivals.clear()
        feeder, waits = Feeder(db, st["pool"], st["endpoint"]), Waits(db)
        b0 = {b: cpu_ticks(b) for b in pages.backends(db)}
        s0 = [cpu_ticks(p.pid) for p, _ in servers]
        c0, me0, m0 = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF), \
            pages.busy_ticks()
        feeder.start()
        waits.start()
        runs = wrk_many(servers, files, tokens, DURATION)
        feeder.halt.set()
        waits.halt.set()
        feeder.join()
        waits.join()
        m1, me1, c1 = pages.busy_ticks(), resource.getrusage(resource.RUSAGE_SELF), \
            resource.getrusage(resource.RUSAGE_CHILDREN)
        s1 = [cpu_ticks(p.pid) for p, _ in servers]
        b1 = {b: cpu_ticks(b) for b in pages.backends(db)}
        drain_start = time.time()
        wait_delivered(db, since, feeder.queued)
        drained_after = time.time() - drain_start
        jobs = job_checks(db, since)
    finally:
        for p, _ in servers:
            stop(p)
    with arrivals_lock:
        seen = dict(arrivals)
    requests = sum(r["requests"] for r in runs)
    duration = max(r["duration_us"] for r in runs) / 1e6
    server_ticks = sum(b - a for a, b in zip(s0, s1))
    db_ticks = sum((t or 0) - (b0.get(b) or 0) for b, t in b1.items())
    own = (me1.ru_utime + me1.ru_stime - me0.ru_utime - me0.ru_stime
           + c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime) * TICK
    busy, total = m1[0] - m0[0], m1[1] - m0[1]
    n = max(requests, 1)
    return {
        "servers": count, "connections": CONNECTIONS, "requests": requests,
        "rps": requests / duration, "writes_per_s": sum(r["writes"] for r in runs) / duration,
        "p99_us": max(r["p99_us"] for r in runs), "p50_us": statistics.median(r["p50_us"] for r in runs),
        "non2xx": sum(r["non2xx"] for r in runs), "socket_errors": sum(r["errors"] for r in runs),
        "graphql_errors": sum(r["graphql_errors"] for r in runs),
        "server_ms": server_ticks * 1000 / TICK / n, "db_ms": db_ticks * 1000 / TICK / n,
        # Shares of the whole machine (all cores) over the run.
        "server_pct": 100 * server_ticks / max(total, 1), "db_pct": 100 * db_ticks / max(total, 1),
        "load_pct": 100 * own / max(total, 1), "busy_pct": 100 * busy / max(total, 1),
        "others_pct": 100 * max(busy - server_ticks - db_ticks - own, 0) / max(total, 1),
        "waits": waits.mean(),
        # What the feeder managed (psql per batch falls behind on a busy machine).
        "jobs_per_s": feeder.queued / duration,
        "jobs": {"queued": feeder.queued, "arrived": sum(seen.values()), "distinct": len(seen),
                 "twice_or_more": sum(1 for v in seen.values() if v > 1), "drained_after_s": drained_after,
                 **jobs},
    }


def setup(api_bin, db, work, receiver_port):
    st = pages.seed(api_bin, db, work)
    if WRITE_POOLS > st["pools"] - 1:
        raise SystemExit(f"WRITE_POOLS={WRITE_POOLS} needs POOLS of at least {WRITE_POOLS}")
    # The founder administers the first WRITE_POOLS of the seeded pools too.
    psql(db_url(db), f"""
      INSERT INTO memberships (id, pool_id, user_id, email, display_name, stakeholder_group_id, role,
          status, joined_via, joined_at, created_at, updated_at, shares_held)
      SELECT gen_random_uuid(), p.id, u.id, u.email, u.display_name, g.id, 'ADMIN', 'ACTIVE', 'OPEN',
             now(), now(), now(), 0
      FROM pools p JOIN stakeholder_groups g ON g.pool_id = p.id AND g.key = 'workers',
           users u
      WHERE u.email = 'founder@bench.example'
        AND p.slug IN ({", ".join(f"'pool-{n}'" for n in range(1, WRITE_POOLS + 1))})""")
    write_pools = psql(db_url(db), "SELECT pool_id FROM memberships m JOIN users u ON u.id = m.user_id "
                                   f"WHERE u.email = 'founder@bench.example' AND pool_id <> '{st['pool']}'").split()
    (p, port), = start_servers(api_bin, db, work, 1)
    url = f"http://127.0.0.1:{port}"
    admin = post(url, "mutation($i: SignInInput!) { signIn(input: $i) { token } }",
                 {"i": {"email": "founder@bench.example", "password": PASSWORD}})["signIn"]["token"]
    st["endpoint"] = post(url, """mutation($i: CreateWebhookEndpointInput!) {
        createWebhookEndpoint(input: $i) { endpoint { id } } }""",
                          {"i": {"poolId": st["pool"], "url": f"http://127.0.0.1:{receiver_port}/hooks",
                                 "events": ["member.joined"]}}, admin)["createWebhookEndpoint"]["endpoint"]["id"]
    stop(p)
    tokens = {"member": st["member_token"], "admin": admin}
    files = {"read": os.path.join(work, "read.json"), "write": os.path.join(work, "write.json"),
             "write_pools": write_pools}
    with open(files["read"], "w") as f:
        json.dump(pages.rust_body("pool", st, pages.PAGE), f)
    with open(files["write"], "w") as f:
        json.dump({"query": WRITE, "variables": {"i": {
            "poolId": "__POOL__", "amount": 1, "currency": "EUR", "reference": "bench",
            "description": "A benchmark adjustment"}}}, f)
    return st, tokens, files


def main(api_bin):
    api_bin = os.path.abspath(api_bin)
    work = tempfile.mkdtemp(prefix="servers-bench.")
    db = f"bench_servers_{int(time.time())}"
    psql(db_url("postgres"), f"CREATE DATABASE {db}")
    log(f"database {db}; logs in {work}")
    receiver_port = free_port()
    receiver = ReceiverServer(("127.0.0.1", receiver_port), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    results = {"db": db, "duration_s": DURATION, "cycles": CYCLES, "connections": CONNECTIONS,
               "write_every": WRITE_EVERY, "write_pools": WRITE_POOLS, "jobs_per_second": JOBS_PER_SECOND, "cpus": os.cpu_count(),
               "runs": []}
    try:
        st, tokens, files = setup(api_bin, db, work, receiver_port)
        for cycle in range(CYCLES):
            # Every write adds a ledger entry the page sums: alternating the
            # order keeps the growing ledger from favouring one server count.
            for count in (COUNTS if cycle % 2 == 0 else COUNTS[::-1]):
                res = measured(api_bin, db, work, count, files, tokens, st)
                res["cycle"] = cycle
                results["runs"].append(res)
                j = res["jobs"]
                log(f"cycle {cycle} servers={count}: {res['rps']:6.0f} rps ({res['writes_per_s']:.0f} writes/s), "
                    f"p99 {res['p99_us'] / 1000:.1f} ms, CPU {res['server_ms']:.2f} + {res['db_ms']:.2f} ms/req, "
                    f"busy {res['busy_pct']:.0f}%, errors {res['non2xx'] + res['socket_errors'] + res['graphql_errors']}, "
                    f"jobs {j['arrived']}/{j['queued']} once each: {j['twice_or_more'] == 0}, "
                    f"per worker {j['per_worker']}, others {res['others_pct']:.0f}%")
    finally:
        for p in list(procs):
            stop(p)
        receiver.shutdown()
        if os.environ.get("KEEP_DB") != "1":
            psql(db_url("postgres"), f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    out = os.environ.get("OUT_JSON") or os.path.join(work, "results.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
    print(table(results))
    log(f"raw figures: {out}")
    failed = [r for r in results["runs"] if not exactly_once(r)]
    if failed:
        raise SystemExit(f"{len(failed)} runs had a job that did not run exactly once")


def exactly_once(r):
    j = r["jobs"]
    return (j["arrived"] == j["distinct"] == j["queued"] and j["twice_or_more"] == 0
            and j["status_attempts"] == [["DONE", "1", str(j["queued"])]])


def table(results):
    runs = results["runs"]

    def med(count, key):
        return statistics.median([r[key] for r in runs if r["servers"] == count])

    base = med(COUNTS[0], "rps")
    lines = [f"{results['connections']} connections, one write in {results['write_every']} requests "
             f"(on {results['write_pools']} pools), "
             f"{results['jobs_per_second']} webhook jobs/s queued meanwhile; {results['cpus']} CPUs; "
             f"medians of {results['cycles']} cycles of {results['duration_s']} s",
             "",
             "| servers | rps | writes/s | p50 ms | p99 ms | server CPU ms/req | database CPU ms/req |"
             f" servers % of machine | database % | load generator % | others % | rps ÷ {COUNTS[0]} server |"
             " jobs queued/s | jobs once each | jobs per worker (last cycle) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for count in COUNTS:
        last = [r for r in runs if r["servers"] == count][-1]
        once = all(exactly_once(r) for r in runs if r["servers"] == count)
        lines.append(
            f"| {count} | {med(count, 'rps'):.0f} | {med(count, 'writes_per_s'):.0f} | "
            f"{med(count, 'p50_us') / 1000:.1f} | {med(count, 'p99_us') / 1000:.1f} | "
            f"{med(count, 'server_ms'):.2f} | {med(count, 'db_ms'):.2f} | {med(count, 'server_pct'):.0f} | "
            f"{med(count, 'db_pct'):.0f} | {med(count, 'load_pct'):.0f} | {med(count, 'others_pct'):.0f} | "
            f"{med(count, 'rps') / base:.2f} | {med(count, 'jobs_per_s'):.0f} | {'yes' if once else 'NO'} | "
            f"{last['jobs']['per_worker']} |")
    lines += ["", "What the database's active backends were doing (mean number at a sample, last cycle):", ""]
    for count in COUNTS:
        last = [r for r in runs if r["servers"] == count][-1]
        lines.append(f"- {count} servers: " + ", ".join(f"{k} {v:.2f}" for k, v in list(last["waits"].items())[:6]))
    s, d = med(COUNTS[-1], "server_ms"), med(COUNTS[-1], "db_ms")
    lines += ["", "An estimate for 16 cores, from these per-request figures (CPU scales, the pool's lock does not):",
              f"- a 16-core database alone: about {16 * 1000 / d:.0f} requests/s of this mix at full CPU "
              f"(16 000 ms/s ÷ {d:.2f} ms), before contention",
              f"- servers to feed it: about {16 * 1000 / d * s / 1000:.1f} cores of server CPU "
              f"({s:.2f} ms per request)",
              f"- one 16-core machine running both: about {16 * 1000 / (s + d):.0f} requests/s "
              f"(16 000 ÷ {s + d:.2f} ms)"]
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    finally:
        for p in list(procs):
            stop(p)
