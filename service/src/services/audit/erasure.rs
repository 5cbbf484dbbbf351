//! Erasing a person's data from the trail without breaking it.
//!
//! An event of recipe 2 is hashed over a salted digest of its `changes` and
//! `client_address` (see `chain`), so both can be rewritten once: the
//! person's values become `[erased]`, the address goes, the salt goes (so
//! the digest cannot be tested against guesses) and `redacted_at` is set.
//! Everything else an event says (who, what, when, which pool) stays, and
//! the chain verifies as before. Events written before recipe 2 keep their
//! content: changing it would break the chain.

use chrono::Utc;
use entities::audit_event;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use serde_json::Value;
use uuid::Uuid;

use crate::error::AppResult;

/// What replaces an erased value.
pub const ERASED: &str = "[erased]";

/// Fields that hold a person's own data when an event is about them.
const PERSONAL_FIELDS: &[&str] = &[
    "email",
    "display_name",
    "displayName",
    "message",
    "user_agent",
    "userAgent",
    "client_address",
    "clientAddress",
    "new_email",
    "newEmail",
];

/// Events read and rewritten at a time.
const BATCH: u64 = 500;

/// Whose data to erase.
pub struct Subject {
    pub user_id: Uuid,
    /// Rows that were theirs (the account, memberships, roles, sessions,
    /// applications): events about them lose the personal fields.
    pub entity_ids: Vec<Uuid>,
    /// Every address the account used: erased wherever it appears.
    pub addresses: Vec<String>,
}

