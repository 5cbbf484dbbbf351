"""Mail through the queue: messages per second from committed `send_mail`
jobs to a local SMTP server (aiosmtpd, scripts/run_smtp.py), and what an
SMTP server down for a minute does to the queue.

  python3 scripts/bench/mail.py API_BIN PGURL [COUNT]

Accounts and their jobs are written straight into a fresh database (as
`changePassword` queues them: a "your password was changed" notice per
account), COUNT at once in one transaction, timed until the SMTP server
has received the last. As a baseline from the same run, the same number
of messages of similar size is sent straight to the same SMTP server by
eight Python clients (the job worker runs eight jobs at once), each over
one connection: the SMTP server's own ceiling here. The outage: the server starts with SMTP_URL
pointing at a port where nothing listens, 200 jobs are queued, and the
SMTP server starts on that port a minute later; reported are the time
until the last message arrives after that, the attempts the jobs took,
and how many died (none should).
"""
import json
import os
import smtplib
from concurrent.futures import ThreadPoolExecutor
import subprocess
import sys
import time
import urllib.request
import uuid

from common import free_port, psql, wait_for_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")


def start_smtp(smtp_port, http_port):
    proc = subprocess.Popen([PYTHON, os.path.join(ROOT, "scripts", "run_smtp.py"),
                             str(smtp_port), str(http_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(http_port, proc)
    wait_for_port(smtp_port, proc)
    return proc


def delivered(http_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/count", timeout=10) as res:
        return json.loads(res.read())["count"]


def start_server(api_bin, db_url, smtp_port):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=db_url, LISTEN_ADDR=f"127.0.0.1:{port}",
               AUTH_SECRET="bench-secret-bench-secret-bench-secret", RUST_LOG="warn",
               SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", JOB_POLL_INTERVAL_MS="500")
    proc = subprocess.Popen([api_bin], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for_port(port, proc)
    return proc


def queue(db_url, count):
    """COUNT accounts, and a notice job for each, in one transaction."""
    psql(db_url, f"""
      WITH u AS (
        INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at,
                           email_confirmed_at, locale)
        SELECT gen_random_uuid(), 'bench-' || gen_random_uuid() || '@example.org', 'Bench',
               'x', now(), now(), now(), 'en'
        FROM generate_series(1, {count}) RETURNING id)
      INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
      SELECT gen_random_uuid(), 'send_mail',
             json_build_object('notice', 'passwordChanged', 'userId', u.id)::text,
             'PENDING', 0, 100, now(), now(), now() FROM u;
      NOTIFY pools_jobs;""")


def direct(smtp_port, http_port, count, clients=8):
    """COUNT messages straight to the SMTP server; seconds taken."""
    body = ("Subject: Your password was changed\r\nFrom: bench@localhost\r\n"
            "Content-Type: text/plain\r\n\r\n" + ("x" * 75 + "\r\n") * 40)

    def send(n):
        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            for i in range(n):
                c.sendmail("bench@localhost", [f"direct-{uuid.uuid4().hex}@example.org"], body)

    start = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, [count // clients] * clients))
    wait_until(http_port, count // clients * clients)
    return time.time() - start


def wait_until(http_port, count, timeout=900):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if delivered(http_port) >= count:
            return
        time.sleep(0.02)
    raise SystemExit(f"only {delivered(http_port)} of {count} messages arrived")


def fresh_database(pg):
    name = f"bench_mail_{uuid.uuid4().hex[:8]}"
    psql(f"{pg}/postgres", f"CREATE DATABASE {name}")
    return name, f"{pg}/{name}"


def main():
    api_bin, pg = sys.argv[1], sys.argv[2].rstrip("/")
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 2000

    name, db_url = fresh_database(pg)
    smtp_port, http_port = free_port(), free_port()
    smtp = start_smtp(smtp_port, http_port)
    server = start_server(api_bin, db_url, smtp_port)
    try:
        time.sleep(1)
        start = time.time()
        queue(db_url, count)
        wait_until(http_port, count)
        elapsed = time.time() - start
        print(f"throughput: {count} messages in {elapsed:.2f} s = {count / elapsed:.0f} messages/s")
    finally:
        server.terminate(); server.wait()
        smtp.terminate(); smtp.wait()
    smtp_port, http_port = free_port(), free_port()
    smtp = start_smtp(smtp_port, http_port)
    try:
        baseline = direct(smtp_port, http_port, count)
        sent = count // 8 * 8
        print(f"baseline: {sent} messages straight to the SMTP server in {baseline:.2f} s = "
              f"{sent / baseline:.0f} messages/s; through the queue: {(count / elapsed) / (sent / baseline):.2f} of it")
    finally:
        smtp.terminate(); smtp.wait()
        psql(f"{pg}/postgres", f"DROP DATABASE IF EXISTS {name}")

    name, db_url = fresh_database(pg)
    smtp_port, http_port = free_port(), free_port()
    server = start_server(api_bin, db_url, smtp_port)
    smtp = None
    try:
        queue(db_url, 200)
        time.sleep(60)
        before = psql(db_url, "SELECT status, count(*) FROM jobs WHERE kind = 'send_mail' GROUP BY status ORDER BY 1")
        smtp = start_smtp(smtp_port, http_port)
        back = time.time()
        wait_until(http_port, 200)
        print(f"outage: after 60 s without SMTP, jobs were: {before.replace(chr(10), ', ')}")
        print(f"outage: all 200 delivered {time.time() - back:.1f} s after SMTP came back")
        time.sleep(1)
        print("outage: attempts per job, count:",
              psql(db_url, "SELECT attempts, count(*) FROM jobs WHERE kind = 'send_mail' GROUP BY attempts ORDER BY 1").replace("\n", ", "))
        print("outage: dead jobs:", psql(db_url, "SELECT count(*) FROM jobs WHERE status = 'DEAD'"))
    finally:
        server.terminate(); server.wait()
        if smtp:
            smtp.terminate(); smtp.wait()
        psql(f"{pg}/postgres", f"DROP DATABASE IF EXISTS {name}")


if __name__ == "__main__":
    main()
