//! Exports for accountants and auditors: CSV registers, ledgers and audit
//! trails of a pool or a whole parent entity, read a page at a time so a
//! large export never sits in memory; and a pool's audit pack.

pub mod pack;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, QueryResult};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    error::AppResult,
    services::{
        audit::chain::{chain_key, timestamp},
        membership::{find_pool, require_reader_as},
        reports::sql::Sql,
    },
    state::AppState,
};

/// Rows per database query while streaming.
pub(super) const PAGE_ROWS: u64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Pool(Uuid),
    ParentEntity(Uuid),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Register,
    Ledger,
    AuditTrail,
    WorkContributions,
    /// The parent's register of assets (a parent's export only).
    Assets,
    Leases,
    /// The commons fund's own ledger (a parent's export only).
    FundLedger,
    /// The applications to the fund (a parent's export only).
    FundApplications,
}

impl Table {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "register.csv" => Some(Self::Register),
            "ledger.csv" => Some(Self::Ledger),
            "audit-trail.csv" => Some(Self::AuditTrail),
            "work-contributions.csv" => Some(Self::WorkContributions),
            "assets.csv" => Some(Self::Assets),
            "leases.csv" => Some(Self::Leases),
            "fund-ledger.csv" => Some(Self::FundLedger),
            "fund-applications.csv" => Some(Self::FundApplications),
            _ => None,
        }
    }

    pub fn header(self) -> &'static [&'static str] {
        match self {
            Self::Register => &[
                "membership_id",
                "pool_id",
                "pool_name",
                "email",
                "display_name",
                "stakeholder_group",
                "stakeholder_group_name",
                "role",
                "status",
                "joined_via",
                "joined_at",
                "left_at",
                "end_reason",
                "shares_held",
                "conduct_version",
                "suspended_until",
            ],
            Self::Ledger => &[
                "entry_id",
                "pool_id",
                "pool_name",
                "occurred_at",
                "kind",
                "category",
                "amount_minor",
                "currency",
                "amount",
                "reference",
                "description",
                "expense_id",
                "recorded_by",
            ],
            Self::WorkContributions => &[
                "work_contribution_id",
                "pool_id",
                "pool_name",
                "membership_id",
                "display_name",
                "kind",
                "label",
                "occurred_on",
                "hours",
                "quantity",
                "unit",
                "value_minor",
                "currency",
                "value",
                "description",
                "status",
                "confirmations",
                "confirmations_required",
                "refusal_reason",
                "decided_at",
                "recorded_at",
            ],
            Self::Assets => &[
                "asset_id",
                "name",
                "kind",
                "description",
                "value_minor",
                "currency",
                "value",
                "status",
                "registered_at",
                "retired_at",
            ],
            Self::Leases => &[
                "lease_id",
                "pool_id",
                "pool_name",
                "asset_id",
                "asset_name",
                "status",
                "rent_minor",
                "currency",
                "rent",
                "period",
                "starts_on",
                "ends_on",
                "periods_charged",
                "charged_minor",
                "terms",
                "offered_at",
                "answered_at",
                "ended_at",
            ],
            Self::FundLedger => &[
                "entry_id",
                "occurred_at",
                "kind",
                "category",
                "amount_minor",
                "currency",
                "amount",
                "reference",
                "description",
                "pool_id",
                "pool_ledger_entry_id",
                "recorded_by",
            ],
            Self::FundApplications => &[
                "application_id",
                "pool_id",
                "pool_name",
                "formation_id",
                "kind",
                "status",
                "amount_minor",
                "currency",
                "amount",
                "purpose",
                "repayment_period",
                "instalments",
                "repayment_starts_on",
                "instalments_paid",
                "repaid_minor",
                "weighting",
                "eligible_pools",
                "pools_voted",
                "weight_for",
                "weight_against",
                "applied_at",
                "closes_at",
                "decided_at",
            ],
            Self::AuditTrail => &[
                "event_id",
                "seq",
                "occurred_at",
                "actor_kind",
                "actor_user_id",
                "actor_token_id",
                "action",
                "outcome",
                "entity_type",
                "entity_id",
                "pool_id",
                "parent_entity_id",
                "changes",
                "request_id",
                "client_address",
                "prev_hash",
                "pool_prev_hash",
                "hash",
                "content_salt",
                "content_digest",
                "redacted_at",
            ],
        }
    }
}

