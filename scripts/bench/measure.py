"""Drives the parent-view benchmark against a running release server.

  measure.py setup URL STATE      signs up a steward and an auditor, registers
                                  a parent entity; writes their ids to STATE
  measure.py run URL STATE PID PGURL
                                  times the report, audit pages and a full
                                  ledger export against a baseline, samples the
                                  server's memory, and prints query plans

Latencies are medians of repeated sequential requests. Every figure is also
given as a ratio to the baseline (GET /healthz) measured in the same run,
because the machine is shared and absolute times drift.
"""
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone

PASSWORD = "correct horse battery"


def post(url, query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url + "/graphql", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=600) as res:
        data = json.loads(res.read())
    if data.get("errors"):
        raise SystemExit(f"GraphQL error: {data['errors']}")
    return data["data"]


def sign_up(url, email):
    data = post(url, "mutation($i: SignUpInput!) { signUp(input: $i) { token user { id } } }",
                {"i": {"email": email, "password": PASSWORD, "displayName": email.split("@")[0]}})
    return data["signUp"]["token"], data["signUp"]["user"]["id"]


def setup(url, state_path):
    steward, steward_id = sign_up(url, "steward@bench.example")
    auditor, auditor_id = sign_up(url, "auditor@bench.example")
    parent = post(url, "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
                  {"i": {"name": "Bench Co-op", "jurisdiction": "ES", "legalForm": "Cooperativa",
                         "registrationNumber": "BENCH-1", "approvalPolicy": "MANUAL"}}, steward)
    parent_id = parent["registerParentEntity"]["id"]
    post(url, "mutation($i: GrantParentEntityRoleInput!) { grantParentEntityRole(input: $i) { id } }",
         {"i": {"parentEntityId": parent_id, "email": "auditor@bench.example", "role": "AUDITOR"}}, steward)
    with open(state_path, "w") as f:
        json.dump({"parent": parent_id, "steward": steward_id, "steward_token": steward,
                   "auditor": auditor_id, "auditor_token": auditor}, f)
    print(f"parent {parent_id} steward {steward_id}")


