//! What a parent entity reads about its pools: figures for a period, per
//! pool and in total, and each pool's own accounts. Everything is summed by
//! the database; the server only receives the sums.

pub mod accounts;
mod figures;
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

use figures::{Scope, figures};
use sql::Sql;

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
    /// Rent paid to the parent for its assets.
    pub rent: MoneyTotal,
    /// Grants and loans received from the parent's fund.
    pub funding: MoneyTotal,
    /// Loan instalments paid back to the parent's fund.
    pub repayments: MoneyTotal,
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
