//! The audit pack: everything about one pool that an outside party needs
//! to check its history without the server, recomputed here from the
//! README's recipes alone.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    process::Command,
};

use entities::ledger_entry::{self, LedgerKind};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{audit::Busy, helpers::TestApp};

on_both_databases!(
    the_audit_pack_checks_out_without_the_server,
    a_third_party_verifies_the_signed_pack_with_the_readme_and_the_key,
);

/// The fields of an event's hash, in the recipes' order, after the recipe's
/// name and before its content (README, "The hash").
const EVENT_FIELDS: &[&str] = &[
    "id",
    "chainKey",
    "seq",
    "prevHash",
    "poolPrevHash",
    "occurredAt",
    "actorKind",
    "actorUserId",
    "actorTokenId",
    "action",
    "outcome",
    "entityType",
    "entityId",
    "poolId",
    "parentEntityId",
];

/// The columns of a ledger entry's digest, in the recipe's order.
const LEDGER_FIELDS: &[&str] = &[
    "id",
    "poolId",
    "kind",
    "amountMinor",
    "currency",
    "reference",
    "description",
    "expenseId",
    "recordedBy",
    "occurredAt",
    "createdAt",
    "category",
];

fn sha256_hex(v: &Value) -> String {
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// A field the pack must carry, as it is (no conversion of any kind).
fn field<'a>(object: &'a Value, name: &str) -> &'a Value {
    object
        .get(name)
        .unwrap_or_else(|| panic!("the pack's object has no `{name}`: {object:#}"))
}

/// The recipe's array for one event of the pack, taken as it stands.
pub(crate) fn recipe_hash(e: &Value) -> String {
    let recipe_2 = !field(e, "contentDigest").is_null();
    let mut canonical = vec![json!(if recipe_2 {
        "pools-audit/2"
    } else {
        "pools-audit/1"
    })];
    canonical.extend(EVENT_FIELDS.iter().map(|f| field(e, f).clone()));
    let content: &[&str] = if recipe_2 {
        &["contentDigest", "requestId"]
    } else {
        &["changes", "requestId", "clientAddress"]
    };
    canonical.extend(content.iter().map(|f| field(e, f).clone()));
    sha256_hex(&Value::Array(canonical))
}

/// The recipe's digest of one ledger entry of the pack.
fn recipe_digest(entry: &Value) -> String {
    let mut canonical = vec![json!("pools-ledger/1")];
    canonical.extend(LEDGER_FIELDS.iter().map(|f| field(entry, f).clone()));
    sha256_hex(&Value::Array(canonical))
}