def timed(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return {"median_ms": statistics.median(times) * 1000, "max_ms": times[-1] * 1000, "runs": runs}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


REPORT = """query($id: ID!, $from: DateTime!, $to: DateTime!) { parentEntity(id: $id) { report(from: $from, to: $to) {
  totals { members joins leaves proposalsHeld proposalsPassed membersByGroup { name members }
    money { currency contributionIncome parentShare expenses adjustments balance } }
  poolsByStatus { status pools } openFormations { drafts submitted oldestSubmittedAgeDays }
  pools(first: 50) { edges { node { pool { id name } figures { members joins leaves proposalsHeld
    money { currency contributionIncome parentShare expenses balance } } } } } } } }"""

EVENTS = """query($i: AuditEventsInput!) { auditEvents(input: $i, first: 50) {
  edges { node { id seq occurredAt action actor { id } entityType poolId changes hash } } pageInfo { hasNextPage } } }"""

VERIFY = """query($id: ID!, $since: AuditCheckpointInput) { verifyAuditTrail(parentEntityId: $id, since: $since) {
  valid eventsChecked headSeq headHash firstBreak { seq problem }
  ledger { entriesChecked findingCount findings { kind entryId problem } } } }"""


def run(url, state_path, pid, pg_url):
    with open(state_path) as f:
        st = json.load(f)
    token = st["auditor_token"]
    now = datetime.now(timezone.utc)
    year = {"id": st["parent"], "from": (now - timedelta(days=365)).isoformat(), "to": now.isoformat()}
    results = {}

    def healthz():
        with urllib.request.urlopen(url + "/healthz") as r:
            r.read()

    results["baseline GET /healthz"] = timed(healthz, 50)
    results["{ me { id } }"] = timed(lambda: post(url, "{ me { id } }", token=token), 50)
    report = post(url, REPORT, year, token)["parentEntity"]["report"]
    results["report, one year, totals + 50 pools"] = timed(lambda: post(url, REPORT, year, token), 10)
    pool_id = report["pools"]["edges"][0]["node"]["pool"]["id"]
    filters = {
        "auditEvents page: parent + action + last 90 days": {
            "parentEntityId": st["parent"], "action": "member.joined",
            "from": (now - timedelta(days=90)).isoformat()},
        "auditEvents page: parent + actor": {"parentEntityId": st["parent"], "actorId": first_actor(url, st)},
        "auditEvents page: one pool": {"poolId": pool_id},
        "auditEvents page: parent, newest first (last: 50)": None,
    }
    for name, flt in filters.items():
        if flt is None:
            q = EVENTS.replace("first: 50", "last: 50")
            results[name] = timed(lambda: post(url, q, {"i": {"parentEntityId": st["parent"]}}, token), 20)
        else:
            results[name] = timed(lambda f=flt: post(url, EVENTS, {"i": f}, token), 20)

    # The whole chain walked and every hash recomputed (the seed's events
    # carry real hashes once scripts/bench/rehash.py has run).
    verify = post(url, VERIFY, {"id": st["parent"]}, token)["verifyAuditTrail"]
    # Beside the walk, the first 100,000 ledger entries are checked
    # against their events (the seed's are marked as written before binding).
    results[f"verifyAuditTrail, {verify['eventsChecked']} events and "
            f"{verify['ledger']['entriesChecked']} ledger entries"] = timed(
        lambda: post(url, VERIFY, {"id": st["parent"]}, token), 3)
    if not verify["valid"]:
        print("verifyAuditTrail stopped early:", json.dumps(verify["firstBreak"]),
              json.dumps(verify["ledger"]["findings"][:3]))

    # From a checkpoint 100,000 events before the head, as a steward who
    # verified before and kept that result's headSeq and headHash would.
    seq = max(verify["headSeq"] - 100_000, 1)
    sql = f"SELECT hash FROM audit_events WHERE chain_key = '{st['parent']}' AND seq = {seq}"
    anchor = subprocess.run(["psql", "-qAt", pg_url, "-c", sql],
                            capture_output=True, text=True, check=True).stdout.strip()
    since = {"id": st["parent"], "since": {"seq": seq, "hash": anchor}}
    resumed = post(url, VERIFY, since, token)["verifyAuditTrail"]
    results[f"verifyAuditTrail since a checkpoint, {resumed['eventsChecked']} events"] = timed(
        lambda: post(url, VERIFY, since, token), 5)
    if not resumed["valid"]:
        print("verifyAuditTrail from the checkpoint stopped early:", json.dumps(resumed["firstBreak"]))

    # The full ledger export, while the server's memory is sampled.
    before = rss_kib(pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    req = urllib.request.Request(f"{url}/exports/parent-entities/{st['parent']}/ledger.csv")
    req.add_header("Authorization", "Bearer " + token)
    start = time.perf_counter()
    rows = 0
    size = 0
    with urllib.request.urlopen(req, timeout=3600) as res:
        while True:
            chunk = res.read(1 << 16)
            if not chunk:
                break
            size += len(chunk)
            rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    export = {"rows": rows - 1, "bytes": size, "seconds": round(elapsed, 2),
              "rows_per_second": round((rows - 1) / elapsed), "rss_before_kib": before,
              "rss_peak_kib": peak[0], "rss_growth_kib": peak[0] - before}

    base = results["baseline GET /healthz"]["median_ms"]
    print("\n| measurement | median | max | ratio to baseline |\n|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['median_ms']:.1f} ms | {r['max_ms']:.1f} ms | {r['median_ms'] / base:.0f}x |")
    print("\nfull ledger export:", json.dumps(export))
    print("\nreport totals:", json.dumps(report["totals"]["money"]), "members", report["totals"]["members"])
    explain(pg_url, st["parent"], now)


def first_actor(url, st):
    data = post(url, EVENTS, {"i": {"parentEntityId": st["parent"], "action": "vote.cast"}}, st["auditor_token"])
    return data["auditEvents"]["edges"][0]["node"]["actor"]["id"]


def explain(pg_url, parent, now):
    """The plans of the report's two heaviest queries, as the server runs them."""
    frm = (now - timedelta(days=365)).isoformat()
    to = now.isoformat()
    queries = {
        "ledger sums (report totals)": f"""
SELECT NULL AS k, l.currency AS currency, l.kind AS kind,
  CAST(COALESCE(SUM(l.amount_minor) FILTER (WHERE l.occurred_at >= '{frm}'), 0) AS BIGINT) AS in_period,
  CAST(COALESCE(SUM(l.amount_minor), 0) AS BIGINT) AS total
FROM ledger_entries l JOIN pools p ON p.id = l.pool_id
WHERE p.parent_entity_id = '{parent}' AND l.occurred_at < '{to}'
GROUP BY l.currency, l.kind ORDER BY l.currency, l.kind""",
        "member counts (report totals)": f"""
SELECT NULL AS k, g.kind AS kind,
  COUNT(*) FILTER (WHERE m.left_at IS NULL OR m.left_at >= '{to}') AS members,
  COUNT(*) FILTER (WHERE m.joined_at >= '{frm}') AS joins,
  COUNT(*) FILTER (WHERE m.left_at >= '{frm}' AND m.left_at < '{to}') AS leaves
FROM memberships m JOIN pools p ON p.id = m.pool_id JOIN stakeholder_groups g ON g.id = m.stakeholder_group_id
WHERE p.parent_entity_id = '{parent}' AND m.joined_at IS NOT NULL AND m.joined_at < '{to}'
GROUP BY g.kind ORDER BY g.kind""",
    }
    for name, sql in queries.items():
        out = subprocess.run(["psql", "-qAt", pg_url, "-c", "EXPLAIN (ANALYZE, BUFFERS) " + sql],
                             capture_output=True, text=True, check=True).stdout
        print(f"\n{name}:\n{out}")


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3])
    else:
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
