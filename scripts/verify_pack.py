#!/usr/bin/env python3
"""Verifies a pool's audit pack offline, from the README's recipes and the
platform's public key alone: no server, no database, none of its code. A
spin-out's incorporation pack is checked the same way: its signature, then
the audit pack it carries.

  python3 scripts/verify_pack.py PACK.json --key KEY (--signature SIG | --headers FILE)

  PACK.json      the pack exactly as downloaded (curl -o), byte for byte
  --key KEY      the document GET /.well-known/pools-pack-key serves (a file),
                 or the public key itself (standard base64 of its 32 bytes)
  --signature    the Pools-Pack-Signature header's value
  --headers FILE the response headers as `curl -D FILE` wrote them, to read
                 that header from

It checks, and says for each:
- the Ed25519 signature over the file's bytes, with that key (and that the
  pack names the same key id);
- every event's hash (recipes pools-audit/1 and pools-audit/2), every
  unredacted event's content digest, and the pool's links from event to
  event up to `chain.poolHeadHash`;
- every ledger entry against the binding its event recorded (recipe
  pools-ledger/1): an entry edited, inserted or deleted is named.

Exit status: 0 when everything checks out, 1 when anything does not, 2 when
the input cannot be read. Needs Python 3 and the `cryptography` package
(for Ed25519).
"""
import argparse
import base64
import hashlib
import json
import sys

GENESIS = "0" * 64

# The fields of an event's hash after the recipe's name, in order (README,
# "The hash"); then contentDigest, requestId (pools-audit/2) or changes,
# requestId, clientAddress (pools-audit/1).
EVENT_FIELDS = [
    "id", "chainKey", "seq", "prevHash", "poolPrevHash", "occurredAt", "actorKind",
    "actorUserId", "actorTokenId", "action", "outcome", "entityType", "entityId",
    "poolId", "parentEntityId",
]

# The columns of a ledger entry's digest after the recipe's name, in order
# (README, "Books bound into the trail").
LEDGER_FIELDS = [
    "id", "poolId", "kind", "amountMinor", "currency", "reference", "description",
    "expenseId", "recordedBy", "occurredAt", "createdAt", "category",
]