/// Who may export what: the same people who may read it over GraphQL.
pub async fn authorize(
    state: &AppState,
    actor: &Actor,
    scope: Scope,
    table: Table,
) -> AppResult<()> {
    match (scope, table) {
        // A pool has no register of assets; its leases say what it uses.
        // Nor a fund: its own ledger shows what it received and repaid.
        (Scope::Pool(id), Table::Assets | Table::FundLedger) => {
            return Err(crate::auth::access::not_found("export", id));
        }
        (Scope::ParentEntity(id), _) => {
            permissions::require_steward_or_auditor(&state.db, id, actor.user_id).await?;
        }
        (Scope::Pool(id), Table::AuditTrail) => {
            crate::services::audit_trail::authorize(&state.db, actor, None, Some(id)).await?;
        }
        (Scope::Pool(id), _) => {
            let pool = find_pool(&state.db, id).await?;
            require_reader_as(&state.db, &pool, actor).await?;
        }
    }
    Ok(())
}

/// Where the next page starts: rows are read in id order, audit events in
/// chain order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    Start,
    Id(Uuid),
    Seq(i64),
}

/// One page of CSV records and the cursor after it (`None` at the end).
pub async fn page(
    db: &impl ConnectionTrait,
    scope: Scope,
    table: Table,
    after: Cursor,
) -> AppResult<(Vec<Vec<String>>, Option<Cursor>)> {
    let mut q = Sql::default();
    let scope_clause = match (scope, table) {
        (Scope::Pool(id), Table::AuditTrail) => format!("e.pool_id = {}", q.bind(id)),
        // A parent's events are its chain, whose (chain_key, seq) index
        // serves the order; its parent_entity_id index would sort every page.
        (Scope::ParentEntity(id), Table::AuditTrail) => {
            format!("e.chain_key = {}", q.bind(chain_key(Some(id))))
        }
        (Scope::ParentEntity(id), Table::Assets) => {
            format!("a.parent_entity_id = {}", q.bind(id))
        }
        (Scope::ParentEntity(id), Table::FundLedger) => {
            format!("f.parent_entity_id = {}", q.bind(id))
        }
        // Applications stay with the parent they were made to, even if the
        // pool moved on.
        (Scope::ParentEntity(id), Table::FundApplications) => {
            format!("a.parent_entity_id = {}", q.bind(id))
        }
        (Scope::Pool(id), _) => format!("p.id = {}", q.bind(id)),
        (Scope::ParentEntity(id), _) => format!("p.parent_entity_id = {}", q.bind(id)),
    };
    let limit = PAGE_ROWS;
    let sql = match table {
        Table::Register => {
            let after = id_after(&mut q, after, "m.id");
            let now = q.bind(Utc::now());
            format!(
                "SELECT m.id, m.pool_id, p.name AS pool_name, m.email, m.display_name,
                        g.key AS group_key, g.name AS group_name, m.role, m.status, m.joined_via,
                        m.joined_at, m.left_at, m.end_reason, m.shares_held, m.conduct_version,
                        (SELECT MAX(s.ends_at) FROM member_suspensions s
                         WHERE s.membership_id = m.id AND s.lifted_at IS NULL
                           AND s.starts_at <= {now} AND s.ends_at > {now}) AS suspended_until
                 FROM memberships m
                 JOIN pools p ON p.id = m.pool_id
                 JOIN stakeholder_groups g ON g.id = m.stakeholder_group_id
                 WHERE {scope_clause}{after}
                 ORDER BY m.id LIMIT {limit}"
            )
        }
        Table::Ledger => {
            let after = id_after(&mut q, after, "l.id");
            format!(
                "SELECT l.id, l.pool_id, p.name AS pool_name, l.occurred_at, l.kind, l.category,
                        l.amount_minor, l.currency, l.reference, l.description, l.expense_id,
                        l.recorded_by
                 FROM ledger_entries l
                 JOIN pools p ON p.id = l.pool_id
                 WHERE {scope_clause}{after}
                 ORDER BY l.id LIMIT {limit}"
            )
        }
        Table::WorkContributions => {
            let after = id_after(&mut q, after, "w.id");
            format!(
                "SELECT w.id, w.pool_id, p.name AS pool_name, w.membership_id, m.display_name,
                        w.kind, w.label, w.occurred_on, w.quarter_hours, w.quantity, w.unit,
                        w.value_minor, w.currency, w.description, w.status, w.confirmations,
                        w.confirmations_required, w.refusal_reason, w.decided_at, w.created_at
                 FROM work_contributions w
                 JOIN pools p ON p.id = w.pool_id
                 JOIN memberships m ON m.id = w.membership_id
                 WHERE {scope_clause}{after}
                 ORDER BY w.id LIMIT {limit}"
            )
        }
        Table::Assets => {
            let after = id_after(&mut q, after, "a.id");
            format!(
                "SELECT a.id, a.name, a.kind, a.description, a.value_minor, a.currency, a.status,
                        a.created_at, a.retired_at
                 FROM assets a
                 WHERE {scope_clause}{after}
                 ORDER BY a.id LIMIT {limit}"
            )
        }
        Table::Leases => {
            let after = id_after(&mut q, after, "l.id");
            format!(
                "SELECT l.id, l.pool_id, p.name AS pool_name, l.asset_id, a.name AS asset_name,
                        l.status, l.rent_minor, l.currency, l.period, l.starts_on, l.ends_on,
                        l.periods_charged, l.terms, l.created_at, l.answered_at, l.ended_at,
                        COALESCE(c.charged_hi, 0) AS charged_hi,
                        COALESCE(c.charged_lo, 0) AS charged_lo
                 FROM leases l
                 JOIN pools p ON p.id = l.pool_id
                 JOIN assets a ON a.id = l.asset_id
                 LEFT JOIN (SELECT lease_id, {charged} FROM rent_charges GROUP BY lease_id) c
                   ON c.lease_id = l.id
                 WHERE {scope_clause}{after}
                 ORDER BY l.id LIMIT {limit}",
                charged = crate::services::reports::sql::money_sum("amount_minor", "charged"),
            )
        }
        Table::FundLedger => {
            let after = id_after(&mut q, after, "f.id");
            format!(
                "SELECT f.id, f.occurred_at, f.kind, f.category, f.amount_minor, f.currency,
                        f.reference, f.description, f.pool_id, f.pool_ledger_entry_id,
                        f.recorded_by
                 FROM parent_ledger_entries f
                 WHERE {scope_clause}{after}
                 ORDER BY f.id LIMIT {limit}"
            )
        }
        Table::FundApplications => {
            let after = id_after(&mut q, after, "a.id");
            format!(
                "SELECT a.id, a.pool_id, p.name AS pool_name, a.formation_id, a.kind, a.status,
                        a.amount_minor,
                        a.currency, a.purpose, a.repayment_period, a.instalments,
                        a.repayment_starts_on, a.instalments_paid, a.weighting,
                        a.eligible_pools, a.pools_voted, a.weight_for, a.weight_against,
                        a.created_at, a.closes_at, a.decided_at,
                        COALESCE(r.repaid_hi, 0) AS repaid_hi,
                        COALESCE(r.repaid_lo, 0) AS repaid_lo
                 FROM fund_applications a
                 LEFT JOIN pools p ON p.id = a.pool_id
                 LEFT JOIN (SELECT application_id, {repaid} FROM loan_repayments
                            GROUP BY application_id) r
                   ON r.application_id = a.id
                 WHERE {scope_clause}{after}
                 ORDER BY a.id LIMIT {limit}",
                repaid = crate::services::reports::sql::money_sum("amount_minor", "repaid"),
            )
        }
        // A pool that moved has events in several chains, whose `seq` do
        // not order them: its pages go by id (time-ordered), a chain's by seq.
        Table::AuditTrail if matches!(scope, Scope::Pool(_)) => {
            let after = id_after(&mut q, after, "e.id");
            format!(
                "SELECT e.* FROM audit_events e
                 WHERE {scope_clause}{after}
                 ORDER BY e.id LIMIT {limit}"
            )
        }
        Table::AuditTrail => {
            let after = match after {
                Cursor::Seq(seq) => format!(" AND e.seq > {}", q.bind(seq)),
                _ => String::new(),
            };
            format!(
                "SELECT e.* FROM audit_events e
                 WHERE {scope_clause}{after}
                 ORDER BY e.seq LIMIT {limit}"
            )
        }
    };
    q.push(&sql);
    let rows = q.all(db).await?;
    let full = rows.len() as u64 == PAGE_ROWS;
    let mut records = Vec::with_capacity(rows.len());
    let mut next = None;
    for r in &rows {
        let (record, cursor) = match table {
            Table::Register => register_record(r)?,
            Table::Ledger => ledger_record(r)?,
            Table::WorkContributions => work_contribution_record(r)?,
            Table::Assets => asset_record(r)?,
            Table::Leases => lease_record(r)?,
            Table::FundLedger => fund_ledger_record(r)?,
            Table::FundApplications => fund_application_record(r)?,
            Table::AuditTrail => {
                let (record, by_seq) = audit_record(r)?;
                match scope {
                    Scope::Pool(_) => (record, Cursor::Id(r.try_get("", "id")?)),
                    Scope::ParentEntity(_) => (record, by_seq),
                }
            }
        };
        records.push(record);
        next = Some(cursor);
    }
    Ok((records, if full { next } else { None }))
}

