"""Gives the seeded audit events of the benchmark's parent real hashes, so
that `verifyAuditTrail` walks the whole chain instead of stopping at the
first seeded event.

  python3 scripts/bench/rehash.py PGURL PARENT_ID

Bench-only: it rewrites the chain in place with the table's triggers
switched off, which no server ever does. The hashes follow the recipe the
README gives (`pools-audit/1`); the events the server wrote itself during
the setup are recomputed too, and the script stops if any of those differs
from what the server stored, so a drift from the server's recipe shows.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

GENESIS = "0" * 64

# The canonical fields in the recipe's order, as SQL that renders each the
# way the server does (UUIDs lower-case, time in RFC 3339 with micros).
FIELDS = """json_build_array(
  id::text, chain_key, seq, prev_hash, pool_prev_hash,
  to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  actor_kind, actor_user_id::text, actor_token_id::text, action, outcome, entity_type,
  entity_id::text, pool_id::text, parent_entity_id::text, changes, request_id, client_address,
  hash)"""


def main():
    pg, parent = sys.argv[1], sys.argv[2]
    rows = subprocess.Popen(
        ["psql", "-qAt", "-v", "ON_ERROR_STOP=1", pg, "-c",
         f"SELECT {FIELDS} FROM audit_events WHERE chain_key = '{parent}' ORDER BY seq"],
        stdout=subprocess.PIPE, text=True)
    prev = GENESIS
    pool_heads = {}
    count = 0
    checked_server_events = 0
    with tempfile.NamedTemporaryFile("w", delete=False, suffix=".tsv") as out:
        for line in rows.stdout:
            f = json.loads(line)
            stored_hash = f.pop()
            event_id, pool_id = f[0], f[13]
            f[3] = prev
            if pool_id is not None:
                f[4] = pool_heads.get(pool_id, GENESIS)
            canonical = json.dumps(["pools-audit/1", *f], separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(canonical.encode()).hexdigest()
            # Events the server wrote (during the setup) carry a request id.
            if f[16] is not None:
                if digest != stored_hash:
                    raise SystemExit(f"event {f[2]}: recomputed hash differs from the server's")
                checked_server_events += 1
            out.write(f"{event_id}\t{prev}\t{f[4] if pool_id else chr(92) + 'N'}\t{digest}\n")
            if pool_id is not None:
                pool_heads[pool_id] = digest
            prev = digest
            count += 1
        path = out.name
    if rows.wait() != 0:
        raise SystemExit("reading the chain failed")
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", pg], check=True, text=True, input=f"""
BEGIN;
ALTER TABLE audit_events DISABLE TRIGGER USER;
CREATE TEMP TABLE fix (id uuid PRIMARY KEY, prev_hash text, pool_prev_hash text, hash text);
\\copy fix FROM '{path}'
UPDATE audit_events a SET prev_hash = f.prev_hash, pool_prev_hash = f.pool_prev_hash, hash = f.hash
  FROM fix f WHERE a.id = f.id AND a.hash IS DISTINCT FROM f.hash;
UPDATE audit_chain_heads SET hash = '{prev}' WHERE chain_key = '{parent}';
ALTER TABLE audit_events ENABLE TRIGGER USER;
COMMIT;
VACUUM ANALYZE audit_events;
""")
    os.unlink(path)
    print(f"rehashed {count} events ({checked_server_events} written by the server matched)")


if __name__ == "__main__":
    main()
