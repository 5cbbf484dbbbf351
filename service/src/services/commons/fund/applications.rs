//! Applying to the commons fund: a pool's admins, or a formation's
//! founder, ask for a grant or a loan (a loan with its repayment terms);
//! the assembly of the parent's other pools votes on it until it closes.
//! The applicant may withdraw it while it is open. A formation's
//! application follows the formation: paid to its pool once approved,
//! withdrawn if it never becomes one.

use chrono::{Duration, NaiveDate, SubsecRound, Utc};
use entities::{
    billing_period::BillingPeriod,
    formation::{self, FormationStatus},
    fund_application::{self, FundApplicationStatus, FundingKind},
    parent_entity, pool,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::{KIND_APPLICATION, assembly, status_word};
use crate::{
    auth::{Actor, access},
    domain::{Check, Currency, MinorAmount, MultiLineText},
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{self, Action, Author, Change},
        begin_write, lock,
        membership::{find_pool, require_active_pool, require_admin, sees_inside},
    },
    state::AppState,
};

/// Applications one pool or formation may have open at once: a bound on
/// what one applicant can ask the pools to vote on.
pub const MAX_OPEN_PER_APPLICANT: u64 = 5;

/// How long the assembly votes when the applicant does not say, and the
/// bounds it may say.
pub const DEFAULT_VOTING_DAYS: i64 = 14;
pub const MAX_VOTING_DAYS: i64 = 60;

/// The most instalments a loan is repaid in, and how far ahead its first
/// may fall due.
pub const MAX_INSTALMENTS: i32 = 120;
pub const MAX_DAYS_TO_FIRST_INSTALMENT: i64 = 732;

pub struct Repayment {
    pub period: BillingPeriod,
    pub instalments: i32,
    pub starts_on: NaiveDate,
}

pub struct ApplyInput {
    /// The applicant: a pool, or a formation under the parent (exactly one).
    pub pool_id: Option<Uuid>,
    pub formation_id: Option<Uuid>,
    pub kind: FundingKind,
    pub amount: i64,
    /// Must be the pool's currency when given.
    pub currency: Option<String>,
    pub purpose: String,
    /// Loans only, and required for them.
    pub repayment: Option<Repayment>,
    pub voting_days: Option<i32>,
}

/// Who applies: a pool, or a formation that is not yet one.
enum Applicant {
    Pool(pool::Model),
    Formation(formation::Model),
}

impl Applicant {
    fn parent_entity_id(&self) -> Uuid {
        match self {
            Self::Pool(p) => p.parent_entity_id,
            Self::Formation(f) => f.parent_entity_id,
        }
    }
}