/// Fetches a pool's pack as `token`: its status and its body's bytes.
pub(crate) async fn download(app: &TestApp, pool: &str, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/exports/pools/{pool}/audit-pack.json")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The platform's public key, as anyone may fetch it.
pub(crate) async fn pack_key(app: &TestApp) -> Value {
    let res = app
        .client
        .get(app.url("/.well-known/pools-pack-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn the_audit_pack_checks_out_without_the_server(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let res = download(app, &b.p.pool, &b.p.w.auditor).await;
    assert_eq!(res.status(), 200);
    let key = pack_key(app).await;
    assert_eq!(key["algorithm"], "Ed25519");
    assert_eq!(
        res.headers()["pools-pack-key-id"],
        key["keyId"].as_str().unwrap()
    );
    assert_eq!(
        res.headers()["pools-pack-signature"].len(),
        88,
        "base64 of 64 bytes"
    );
    let pack: Value = res.json().await.unwrap();
    assert_eq!(pack["signing"]["keyId"], key["keyId"]);
    assert_eq!(pack["format"], "pools-audit-pack/2");
    assert!(
        pack["rulesDocument"]
            .as_str()
            .unwrap()
            .contains("Test Pool")
    );
    assert_eq!(pack["register"].as_array().unwrap().len(), 4);
    let proposals = pack["proposals"].as_array().unwrap();
    assert_eq!(proposals.len(), 2);
    let outcomes: HashSet<&str> = proposals
        .iter()
        .map(|p| p["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, HashSet::from(["PASSED", "FAILED"]));

    // Every event's hash, and every unredacted content digest, recomputed
    // from the recipe with the pack's values as they are: numbers are
    // numbers and absent values null, as the recipe says.
    let chain_key = pack["chain"]["chainKey"].as_str().unwrap();
    let events = pack["auditEvents"].as_array().unwrap();
    assert!(events.len() > 10);
    let mut previous = "0".repeat(64);
    let mut bindings: HashMap<String, String> = HashMap::new();
    for e in events {
        assert!(e["seq"].is_i64(), "{e:#}");
        assert_eq!(e["chainKey"], chain_key);
        assert_eq!(recipe_hash(e), e["hash"].as_str().unwrap(), "{e:#}");
        if !e["contentDigest"].is_null() && e["redactedAt"].is_null() {
            let content = json!([e["contentSalt"], e["changes"], e["clientAddress"]]);
            assert_eq!(sha256_hex(&content), e["contentDigest"].as_str().unwrap());
        }
        assert_eq!(e["poolPrevHash"], previous.as_str());
        previous = e["hash"].as_str().unwrap().to_owned();
        let changes: Value = serde_json::from_str(e["changes"].as_str().unwrap()).unwrap();
        for b in changes["ledgerEntries"].as_array().into_iter().flatten() {
            bindings.insert(
                b["id"].as_str().unwrap().to_owned(),
                b["digest"].as_str().unwrap().to_owned(),
            );
        }
    }
    // Absent values are null, never an empty string.
    assert!(events.iter().any(|e| e["redactedAt"].is_null()));
    for e in events {
        assert!(e.as_object().unwrap().values().all(|v| v != ""), "{e:#}");
    }
    assert_eq!(pack["chain"]["poolHeadHash"], previous.as_str());
    let verified = app
        .ok(
            Some(&b.p.w.auditor),
            "query($id: ID!) { verifyAuditTrail(parentEntityId: $id) { headHash } }",
            json!({ "id": b.p.w.parent }),
        )
        .await;
    assert_eq!(
        pack["chain"]["parentHeadHash"],
        verified["verifyAuditTrail"]["headHash"]
    );

    // Every ledger entry is bound by an event of the pack, digest and all.
    let ledger = pack["ledger"].as_array().unwrap();
    assert_eq!(ledger.len(), 6);
    for entry in ledger {
        assert!(entry["amountMinor"].is_i64(), "{entry:#}");
        assert_eq!(entry["beforeBinding"], false);
        assert_eq!(
            bindings.get(entry["id"].as_str().unwrap()),
            Some(&recipe_digest(entry)),
            "{entry:#}"
        );
    }
    assert_eq!(bindings.len(), ledger.len());

    let refused = download(app, &b.p.pool, &b.bob).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
}

/// What `scripts/verify_pack.py` said about a pack: its exit code and output.
pub(crate) fn verify_offline(
    dir: &Path,
    pack: &[u8],
    key: &Value,
    signature: &str,
) -> (i32, String) {
    let pack_path = dir.join("pack.json");
    let key_path = dir.join("key.json");
    std::fs::write(&pack_path, pack).unwrap();
    std::fs::write(&key_path, key.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/verify_pack.py");
    let out = Command::new(crate::databases::pack_verifier_python())
        .arg(script)
        .arg(&pack_path)
        .arg("--key")
        .arg(&key_path)
        .args(["--signature", signature])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A pack as an auditor downloads it: its bytes and its signature header.
async fn signed_pack(app: &TestApp, pool: &str, token: &str) -> (Vec<u8>, String) {
    let res = download(app, pool, token).await;
    assert_eq!(res.status(), 200);
    let signature = res.headers()["pools-pack-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    (res.bytes().await.unwrap().to_vec(), signature)
}

async fn a_third_party_verifies_the_signed_pack_with_the_readme_and_the_key(app: TestApp) {
    let b = Busy::new(app).await;
    let app = b.app();
    let dir = tempfile::tempdir().unwrap();
    let key = pack_key(app).await;
    let (pack, signature) = signed_pack(app, &b.p.pool, &b.p.w.auditor).await;
    let events = serde_json::from_slice::<Value>(&pack).unwrap()["auditEvents"]
        .as_array()
        .unwrap()
        .len();

    let (code, said) = verify_offline(dir.path(), &pack, &key, &signature);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("ok    signature"), "{said}");
    assert!(
        said.contains(&format!(
            "{events} events: every hash, content digest and pool link holds"
        )),
        "{said}"
    );
    assert!(said.contains("6 ledger entries: each matches"), "{said}");

    // One byte changed anywhere: the signature no longer holds.
    let text = String::from_utf8(pack.clone()).unwrap();
    let altered = text.replacen("Test Pool", "Test Poll", 1);
    assert_ne!(altered, text);
    let (code, said) = verify_offline(dir.path(), altered.as_bytes(), &key, &signature);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("FAIL  signature"), "{said}");

    // An event's content changed, its hash left: the recipe finds it.
    let mut doc: Value = serde_json::from_slice(&pack).unwrap();
    doc["auditEvents"][1]["action"] = json!("member.forgiven");
    let (code, said) = verify_offline(dir.path(), doc.to_string().as_bytes(), &key, &signature);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("do not give its hash"), "{said}");

    // Another platform's key does not verify this platform's pack.
    let stranger = json!({ "algorithm": "Ed25519", "publicKey": "3l++IxfNsAEyi8YN0Lw/f+UwncgSDg99TrFJvistMVc=" });
    let (code, said) = verify_offline(dir.path(), &pack, &stranger, &signature);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("FAIL  signature"), "{said}");

    // The server signs what its database holds: a ledger row edited there
    // gives a pack that is signed, and whose books do not balance.
    let edited = adjustment(app, &b.p.pool).await;
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "UPDATE ledger_entries SET amount_minor = 50000 WHERE id = $1",
            [edited.into()],
        ))
        .await
        .unwrap();
    let (pack, signature) = signed_pack(app, &b.p.pool, &b.p.w.auditor).await;
    let (code, said) = verify_offline(dir.path(), &pack, &key, &signature);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("ok    signature"), "{said}");
    assert!(
        said.contains(&format!("ledger entry {edited}: EDITED")),
        "{said}"
    );
}

/// The id of the pool's one adjustment.
async fn adjustment(app: &TestApp, pool: &str) -> uuid::Uuid {
    ledger_entry::Entity::find()
        .filter(ledger_entry::Column::PoolId.eq(uuid::Uuid::parse_str(pool).unwrap()))
        .filter(ledger_entry::Column::Kind.eq(LedgerKind::Adjustment))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}