fn id_after(q: &mut Sql, after: Cursor, column: &str) -> String {
    match after {
        Cursor::Id(id) => format!(" AND {column} > {}", q.bind(id)),
        _ => String::new(),
    }
}

pub fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(timestamp).unwrap_or_default()
}

fn id(v: Option<Uuid>) -> String {
    v.map(|u| u.to_string()).unwrap_or_default()
}

type Record = (Vec<String>, Cursor);

fn register_record(r: &QueryResult) -> Result<Record, sea_orm::DbErr> {
    let membership_id: Uuid = r.try_get("", "id")?;
    Ok((
        vec![
            membership_id.to_string(),
            r.try_get::<Uuid>("", "pool_id")?.to_string(),
            r.try_get("", "pool_name")?,
            r.try_get("", "email")?,
            r.try_get("", "display_name")?,
            r.try_get("", "group_key")?,
            r.try_get("", "group_name")?,
            r.try_get("", "role")?,
            r.try_get("", "status")?,
            r.try_get("", "joined_via")?,
            time(r.try_get("", "joined_at")?),
            time(r.try_get("", "left_at")?),
            r.try_get::<Option<String>>("", "end_reason")?
                .unwrap_or_default(),
            r.try_get::<i64>("", "shares_held")?.to_string(),
            r.try_get::<Option<i32>>("", "conduct_version")?
                .map(|v| v.to_string())
                .unwrap_or_default(),
            time(r.try_get("", "suspended_until")?),
        ],
        Cursor::Id(membership_id),
    ))
}