/// A pool's admins, or a formation's founder, apply to the fund of its
/// parent.
pub async fn apply(
    state: &AppState,
    actor: &Actor,
    input: ApplyInput,
) -> AppResult<fund_application::Model> {
    let txn = begin_write(&state.db).await?;
    let applicant = match (input.pool_id, input.formation_id) {
        (Some(pool_id), None) => {
            let pool = find_pool(&txn, pool_id).await?;
            // Pools are public: an outsider is refused, not told it is missing.
            require_admin(&txn, &pool, actor.user_id).await?;
            Applicant::Pool(pool)
        }
        (None, Some(formation_id)) => {
            let formation = lock::<formation::Entity>(&txn, formation_id)
                .await?
                .ok_or_else(|| access::not_found("formation", formation_id))?;
            let sees = super::sees_formation(&txn, actor.user_id, &formation).await?
                || super::super::require_commons_reader(
                    &txn,
                    formation.parent_entity_id,
                    actor.user_id,
                )
                .await
                .is_ok();
            if !sees {
                return Err(access::not_found("formation", formation.id));
            }
            if formation.founder_id != actor.user_id {
                return Err(AppError::Forbidden(
                    "only the formation's founder applies for it".into(),
                ));
            }
            Applicant::Formation(formation)
        }
        _ => {
            return Err(AppError::Validation(vec![FieldError::new(
                "input.poolId",
                "give the applicant: a poolId or a formationId, not both",
            )]));
        }
    };
    let today = Utc::now().date_naive();
    let mut check = Check::default();
    let currency = match &applicant {
        Applicant::Pool(pool) => Some(pool.currency.clone()),
        Applicant::Formation(f) => {
            // The currency its financial step chose, if it has been answered.
            let chosen = f
                .financial_profile
                .as_ref()
                .and_then(|p| p.get("currency"))
                .and_then(|c| c.as_str())
                .map(str::to_owned);
            match (chosen, input.currency.as_deref()) {
                (Some(c), _) => Some(c),
                (None, Some(given)) => {
                    check.field(Currency::parse(given, "input.currency").map(Currency::into_inner))
                }
                (None, None) => check.field::<String>(Err(FieldError::new(
                    "input.currency",
                    "the formation has chosen no currency yet: give one",
                ))),
            }
        }
    };
    let amount = check.field(MinorAmount::parse_positive(input.amount, "input.amount"));
    if let (Some(given), Some(currency)) = (input.currency.as_deref(), currency.as_deref())
        && given.trim().to_uppercase() != currency
    {
        check.field::<()>(Err(FieldError::new(
            "input.currency",
            format!("the fund pays out in the applicant's currency, {currency}"),
        )));
    }
    let purpose = check.field(MultiLineText::<1, 4000>::parse(
        &input.purpose,
        "input.purpose",
    ));
    let voting_days = i64::from(input.voting_days.unwrap_or(DEFAULT_VOTING_DAYS as i32));
    if !(1..=MAX_VOTING_DAYS).contains(&voting_days) {
        check.field::<()>(Err(FieldError::new(
            "input.votingDays",
            format!("must be between 1 and {MAX_VOTING_DAYS} days"),
        )));
    }
    match (input.kind, &input.repayment) {
        (FundingKind::Grant, Some(_)) => {
            check.field::<()>(Err(FieldError::new(
                "input.repayment",
                "a grant is not repaid; leave out the repayment terms",
            )));
        }
        (FundingKind::Loan, None) => {
            check.field::<()>(Err(FieldError::new(
                "input.repayment",
                "a loan needs its repayment terms: period, instalments and startsOn",
            )));
        }
        (FundingKind::Loan, Some(r)) => {
            if !(1..=MAX_INSTALMENTS).contains(&r.instalments) {
                check.field::<()>(Err(FieldError::new(
                    "input.repayment.instalments",
                    format!("must be between 1 and {MAX_INSTALMENTS}"),
                )));
            }
            if r.starts_on < today
                || r.starts_on > today + Duration::days(MAX_DAYS_TO_FIRST_INSTALMENT)
            {
                check.field::<()>(Err(FieldError::new(
                    "input.repayment.startsOn",
                    format!("must be from today to {MAX_DAYS_TO_FIRST_INSTALMENT} days ahead"),
                )));
            }
        }
        (FundingKind::Grant, None) => {}
    }
    let (Some(amount), Some(purpose), Some(currency)) = (amount, purpose, currency) else {
        return Err(check.into_error());
    };
    if !check.is_empty() {
        return Err(check.into_error());
    }
    let open = fund_application::Entity::find()
        .filter(fund_application::Column::Status.eq(FundApplicationStatus::Open));
    let open = match &applicant {
        Applicant::Pool(pool) => {
            require_active_pool(pool)?;
            open.filter(fund_application::Column::PoolId.eq(pool.id))
        }
        Applicant::Formation(f) => {
            if !matches!(
                f.status,
                FormationStatus::Draft | FormationStatus::Submitted
            ) {
                return Err(AppError::Conflict(
                    "only a formation still in draft or submitted applies; an approved one applies as its pool"
                        .into(),
                ));
            }
            open.filter(fund_application::Column::FormationId.eq(f.id))
        }
    };
    if open.count(&txn).await? >= MAX_OPEN_PER_APPLICANT {
        return Err(AppError::Conflict(format!(
            "an applicant has at most {MAX_OPEN_PER_APPLICANT} applications to the fund open at once"
        )));
    }
    let parent_entity_id = applicant.parent_entity_id();
    let weighting = parent_entity::Entity::find_by_id(parent_entity_id)
        .one(&txn)
        .await?
        .map(|p| p.assembly_weighting)
        .unwrap_or(parent_entity::AssemblyWeighting::OnePoolOneVote);
    let now = Utc::now().trunc_subsecs(6);
    let closes_at = now + Duration::days(voting_days);
    let row = fund_application::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(parent_entity_id),
        pool_id: Set(match &applicant {
            Applicant::Pool(p) => Some(p.id),
            Applicant::Formation(_) => None,
        }),
        formation_id: Set(match &applicant {
            Applicant::Pool(_) => None,
            Applicant::Formation(f) => Some(f.id),
        }),
        kind: Set(input.kind),
        amount_minor: Set(amount.get()),
        currency: Set(currency),
        purpose: Set(purpose.into_inner()),
        repayment_period: Set(input.repayment.as_ref().map(|r| r.period)),
        instalments: Set(input.repayment.as_ref().map(|r| r.instalments)),
        repayment_starts_on: Set(input.repayment.as_ref().map(|r| r.starts_on)),
        status: Set(FundApplicationStatus::Open),
        weighting: Set(weighting),
        closes_at: Set(closes_at),
        eligible_pools: Set(None),
        pools_voted: Set(None),
        weight_for: Set(None),
        weight_against: Set(None),
        decided_at: Set(None),
        parent_ledger_entry_id: Set(None),
        instalments_paid: Set(0),
        applied_by: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let change = Change::new(Action::FundApplicationSubmitted, "FundApplication", row.id);
    let change = match &applicant {
        Applicant::Pool(pool) => change.in_pool(pool),
        Applicant::Formation(_) => change.in_parent(parent_entity_id),
    };
    audit::record(&txn, actor, change.created(&row)).await?;
    assembly::schedule_close(&txn, row.id, closes_at).await?;
    txn.commit().await?;
    Ok(row)
}

