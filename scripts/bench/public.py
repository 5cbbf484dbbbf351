"""What a crowd or a hostile client costs the server, against the release build.

  python3 scripts/bench/public.py target/release/api

1. Sign-in crowd: peak and settled RSS of the server under 200 concurrent
   signIn calls, with the hashing slots at their default (the cores) and,
   as a baseline from the same run, with 200 slots (no bound).
2. Subscription flood: the p50 latency of a small query while one token
   tries to open 2,000 subscriptions (as many connections of 20 as it
   takes), against the idle p50; with the default caps, and as a baseline
   with the caps lifted.

Everything runs on loopback against a fresh SQLite database per server.
Standard library only: a small HTTP/1.1 and WebSocket client on asyncio.
"""
import asyncio
import base64
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

from common import free_port

SECRET = "q7Vt2pX9mKf3Lr8ZsW4nYb6HcJ1dGe5A0uTiOoPl"
PASSWORD = "correct horse battery"


class Server:
    def __init__(self, binary, **settings):
        self.port = free_port()
        self.dir = tempfile.TemporaryDirectory()
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"sqlite://{self.dir.name}/bench.db?mode=rwc",
            LISTEN_ADDR=f"127.0.0.1:{self.port}",
            AUTH_SECRET=SECRET,
            RUST_LOG="error",
            TRUST_FORWARDED_FOR="true",
            SIGN_IN_ADDRESS_LIMIT="1000000",
            SIGN_UP_ADDRESS_LIMIT="1000000",
        )
        env.update({k: str(v) for k, v in settings.items()})
        self.proc = subprocess.Popen([binary], env=env, cwd=self.dir.name)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("the server did not start")

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.dir.cleanup()