fn ledger_record(r: &QueryResult) -> Result<Record, sea_orm::DbErr> {
    let entry_id: Uuid = r.try_get("", "id")?;
    let amount: i64 = r.try_get("", "amount_minor")?;
    let currency: String = r.try_get("", "currency")?;
    Ok((
        vec![
            entry_id.to_string(),
            r.try_get::<Uuid>("", "pool_id")?.to_string(),
            r.try_get("", "pool_name")?,
            time(Some(r.try_get("", "occurred_at")?)),
            r.try_get("", "kind")?,
            r.try_get("", "category")?,
            amount.to_string(),
            currency.clone(),
            crate::domain::format_minor(amount, &currency),
            r.try_get("", "reference")?,
            r.try_get("", "description")?,
            id(r.try_get("", "expense_id")?),
            id(r.try_get("", "recorded_by")?),
        ],
        Cursor::Id(entry_id),
    ))
}

/// Quarter hours as decimal hours: `6` is `1.50`.
fn hours(quarter_hours: i32) -> String {
    format!("{}.{:02}", quarter_hours / 4, (quarter_hours % 4) * 25)
}

fn work_contribution_record(r: &QueryResult) -> Result<Record, sea_orm::DbErr> {
    let id_: Uuid = r.try_get("", "id")?;
    let text = |name: &str| -> Result<String, sea_orm::DbErr> {
        Ok(r.try_get::<Option<String>>("", name)?.unwrap_or_default())
    };
    let value: Option<i64> = r.try_get("", "value_minor")?;
    let currency = text("currency")?;
    let occurred_on: chrono::NaiveDate = r.try_get("", "occurred_on")?;
    Ok((
        vec![
            id_.to_string(),
            r.try_get::<Uuid>("", "pool_id")?.to_string(),
            r.try_get("", "pool_name")?,
            r.try_get::<Uuid>("", "membership_id")?.to_string(),
            r.try_get("", "display_name")?,
            r.try_get("", "kind")?,
            text("label")?,
            occurred_on.format("%Y-%m-%d").to_string(),
            r.try_get::<Option<i32>>("", "quarter_hours")?
                .map(hours)
                .unwrap_or_default(),
            r.try_get::<Option<i64>>("", "quantity")?
                .map(|q| q.to_string())
                .unwrap_or_default(),
            text("unit")?,
            value.map(|v| v.to_string()).unwrap_or_default(),
            currency.clone(),
            value
                .map(|v| crate::domain::format_minor(v, &currency))
                .unwrap_or_default(),
            r.try_get("", "description")?,
            r.try_get("", "status")?,
            r.try_get::<i32>("", "confirmations")?.to_string(),
            r.try_get::<i32>("", "confirmations_required")?.to_string(),
            text("refusal_reason")?,
            time(r.try_get("", "decided_at")?),
            time(Some(r.try_get("", "created_at")?)),
        ],
        Cursor::Id(id_),
    ))
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn asset_record(r: &QueryResult) -> Result<Record, sea_orm::DbErr> {
    let id_: Uuid = r.try_get("", "id")?;
    let value: i64 = r.try_get("", "value_minor")?;
    let currency: String = r.try_get("", "currency")?;
    Ok((
        vec![
            id_.to_string(),
            r.try_get("", "name")?,
            r.try_get("", "kind")?,
            r.try_get("", "description")?,
            value.to_string(),
            currency.clone(),
            crate::domain::format_minor(value, &currency),
            r.try_get("", "status")?,
            time(Some(r.try_get("", "created_at")?)),
            time(r.try_get("", "retired_at")?),
        ],
        Cursor::Id(id_),
    ))
}

fn lease_record(r: &QueryResult) -> Result<Record, sea_orm::DbErr> {
    let id_: Uuid = r.try_get("", "id")?;
    let rent: i64 = r.try_get("", "rent_minor")?;
    let currency: String = r.try_get("", "currency")?;
    let charged = crate::services::reports::sql::money_total(r, "charged")?;
    Ok((
        vec![
            id_.to_string(),
            r.try_get::<Uuid>("", "pool_id")?.to_string(),
            r.try_get("", "pool_name")?,
            r.try_get::<Uuid>("", "asset_id")?.to_string(),
            r.try_get("", "asset_name")?,
            r.try_get("", "status")?,
            rent.to_string(),
            currency.clone(),
            crate::domain::format_minor(rent, &currency),
            r.try_get("", "period")?,
            day(r.try_get("", "starts_on")?),
            r.try_get::<Option<chrono::NaiveDate>>("", "ends_on")?
                .map(day)
                .unwrap_or_default(),
            r.try_get::<i32>("", "periods_charged")?.to_string(),
            charged.0.to_string(),
            r.try_get("", "terms")?,
            time(Some(r.try_get("", "created_at")?)),
            time(r.try_get("", "answered_at")?),
            time(r.try_get("", "ended_at")?),
        ],
        Cursor::Id(id_),
    ))
}

fn fund_ledger_record(r: &QueryResult) -> Result<Record, sea_orm::DbErr> {
    let entry_id: Uuid = r.try_get("", "id")?;
    let amount: i64 = r.try_get("", "amount_minor")?;
    let currency: String = r.try_get("", "currency")?;
    Ok((
        vec![
            entry_id.to_string(),
            time(Some(r.try_get("", "occurred_at")?)),
            r.try_get("", "kind")?,
            r.try_get("", "category")?,
            amount.to_string(),
            currency.clone(),
            crate::domain::format_minor(amount, &currency),
            r.try_get("", "reference")?,
            r.try_get("", "description")?,
            id(r.try_get("", "pool_id")?),
            id(r.try_get("", "pool_ledger_entry_id")?),
            id(r.try_get("", "recorded_by")?),
        ],
        Cursor::Id(entry_id),
    ))
}

fn fund_application_record(r: &QueryResult) -> Result<Record, sea_orm::DbErr> {
    let id_: Uuid = r.try_get("", "id")?;
    let amount: i64 = r.try_get("", "amount_minor")?;
    let currency: String = r.try_get("", "currency")?;
    let repaid = crate::services::reports::sql::money_total(r, "repaid")?;
    let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let small = |v: Option<i32>| v.map(|n| n.to_string()).unwrap_or_default();
    Ok((
        vec![
            id_.to_string(),
            id(r.try_get("", "pool_id")?),
            r.try_get::<Option<String>>("", "pool_name")?
                .unwrap_or_default(),
            id(r.try_get("", "formation_id")?),
            r.try_get("", "kind")?,
            r.try_get("", "status")?,
            amount.to_string(),
            currency.clone(),
            crate::domain::format_minor(amount, &currency),
            r.try_get("", "purpose")?,
            r.try_get::<Option<String>>("", "repayment_period")?
                .unwrap_or_default(),
            small(r.try_get("", "instalments")?),
            r.try_get::<Option<chrono::NaiveDate>>("", "repayment_starts_on")?
                .map(day)
                .unwrap_or_default(),
            r.try_get::<i32>("", "instalments_paid")?.to_string(),
            repaid.0.to_string(),
            r.try_get("", "weighting")?,
            small(r.try_get("", "eligible_pools")?),
            small(r.try_get("", "pools_voted")?),
            number(r.try_get("", "weight_for")?),
            number(r.try_get("", "weight_against")?),
            time(Some(r.try_get("", "created_at")?)),
            time(Some(r.try_get("", "closes_at")?)),
            time(r.try_get("", "decided_at")?),
        ],
        Cursor::Id(id_),
    ))
}

fn audit_record(r: &QueryResult) -> Result<Record, sea_orm::DbErr> {
    let seq: i64 = r.try_get("", "seq")?;
    let text = |name: &str| -> Result<String, sea_orm::DbErr> {
        Ok(r.try_get::<Option<String>>("", name)?.unwrap_or_default())
    };
    Ok((
        vec![
            r.try_get::<Uuid>("", "id")?.to_string(),
            seq.to_string(),
            time(Some(r.try_get("", "occurred_at")?)),
            text("actor_kind")?,
            id(r.try_get("", "actor_user_id")?),
            id(r.try_get("", "actor_token_id")?),
            text("action")?,
            text("outcome")?,
            text("entity_type")?,
            id(r.try_get("", "entity_id")?),
            id(r.try_get("", "pool_id")?),
            id(r.try_get("", "parent_entity_id")?),
            text("changes")?,
            text("request_id")?,
            text("client_address")?,
            text("prev_hash")?,
            text("pool_prev_hash")?,
            text("hash")?,
            text("content_salt")?,
            text("content_digest")?,
            time(r.try_get("", "redacted_at")?),
        ],
        Cursor::Seq(seq),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn quarter_hours_read_as_hours() {
        assert_eq!(super::hours(6), "1.50");
        assert_eq!(super::hours(1), "0.25");
        assert_eq!(super::hours(96), "24.00");
    }
}