/// The applicant's admins (a formation's founder) withdraw an open
/// application.
pub async fn withdraw(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<fund_application::Model> {
    let txn = begin_write(&state.db).await?;
    let row = lock::<fund_application::Entity>(&txn, id)
        .await?
        .ok_or_else(|| access::not_found(KIND_APPLICATION, id))?;
    let pool = match row.pool_id {
        Some(pool_id) => Some(find_pool(&txn, pool_id).await?),
        None => None,
    };
    let checked = match (&pool, row.formation_id) {
        (Some(pool), _) => require_admin(&txn, pool, actor.user_id).await.map(|_| ()),
        (None, Some(formation_id)) => {
            let founder = formation::Entity::find_by_id(formation_id)
                .one(&txn)
                .await?
                .map(|f| f.founder_id);
            if founder == Some(actor.user_id) {
                Ok(())
            } else {
                Err(AppError::Forbidden(
                    "only the formation's founder withdraws its application".into(),
                ))
            }
        }
        (None, None) => Err(AppError::Forbidden(
            "this application has no applicant".into(),
        )),
    };
    access::unless_seen(checked, KIND_APPLICATION, id, async || {
        let inside = match &pool {
            Some(pool) => sees_inside(&txn, pool, actor.user_id).await?,
            None => false,
        };
        Ok(inside
            || super::super::require_commons_reader(&txn, row.parent_entity_id, actor.user_id)
                .await
                .is_ok())
    })
    .await?;
    if row.status != FundApplicationStatus::Open {
        return Err(AppError::Conflict(format!(
            "this application is {} and can no longer be withdrawn",
            status_word(row.status)
        )));
    }
    let after = end(&txn, actor, row, pool.as_ref(), None).await?;
    txn.commit().await?;
    Ok(after)
}

/// Marks an application `WITHDRAWN`, in `db` under its row lock.
async fn end(
    db: &impl ConnectionTrait,
    by: impl Into<Author>,
    row: fund_application::Model,
    pool: Option<&pool::Model>,
    reason: Option<&str>,
) -> AppResult<fund_application::Model> {
    let before = row.clone();
    let mut active: fund_application::ActiveModel = row.into();
    active.status = Set(FundApplicationStatus::Withdrawn);
    let after = save(db, active, before.version).await?;
    let change = Change::new(
        Action::FundApplicationWithdrawn,
        "FundApplication",
        after.id,
    );
    let mut change = match pool {
        Some(pool) => change.in_pool(pool),
        None => change.in_parent(after.parent_entity_id),
    }
    .diff(&before, &after);
    if let Some(reason) = reason {
        change = change.with("reason", reason);
    }
    audit::record(db, by, change).await?;
    Ok(after)
}

/// A formation became `pool`, in the transaction that approves it: its
/// applications are the pool's from now on, and one the assembly already
/// approved is paid out to it.
pub async fn on_formation_approved(
    db: &impl ConnectionTrait,
    formation_id: Uuid,
    pool: &pool::Model,
) -> AppResult<()> {
    let rows = fund_application::Entity::find()
        .filter(fund_application::Column::FormationId.eq(formation_id))
        .filter(fund_application::Column::PoolId.is_null())
        .lock_exclusive()
        .all(db)
        .await?;
    for row in rows {
        let version = row.version;
        let mut active: fund_application::ActiveModel = row.into();
        active.pool_id = Set(Some(pool.id));
        let row = save(db, active, version).await?;
        if row.status == FundApplicationStatus::Approved && row.parent_ledger_entry_id.is_none() {
            assembly::pay_out(db, row, pool).await?;
        }
    }
    Ok(())
}

/// A formation was rejected or withdrawn, in that transaction: its
/// applications still open or waiting for its pool end with it.
pub async fn on_formation_ended(db: &impl ConnectionTrait, formation_id: Uuid) -> AppResult<()> {
    let rows = fund_application::Entity::find()
        .filter(fund_application::Column::FormationId.eq(formation_id))
        .filter(fund_application::Column::PoolId.is_null())
        .filter(
            fund_application::Column::Status
                .is_in([FundApplicationStatus::Open, FundApplicationStatus::Approved]),
        )
        .lock_exclusive()
        .all(db)
        .await?;
    for row in rows {
        end(
            db,
            Author::system(),
            row,
            None,
            Some("the formation will not become a pool"),
        )
        .await?;
    }
    Ok(())
}

/// Writes the change over the version read under the lock.
pub(super) async fn save(
    db: &impl ConnectionTrait,
    mut active: fund_application::ActiveModel,
    seen: i32,
) -> AppResult<fund_application::Model> {
    let id = active.id.clone().unwrap();
    active.version = Set(seen.saturating_add(1));
    active.updated_at = Set(Utc::now().trunc_subsecs(6));
    let done = fund_application::Entity::update_many()
        .set(active)
        .filter(fund_application::Column::Id.eq(id))
        .filter(fund_application::Column::Version.eq(seen))
        .exec(db)
        .await?;
    if done.rows_affected == 0 {
        return Err(AppError::Conflict(
            "this application changed meanwhile; read it again".into(),
        ));
    }
    fund_application::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found(KIND_APPLICATION, id))
}
