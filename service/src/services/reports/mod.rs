//! What a parent entity reads about its pools: figures for a period, per
//! pool and in total, and each pool's own accounts. Everything is summed by
//! the database; the server only receives the sums.

pub mod accounts;
pub mod sql;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::MoneyTotal,
    error::{AppError, AppResult, FieldError},
    state::AppState,
};

use sql::{Sql, money_sum, money_sum_where, money_total, sum};

/// `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    pub fn parse(from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<Self> {
        if from >= to {
            return Err(AppError::Validation(vec![FieldError::new(
                "to",
                "must be later than `from`",
            )]));
        }
        Ok(Self { from, to })
    }
}

/// Money of one currency over the period. Amounts spent are positive
/// magnitudes; `balance` is the signed total of everything before `to`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoneyFigures {
    pub currency: String,
    pub contribution_income: MoneyTotal,
    pub parent_share: MoneyTotal,
    pub expenses: MoneyTotal,
    /// Signed sum of corrections and opening balances.
    pub adjustments: MoneyTotal,
    pub balance: MoneyTotal,
}

/// Members of one stakeholder group (per pool) or kind (in total) at the
/// end of the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFigures {
    pub group_id: Option<Uuid>,
    pub name: String,
    /// The group's stakeholder kind, such as WORKERS.
    pub kind: String,
    pub members: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub members_by_group: Vec<GroupFigures>,
    pub members: i64,
    pub joins: i64,
    pub leaves: i64,
    pub money: Vec<MoneyFigures>,
    pub proposals_held: i64,
    pub proposals_passed: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormationFigures {
    pub drafts: i64,
    pub submitted: i64,
    pub oldest_draft_since: Option<DateTime<Utc>>,
    pub oldest_submitted_since: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParentTotals {
    pub figures: Figures,
    pub pools_by_status: Vec<(String, i64)>,
    pub formations: FormationFigures,
}

/// Stewards and auditors read their parent's reports.
pub async fn authorize(state: &AppState, actor: &Actor, parent_entity_id: Uuid) -> AppResult<()> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id)
        .await
        .map(|_| ())
}

/// The parent's totals over every pool.
pub async fn totals(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    period: Period,
) -> AppResult<ParentTotals> {
    let scope = Scope {
        parent_entity_id,
        pool_ids: None,
    };
    let mut by_pool = figures(db, &scope, period).await?;
    let figures = by_pool.pop().map(|(_, f)| f).unwrap_or_default();

    let mut q = Sql::default();
    let parent = q.bind(parent_entity_id);
    let to = q.bind(period.to);
    q.push(&format!(
        "SELECT status, COUNT(*) AS n FROM pools WHERE parent_entity_id = {parent} AND created_at < {to} GROUP BY status ORDER BY status"
    ));
    let pools_by_status = q
        .all(db)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<String>("", "status")?,
                r.try_get::<i64>("", "n")?,
            ))
        })
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;

    let mut q = Sql::default();
    let parent = q.bind(parent_entity_id);
    q.push(&format!(
        "SELECT status, COUNT(*) AS n, MIN(created_at) AS oldest_created, MIN(submitted_at) AS oldest_submitted
         FROM formations WHERE parent_entity_id = {parent} AND status IN ('DRAFT', 'SUBMITTED')
         GROUP BY status"
    ));
    let mut formations = FormationFigures::default();
    for r in q.all(db).await? {
        let n: i64 = r.try_get("", "n")?;
        match r.try_get::<String>("", "status")?.as_str() {
            "DRAFT" => {
                formations.drafts = n;
                formations.oldest_draft_since = r.try_get("", "oldest_created")?;
            }
            _ => {
                formations.submitted = n;
                formations.oldest_submitted_since = r.try_get("", "oldest_submitted")?;
            }
        }
    }
    Ok(ParentTotals {
        figures,
        pools_by_status,
        formations,
    })
}

/// Figures for each of `pool_ids` (all under `parent_entity_id`); a pool
/// where nothing happened has no entry.
pub async fn per_pool(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    pool_ids: &[Uuid],
    period: Period,
) -> AppResult<std::collections::HashMap<Uuid, Figures>> {
    let scope = Scope {
        parent_entity_id,
        pool_ids: Some(pool_ids.to_vec()),
    };
    Ok(figures(db, &scope, period)
        .await?
        .into_iter()
        .filter_map(|(id, f)| Some((id?, f)))
        .collect())
}

/// Either the whole parent (one row, grouped by stakeholder kind) or some
/// of its pools (a row per pool, grouped by stakeholder group).
struct Scope {
    parent_entity_id: Uuid,
    pool_ids: Option<Vec<Uuid>>,
}

impl Scope {
    /// The WHERE clause on pools `p` and the expression grouped on.
    fn bind(&self, q: &mut Sql, pool_column: &str) -> (String, String) {
        let parent = q.bind(self.parent_entity_id);
        match &self.pool_ids {
            None => (format!("p.parent_entity_id = {parent}"), "NULL".to_owned()),
            Some(ids) => (
                format!(
                    "p.parent_entity_id = {parent} AND {}",
                    q.in_ids(pool_column, ids)
                ),
                pool_column.to_owned(),
            ),
        }
    }
}

