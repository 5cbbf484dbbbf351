"""What the benchmark scripts share: ports, processes, GraphQL calls, psql."""
import json
import os
import socket
import subprocess
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def post(url, query, variables=None, token=None, timeout=120):
    """One GraphQL operation; stops the benchmark on any GraphQL error."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url + "/graphql", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=timeout) as res:
        data = json.loads(res.read())
    if data.get("errors"):
        raise SystemExit(f"GraphQL error: {data['errors']}")
    return data["data"]


def sign_up(url, email, password, display_name=None):
    data = post(url, "mutation($i: SignUpInput!) { signUp(input: $i) { token user { id } } }",
                {"i": {"email": email, "password": password,
                       "displayName": display_name or email.split("@")[0]}})
    return data["signUp"]["token"], data["signUp"]["user"]["id"]


def psql(url, sql):
    return subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def wait_for_port(port, proc, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[0]} exited with {proc.returncode}; see its log")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listened on port {port} within {seconds} s")


def cpu_ticks(pid):
    """User plus system CPU of a process so far, in clock ticks (None if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return None


TICK = os.sysconf("SC_CLK_TCK")