/// Erases `subject`'s data from every chain; returns how many events were
/// rewritten. Runs in the caller's transaction.
pub async fn erase(db: &impl ConnectionTrait, subject: &Subject) -> AppResult<u64> {
    let mut about = Condition::any().add(audit_event::Column::ActorUserId.eq(subject.user_id));
    for ids in subject.entity_ids.chunks(500) {
        about = about.add(audit_event::Column::EntityId.is_in(ids.iter().copied()));
    }
    for address in &subject.addresses {
        about = about.add(
            Expr::col(audit_event::Column::Changes)
                .like(LikeExpr::new(format!("%{}%", escape_like(address))).escape('\\')),
        );
    }
    let mut rewritten = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = audit_event::Entity::find()
            .filter(audit_event::Column::ContentDigest.is_not_null())
            .filter(audit_event::Column::RedactedAt.is_null())
            .filter(about.clone())
            .order_by_asc(audit_event::Column::Id)
            .limit(BATCH);
        if let Some(last) = after {
            select = select.filter(audit_event::Column::Id.gt(last));
        }
        let batch = select.all(db).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for event in batch {
            let changes = redact_changes(
                &event.changes,
                event
                    .entity_id
                    .is_some_and(|id| subject.entity_ids.contains(&id)),
                &subject.addresses,
            );
            let theirs = event.actor_user_id == Some(subject.user_id);
            let address_goes = theirs && event.client_address.is_some();
            if changes.is_none() && !address_goes {
                continue;
            }
            let mut update = audit_event::Entity::update_many()
                .col_expr(
                    audit_event::Column::ContentSalt,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(audit_event::Column::RedactedAt, Expr::value(Utc::now()))
                .filter(audit_event::Column::Id.eq(event.id));
            if let Some(changes) = changes {
                update = update.col_expr(audit_event::Column::Changes, Expr::value(changes));
            }
            if address_goes {
                update = update.col_expr(
                    audit_event::Column::ClientAddress,
                    Expr::value(Option::<String>::None),
                );
            }
            update.exec(db).await?;
            rewritten += 1;
        }
    }
    Ok(rewritten)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The event's changes with the person's values erased, or `None` when
/// nothing in them is theirs. With `about_them`, the personal fields go
/// whatever they hold; anywhere else, strings holding one of `addresses`
/// go, and so do the personal fields beside them (a founding member's
/// name next to their address).
pub fn redact_changes(changes: &str, about_them: bool, addresses: &[String]) -> Option<String> {
    let mut value: Value = serde_json::from_str(changes).ok()?;
    redact(&mut value, about_them, addresses).then(|| value.to_string())
}

fn redact(value: &mut Value, about_them: bool, addresses: &[String]) -> bool {
    match value {
        Value::String(text) if holds_address(text, addresses) => {
            *text = ERASED.to_owned();
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |done, item| {
            redact(item, about_them, addresses) | done
        }),
        Value::Object(fields) => {
            let names_them = about_them
                || fields
                    .values()
                    .any(|v| v.as_str().is_some_and(|t| holds_address(t, addresses)));
            let mut done = false;
            for (name, field) in fields.iter_mut() {
                done |= if names_them && PERSONAL_FIELDS.contains(&name.as_str()) {
                    erase_all(field)
                } else {
                    redact(field, about_them, addresses)
                };
            }
            done
        }
        _ => false,
    }
}

fn holds_address(text: &str, addresses: &[String]) -> bool {
    let lower = text.to_lowercase();
    addresses.iter().any(|a| lower.contains(a.as_str()))
}

/// Every string inside `value` becomes [`ERASED`] (`{before, after}` pairs
/// included); nulls stay, so the event still says a value was absent.
fn erase_all(value: &mut Value) -> bool {
    match value {
        Value::String(text) if text != ERASED => {
            *text = ERASED.to_owned();
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |done, v| erase_all(v) | done),
        Value::Object(fields) => fields
            .values_mut()
            .fold(false, |done, v| erase_all(v) | done),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn addresses() -> Vec<String> {
        vec![
            "ana@example.org".to_owned(),
            "ana.old@example.org".to_owned(),
        ]
    }

    #[test]
    fn an_event_about_them_loses_its_personal_fields_only() {
        let changes = json!({
            "email": {"before": "ana.old@example.org", "after": "ana@example.org"},
            "display_name": {"after": "Ana"},
            "status": {"before": "ACTIVE", "after": "LEFT"},
            "end_reason": {"after": null},
        })
        .to_string();
        let out: Value =
            serde_json::from_str(&redact_changes(&changes, true, &addresses()).unwrap()).unwrap();
        assert_eq!(out["email"], json!({"before": ERASED, "after": ERASED}));
        assert_eq!(out["display_name"], json!({"after": ERASED}));
        assert_eq!(out["status"], json!({"before": "ACTIVE", "after": "LEFT"}));
        assert_eq!(out["end_reason"], json!({"after": null}));
    }

    #[test]
    fn elsewhere_only_their_address_and_what_sits_beside_it_goes() {
        let changes = json!({
            "founding_members": {"after": [
                {"email": "ANA@example.org", "displayName": "Ana", "group": "workers"},
                {"email": "bo@example.org", "displayName": "Bo", "group": "workers"},
            ]},
            "note": {"after": "asked ana@example.org to join"},
            "display_name": {"after": "The pool"},
        })
        .to_string();
        let out: Value =
            serde_json::from_str(&redact_changes(&changes, false, &addresses()).unwrap()).unwrap();
        let members = &out["founding_members"]["after"];
        assert_eq!(
            members[0],
            json!({"email": ERASED, "displayName": ERASED, "group": "workers"})
        );
        assert_eq!(members[1]["email"], "bo@example.org");
        assert_eq!(members[1]["displayName"], "Bo");
        assert_eq!(out["note"]["after"], ERASED);
        assert_eq!(out["display_name"]["after"], "The pool");
    }

    #[test]
    fn nothing_of_theirs_means_no_rewrite() {
        let changes = json!({"status": {"after": "ACTIVE"}, "email": {"after": "bo@example.org"}})
            .to_string();
        assert_eq!(redact_changes(&changes, false, &addresses()), None);
        assert_eq!(redact_changes("not json", true, &addresses()), None);
    }

    #[test]
    fn like_patterns_match_addresses_literally() {
        assert_eq!(escape_like("a_b%c\\d@x.org"), "a\\_b\\%c\\\\d@x.org");
    }
}