async fn figures(
    db: &impl ConnectionTrait,
    scope: &Scope,
    period: Period,
) -> AppResult<Vec<(Option<Uuid>, Figures)>> {
    let per_pool = scope.pool_ids.is_some();
    let mut rows: Vec<(Option<Uuid>, Figures)> = Vec::new();
    fn entry(rows: &mut Vec<(Option<Uuid>, Figures)>, key: Option<Uuid>) -> &mut Figures {
        let i = match rows.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                rows.push((key, Figures::default()));
                rows.len() - 1
            }
        };
        &mut rows[i].1
    }
    let key_of = |r: &sea_orm::QueryResult| -> Result<Option<Uuid>, sea_orm::DbErr> {
        if per_pool {
            r.try_get("", "k")
        } else {
            Ok(None)
        }
    };

    // Members at the end of the period, joins and leaves within it.
    let mut q = Sql::default();
    let (filter, key) = scope.bind(&mut q, "m.pool_id");
    let from = q.bind(period.from);
    let to = q.bind(period.to);
    let (group_cols, group_by) = if per_pool {
        (
            "g.id AS group_id, g.name AS group_name, g.kind AS kind",
            format!("{key}, g.id, g.name, g.kind"),
        )
    } else {
        ("g.kind AS kind", "g.kind".to_owned())
    };
    q.push(&format!(
        "SELECT {key} AS k, {group_cols},
           {members} AS members, {joins} AS joins, {leaves} AS leaves
         FROM memberships m
         JOIN pools p ON p.id = m.pool_id
         JOIN stakeholder_groups g ON g.id = m.stakeholder_group_id
         WHERE {filter} AND m.joined_at IS NOT NULL AND m.joined_at < {to}
         GROUP BY {group_by}
         ORDER BY {group_by}",
        members = sum(&format!(
            "CASE WHEN m.left_at IS NULL OR m.left_at >= {to} THEN 1 ELSE 0 END"
        )),
        joins = sum(&format!(
            "CASE WHEN m.joined_at >= {from} THEN 1 ELSE 0 END"
        )),
        leaves = sum(&format!(
            "CASE WHEN m.left_at >= {from} AND m.left_at < {to} THEN 1 ELSE 0 END"
        )),
    ));
    for r in q.all(db).await? {
        let f = entry(&mut rows, key_of(&r)?);
        let kind: String = r.try_get("", "kind")?;
        let members: i64 = r.try_get("", "members")?;
        f.members += members;
        f.joins += r.try_get::<i64>("", "joins")?;
        f.leaves += r.try_get::<i64>("", "leaves")?;
        f.members_by_group.push(GroupFigures {
            group_id: if per_pool {
                r.try_get("", "group_id")?
            } else {
                None
            },
            name: if per_pool {
                r.try_get("", "group_name")?
            } else {
                kind.clone()
            },
            kind,
            members,
        });
    }

    // Money per currency and kind: the period's movements and everything
    // before its end. FILTER rather than CASE: each row feeds only the sums
    // it belongs to, which halves the work over millions of entries.
    let mut q = Sql::default();
    let (filter, key) = scope.bind(&mut q, "l.pool_id");
    let from = q.bind(period.from);
    let to = q.bind(period.to);
    let group_by = if per_pool {
        format!("{key}, l.currency, l.kind")
    } else {
        "l.currency, l.kind".to_owned()
    };
    q.push(&format!(
        "SELECT {key} AS k, l.currency AS currency, l.kind AS kind,
           {in_period}, {total}
         FROM ledger_entries l
         JOIN pools p ON p.id = l.pool_id
         WHERE {filter} AND l.occurred_at < {to}
         GROUP BY {group_by}
         ORDER BY {group_by}",
        in_period = money_sum_where(
            "l.amount_minor",
            &format!("l.occurred_at >= {from}"),
            "in_period"
        ),
        total = money_sum("l.amount_minor", "total"),
    ));
    for r in q.all(db).await? {
        let figures = entry(&mut rows, key_of(&r)?);
        let currency: String = r.try_get("", "currency")?;
        let i = match figures.money.iter().position(|m| m.currency == currency) {
            Some(i) => i,
            None => {
                figures.money.push(MoneyFigures {
                    currency,
                    ..Default::default()
                });
                figures.money.len() - 1
            }
        };
        let money = &mut figures.money[i];
        let in_period = money_total(&r, "in_period")?;
        money.balance += money_total(&r, "total")?;
        match r.try_get::<String>("", "kind")?.as_str() {
            "CONTRIBUTION" => money.contribution_income += in_period,
            "PARENT_SHARE" => money.parent_share -= in_period,
            "EXPENSE" => money.expenses -= in_period,
            _ => money.adjustments += in_period,
        }
    }

    // Proposals that closed within the period, and how many passed.
    let mut q = Sql::default();
    let (filter, key) = scope.bind(&mut q, "pr.pool_id");
    let from = q.bind(period.from);
    let to = q.bind(period.to);
    let group_by = if per_pool {
        format!(" GROUP BY {key}")
    } else {
        String::new()
    };
    q.push(&format!(
        "SELECT {key} AS k, COUNT(*) AS held, {passed} AS passed
         FROM proposals pr
         JOIN pools p ON p.id = pr.pool_id
         WHERE {filter} AND pr.closed_at >= {from} AND pr.closed_at < {to}{group_by}",
        passed = "COUNT(*) FILTER (WHERE pr.outcome = 'PASSED')",
    ));
    for r in q.all(db).await? {
        let held: i64 = r.try_get("", "held")?;
        if held == 0 {
            continue;
        }
        let f = entry(&mut rows, key_of(&r)?);
        f.proposals_held = held;
        f.proposals_passed = r.try_get("", "passed")?;
    }
    if !per_pool && rows.is_empty() {
        rows.push((None, Figures::default()));
    }
    Ok(rows)
}