def compact_sha256(value):
    """SHA-256 hex of the compact JSON the README describes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_hash(e):
    if e["contentDigest"] is not None:
        tail = [e["contentDigest"], e["requestId"]]
        recipe = "pools-audit/2"
    else:
        tail = [e["changes"], e["requestId"], e["clientAddress"]]
        recipe = "pools-audit/1"
    return compact_sha256([recipe] + [e[f] for f in EVENT_FIELDS] + tail)


def ledger_digest(entry):
    return compact_sha256(["pools-ledger/1"] + [entry[f] for f in LEDGER_FIELDS])


class Report:
    def __init__(self):
        self.failures = 0

    def ok(self, text):
        print(f"ok    {text}")

    def fail(self, text):
        self.failures += 1
        print(f"FAIL  {text}")

    def note(self, text):
        print(f"note  {text}")


def public_key_of(arg):
    """(raw key bytes, key id or None) from a key document file or base64."""
    try:
        with open(arg, "rb") as f:
            doc = json.loads(f.read())
        if doc.get("algorithm") != "Ed25519":
            raise SystemExit(f"{arg}: not an Ed25519 key document")
        return base64.b64decode(doc["publicKey"], validate=True), doc.get("keyId")
    except FileNotFoundError:
        return base64.b64decode(arg, validate=True), None


def signature_of(args):
    if args.signature:
        return args.signature.strip()
    with open(args.headers, encoding="latin-1") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name.strip().lower() == "pools-pack-signature":
                return value.strip()
    raise SystemExit(f"{args.headers}: no Pools-Pack-Signature header")


def check_signature(report, body, key, key_id, signature, pack):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(key).verify(base64.b64decode(signature), body)
        report.ok("signature: Ed25519 over the pack's bytes, by this key")
    except (InvalidSignature, ValueError):
        report.fail("signature: does not match the pack's bytes with this key")
    named = (pack.get("signing") or {}).get("keyId")
    if key_id is not None and named != key_id:
        report.fail(f"signature: the pack names key {named}, the key given is {key_id}")


def check_events(report, pack):
    events = pack["auditEvents"]
    # A pool that moved has events in the chain of each parent it was under.
    chain_keys = pack["chain"].get("chainKeys") or [pack["chain"]["chainKey"]]
    last_seq = {}
    previous = GENESIS
    bad = 0
    for e in events:
        where = f"event {e.get('seq')} ({e.get('id')})"
        if not isinstance(e["seq"], int) or e["chainKey"] not in chain_keys:
            report.fail(f"{where}: seq is not a number, or the event is not of the pack's chains")
            bad += 1
        elif e["seq"] <= last_seq.get(e["chainKey"], 0):
            report.fail(f"{where}: it comes after a later event of its chain")
            bad += 1
        else:
            last_seq[e["chainKey"]] = e["seq"]
        if event_hash(e) != e["hash"]:
            report.fail(f"{where}: its fields do not give its hash")
            bad += 1
        if e["contentDigest"] is not None and e["redactedAt"] is None:
            if compact_sha256([e["contentSalt"], e["changes"], e["clientAddress"]]) != e["contentDigest"]:
                report.fail(f"{where}: its changes or client address do not give its content digest")
                bad += 1
        if e["poolPrevHash"] != previous:
            report.fail(f"{where}: its link to the pool's previous event does not hold")
            bad += 1
        previous = e["hash"]
    if pack["chain"]["poolHeadHash"] != previous:
        report.fail("chain: poolHeadHash is not the last event's hash")
        bad += 1
    redacted = sum(1 for e in events if e["redactedAt"] is not None)
    if not bad:
        report.ok(f"{len(events)} events: every hash, content digest and pool link holds"
                  + (f" ({redacted} redacted: their changes cannot be checked)" if redacted else ""))


def check_ledger(report, pack):
    bound = {}
    for e in pack["auditEvents"]:
        try:
            changes = json.loads(e["changes"])
        except ValueError:
            continue
        if not isinstance(changes, dict):
            continue
        for b in changes.get("ledgerEntries") or []:
            bound[b["id"]] = (b["digest"], e["seq"])
    entries = pack["ledger"]
    present = set()
    bad = 0
    unbound = 0
    for entry in entries:
        present.add(entry["id"])
        binding = bound.get(entry["id"])
        if binding is None:
            if entry.get("beforeBinding"):
                unbound += 1
            else:
                report.fail(f"ledger entry {entry['id']}: INSERTED, no event of the pack records it")
                bad += 1
        elif ledger_digest(entry) != binding[0]:
            report.fail(f"ledger entry {entry['id']}: EDITED, its columns do not give the digest event {binding[1]} recorded")
            bad += 1
    for entry_id, (_, seq) in bound.items():
        if entry_id not in present:
            report.fail(f"ledger entry {entry_id}: DELETED, event {seq} recorded it and the ledger has no such entry")
            bad += 1
    if not bad:
        report.ok(f"{len(entries)} ledger entries: each matches the event that recorded it")
    if unbound:
        report.note(f"{unbound} ledger entries are unbound (before binding): no event vouches for them")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pack")
    parser.add_argument("--key", required=True)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--signature")
    group.add_argument("--headers")
    args = parser.parse_args()
    try:
        with open(args.pack, "rb") as f:
            body = f.read()
        pack = json.loads(body)
        key, key_id = public_key_of(args.key)
        signature = signature_of(args)
    except (OSError, ValueError, KeyError) as e:
        print(f"cannot read the input: {e}", file=sys.stderr)
        return 2
    report = Report()
    check_signature(report, body, key, key_id, signature, pack)
    if pack.get("format") == "pools-incorporation-pack/1":
        report.note("an incorporation pack: checking the audit pack it carries")
        pack = pack.get("auditPack") or {}
    if pack.get("format") != "pools-audit-pack/2":
        report.fail(f"format {pack.get('format')!r}: this script reads pools-audit-pack/2")
        return 1
    try:
        check_events(report, pack)
        check_ledger(report, pack)
    except (KeyError, TypeError) as e:
        report.fail(f"the pack lacks a field the recipes name: {e}")
    if report.failures:
        print(f"{report.failures} problem(s): this pack does not check out")
        return 1
    print("the pack checks out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