async def post(port, body, token=None, forwarded=None):
    """One POST /graphql on its own connection; returns (seconds, JSON)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode()
    headers = [
        "POST /graphql HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        "Connection: close",
    ]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    if forwarded:
        headers.append(f"X-Forwarded-For: {forwarded}")
    writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + data)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        payload = dechunk(payload)
    return time.perf_counter() - started, json.loads(payload)


def dechunk(body):
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out += rest[:n]
        body = rest[n + 2:]
    return out


async def gql(port, query, variables=None, token=None, forwarded=None):
    return await post(port, {"query": query, "variables": variables or {}}, token, forwarded)


async def sign_up(port, email):
    _, res = await gql(
        port,
        "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
        {"i": {"email": email, "password": PASSWORD, "displayName": "Bench"}},
    )
    return res["data"]["signUp"]["token"]


def outcome(res):
    errors = res.get("errors")
    return errors[0]["extensions"]["code"] if errors else "OK"


async def sign_in_crowd(binary, slots):
    settings = {} if slots is None else {"PASSWORD_HASH_CONCURRENCY": slots}
    server = Server(binary, **settings)
    try:
        await sign_up(server.port, "ada@example.org")
        await asyncio.sleep(1)
        idle = server.rss_mb()
        peak = [idle]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], server.rss_mb())
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        answers = await asyncio.gather(*[
            gql(server.port, "mutation($i: SignInInput!) { signIn(input: $i) { token } }",
                {"i": {"email": "ada@example.org", "password": PASSWORD}},
                forwarded=f"198.51.100.{i % 250}")
            for i in range(200)
        ])
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        await asyncio.sleep(5)
        settled = server.rss_mb()
        codes = {}
        for _, res in answers:
            codes[outcome(res)] = codes.get(outcome(res), 0) + 1
        return idle, peak[0], settled, elapsed, codes
    finally:
        server.stop()


class WebSocket:
    """A graphql-transport-ws client, enough to subscribe and be refused."""

    async def connect(self, port):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((
            "GET /graphql/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        return int(head.split()[1])

    def send(self, message):
        data = json.dumps(message).encode()
        mask = os.urandom(4)
        if len(data) < 126:
            header = struct.pack("!BB", 0x81, 0x80 | len(data))
        else:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, len(data))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(header + mask + masked)

    async def receive(self):
        """The next text message as JSON, or None when the server closed."""
        while True:
            try:
                b1, b2 = await self.reader.readexactly(2)
                n = b2 & 0x7F
                if n == 126:
                    (n,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif n == 127:
                    (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
                payload = await self.reader.readexactly(n)
            except (asyncio.IncompleteReadError, ConnectionError):
                return None
            opcode = b1 & 0x0F
            if opcode == 8:
                return None
            if opcode == 1:
                return json.loads(payload)

    def close(self):
        self.writer.close()


SUBSCRIPTION = "subscription($id: ID!) { formationUpdated(formationId: $id) { id } }"


async def latency(port, token, n=300):
    times = []
    for _ in range(n):
        t, res = await gql(port, "{ me { id email } }", token=token)
        assert "errors" not in res, res
        times.append(t)
    return statistics.median(times) * 1000


async def subscription_flood(binary, lifted):
    settings = {}
    if lifted:
        settings = {
            "WS_MAX_CONNECTIONS_PER_USER": 10000,
            "WS_MAX_CONNECTIONS_PER_ADDRESS": 10000,
            "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION": 1000,
        }
    server = Server(binary, **settings)
    sockets = []
    try:
        port = server.port
        token = await sign_up(port, "ada@example.org")
        other = await sign_up(port, "grace@example.org")
        _, res = await gql(port, "mutation($i: RegisterParentEntityInput!) { registerParentEntity(input: $i) { id } }",
                           {"i": {"name": "Bench Co-op", "jurisdiction": "ES", "legalForm": "sociedad cooperativa",
                                  "registrationNumber": "F-1", "approvalPolicy": "MANUAL"}}, token=token)
        parent = res["data"]["registerParentEntity"]["id"]
        _, res = await gql(port, "mutation($i: StartFormationInput!) { startFormation(input: $i) { id } }",
                           {"i": {"parentEntityId": parent, "workingName": "Bench"}}, token=token)
        formation = res["data"]["startFormation"]["id"]
        idle = await latency(port, other)
        accepted = refused = 0
        connections_refused = 0
        attempts = 0
        per_connection = 20
        while attempts < 2000:
            ws = WebSocket()
            status = await ws.connect(port)
            if status != 101:
                connections_refused += 1
                attempts += per_connection
                ws.close()
                continue
            ws.send({"type": "connection_init", "payload": {"token": token}})
            ack = await ws.receive()
            if not ack or ack.get("type") != "connection_ack":
                connections_refused += 1
                attempts += per_connection
                ws.close()
                continue
            sockets.append(ws)
            for i in range(per_connection):
                ws.send({"id": str(i), "type": "subscribe",
                         "payload": {"query": SUBSCRIPTION, "variables": {"id": formation}}})
            attempts += per_connection
            await ws.writer.drain()
        # Give the server a moment to start (or refuse) each feed.
        await asyncio.sleep(2)
        for ws in sockets:
            while True:
                try:
                    message = await asyncio.wait_for(ws.receive(), 0.05)
                except asyncio.TimeoutError:
                    break
                if message is None:
                    break
                if message.get("type") == "next" and message["payload"].get("errors"):
                    refused += 1
        live = len(sockets) * per_connection - refused
        loaded = await latency(port, other)
        rss = server.rss_mb()
        return idle, loaded, live, refused, connections_refused, rss
    finally:
        for ws in sockets:
            ws.close()
        server.stop()


async def main(binary):
    print("== 200 concurrent signIn calls (RSS in MB)")
    for label, slots in [("bounded (default slots)", None), ("baseline: 200 slots", 200)]:
        idle, peak, settled, elapsed, codes = await sign_in_crowd(binary, slots)
        print(f"{label:26} idle {idle:6.1f}  peak {peak:7.1f}  5 s after {settled:6.1f}  "
              f"{elapsed:5.2f} s  outcomes {codes}")
    print("== p50 of `{ me { id email } }` while one token tries 2,000 subscriptions")
    for label, lifted in [("capped (defaults)", False), ("baseline: caps lifted", True)]:
        idle, loaded, live, refused, conn_refused, rss = await subscription_flood(binary, lifted)
        print(f"{label:26} idle p50 {idle:6.2f} ms  during {loaded:6.2f} ms  ratio {loaded / idle:5.2f}  "
              f"live subscriptions {live}, refused {refused} on open connections, "
              f"{conn_refused} connections refused; RSS {rss:.0f} MB")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    asyncio.run(main(os.path.abspath(sys.argv[1])))
