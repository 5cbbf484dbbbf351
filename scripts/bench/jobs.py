"""Job queue benchmark: throughput through the queue with one server and
with two on the same PostgreSQL database, and webhook delivery latency.

  python3 scripts/bench/jobs.py API_BIN PGURL

Deliveries are queued straight in the database (an endpoint, events,
deliveries and their jobs, as the outbox writes them) and received by a
local HTTP server that answers 200 at once. Throughput: N jobs committed
at once, timed until the last is received. Latency: one event at a time;
each payload carries the database's commit-time clock, and the receiver
subtracts it from its arrival time (same machine, same clock).
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import free_port

received = []
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    # Keep-alive, as real receivers do, so the receiver is not the bottleneck.
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        now = time.time()
        event = json.loads(body)
        with lock:
            received.append((event["id"], now, event.get("createdAt")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class ReceiverServer(ThreadingHTTPServer):
    # The default backlog of 5 drops connections a batch of deliveries
    # opens at once, and each dropped SYN costs a one-second retransmit.
    request_queue_size = 1024
    daemon_threads = True


def psql(pg, sql):
    subprocess.run(["psql", "-qAt", "-v", "ON_ERROR_STOP=1", pg, "-c", sql], check=True,
                   capture_output=True, text=True)


def start_server(api_bin, pg, extra=None):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=pg, LISTEN_ADDR=f"127.0.0.1:{port}",
               AUTH_SECRET="bench-secret-bench-secret-bench-secret", RUST_LOG="warn",
               JOB_BATCH="8", JOB_POLL_INTERVAL_MS="500", **(extra or {}))
    proc = subprocess.Popen([api_bin], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


def queue(pg, endpoint, count):
    """Writes `count` events, deliveries and jobs in one transaction."""
    psql(pg, f"""
      WITH ev AS (
        INSERT INTO webhook_events (id, kind, payload, created_at)
        SELECT g.id, 'member.joined',
               json_build_object('id', g.id, 'type', 'member.joined', 'createdAt',
                 to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
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


def wait_for(count, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with lock:
            if len(received) >= count:
                return
        time.sleep(0.005)
    raise SystemExit(f"only {len(received)} of {count} deliveries arrived")


def throughput(api_bin, pg, endpoint, servers, count):
    procs = [start_server(api_bin, pg) for _ in range(servers)]
    try:
        time.sleep(1)
        with lock:
            received.clear()
        start = time.time()
        queue(pg, endpoint, count)
        wait_for(count)
        elapsed = time.time() - start
        time.sleep(0.5)
        with lock:
            ids = [r[0] for r in received]
        assert len(ids) == len(set(ids)) == count, "each job exactly once"
        return count / elapsed
    finally:
        for p in procs:
            p.terminate()
            p.wait()


def latency(api_bin, pg, endpoint, samples):
    proc = start_server(api_bin, pg)
    try:
        time.sleep(1)
        lat = []
        for i in range(samples):
            with lock:
                received.clear()
            queue(pg, endpoint, 1)
            wait_for(1)
            with lock:
                _, arrived, created = received[0]
            created = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=__import__("datetime").timezone.utc).timestamp()
            lat.append((arrived - created) * 1000)
            time.sleep(0.02)
        lat.sort()
        return {"p50_ms": round(statistics.median(lat), 1),
                "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1), "samples": samples}
    finally:
        proc.terminate()
        proc.wait()


def main():
    api_bin, base = sys.argv[1], sys.argv[2].rstrip("/")
    count = int(os.environ.get("JOBS", "3000"))
    subprocess.run(["psql", "-q", f"{base}/postgres", "-c", "DROP DATABASE IF EXISTS bench_jobs",
                    "-c", "CREATE DATABASE bench_jobs"], check=True, capture_output=True)
    pg = f"{base}/bench_jobs"
    port = free_port()
    server = ReceiverServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Migrations run when the first server starts.
    start_server(api_bin, pg).terminate()
    time.sleep(1)
    endpoint = "01a20000-0000-7000-8000-000000000001"
    psql(pg, f"""INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at)
                 VALUES ('01a20000-0000-7000-8000-000000000002', 'bench@example.org', 'Bench', 'x', now(), now());
                 INSERT INTO webhook_endpoints (id, url, events, created_by, created_at)
                 VALUES ('{endpoint}', 'http://127.0.0.1:{port}/', '["member.joined"]',
                         '01a20000-0000-7000-8000-000000000002', now());""")
    results = {}
    for run in range(3):
        for servers in (1, 2):
            results.setdefault(servers, []).append(throughput(api_bin, pg, endpoint, servers, count))
    one = statistics.median(results[1])
    two = statistics.median(results[2])
    print(f"jobs per run: {count}; medians of 3 runs, alternating")
    print(f"one server: {one:.0f} jobs/s   runs {[round(x) for x in results[1]]}")
    print(f"two servers: {two:.0f} jobs/s   runs {[round(x) for x in results[2]]}")
    print(f"two / one: {two / one:.2f}")
    print("webhook delivery latency (commit to receipt):", json.dumps(latency(api_bin, pg, endpoint, 300)))


if __name__ == "__main__":
    main()
