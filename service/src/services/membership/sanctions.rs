//! Obligations and sanctions: a pool's code of conduct, which new members
//! accept when they join, and suspensions, which admins impose for a period
//! with a reason and the member may appeal. A suspended member keeps their
//! membership and its history, but neither votes nor proposes until the
//! suspension ends.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use entities::{
    member_suspension::{self, Model as Suspension},
    membership, pool,
    proposal::{Outcome, ProposalKind},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::{Check, MultiLineText},
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        pagination::{Page, PageArgs, page_in_memory},
    },
    state::AppState,
};

use super::{find_membership, find_pool, lock_pool, require_admin, unless_inside};

/// Longest suspension an admin may impose.
pub const MAX_SUSPENSION_DAYS: i64 = 365;

/// A pool's code of conduct: versioned text its rules carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeOfConduct {
    pub version: i32,
    pub text: String,
}

/// The pool's code of conduct, read from its governance settings.
pub fn code_of(pool: &pool::Model) -> Option<CodeOfConduct> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Part {
        #[serde(default)]
        code_of_conduct: Option<CodeOfConduct>,
    }
    serde_json::from_value::<Part>(pool.governance.clone())
        .ok()
        .and_then(|p| p.code_of_conduct)
}

/// The version a person joining accepts: the pool's current one, which
/// they must name; none if the pool has no code.
pub fn accepted_on_joining(
    pool: &pool::Model,
    given: Option<i32>,
    path: &str,
) -> Result<Option<i32>, FieldError> {
    match (code_of(pool), given) {
        (None, _) => Ok(None),
        (Some(code), Some(v)) if v == code.version => Ok(Some(v)),
        (Some(code), _) => Err(FieldError::new(
            path,
            format!(
                "the pool's rules ask new members to accept its code of conduct: read version {} (pool.codeOfConduct) and give that number",
                code.version
            ),
        )),
    }
}

/// A member accepts the pool's current code of conduct (members who joined
/// before it, or before its last version).
pub async fn accept_code(
    state: &AppState,
    actor: &Actor,
    pool_id: Uuid,
    version: i32,
) -> AppResult<membership::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, pool_id).await?;
    let member = super::require_member(&txn, &pool, actor.user_id).await?;
    let Some(code) = code_of(&pool) else {
        return Err(AppError::Conflict(
            "this pool's rules have no code of conduct".into(),
        ));
    };
    if version != code.version {
        return Err(AppError::invalid(
            "version",
            format!("the current code of conduct is version {}", code.version),
        ));
    }
    let before = member.clone();
    let mut active: membership::ActiveModel = member.into();
    let now = Utc::now();
    active.conduct_version = Set(Some(version));
    active.conduct_accepted_at = Set(Some(now));
    active.updated_at = Set(now);
    let after = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::MemberConductAccepted, "Member", after.id)
            .in_pool(&pool)
            .diff(&before, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

pub struct SuspendInput {
    pub member_id: Uuid,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

/// An admin suspends another active member until `ends_at`, with a reason.
pub async fn suspend(
    state: &AppState,
    actor: &Actor,
    input: SuspendInput,
) -> AppResult<Suspension> {
    let txn = begin_write(&state.db).await?;
    let member = find_membership(&txn, input.member_id).await?;
    let pool = find_pool(&txn, member.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await;
    let admin = unless_inside(&txn, &pool, actor.user_id, "member", member.id, admin).await?;
    let now = Utc::now();
    let mut check = Check::default();
    let reason = check.field(MultiLineText::<1, 2000>::parse(
        &input.reason,
        "input.reason",
    ));
    if input.ends_at <= now + Duration::hours(1)
        || input.ends_at > now + Duration::days(MAX_SUSPENSION_DAYS)
    {
        check.field::<()>(Err(FieldError::new(
            "input.endsAt",
            format!("must be more than an hour and at most {MAX_SUSPENSION_DAYS} days from now"),
        )));
    }
    let Some(reason) = reason.filter(|_| check.is_empty()) else {
        return Err(check.into_error());
    };
    if member.id == admin.id {
        return Err(AppError::Conflict(
            "admins cannot suspend themselves".into(),
        ));
    }
    if member.status != entities::membership::MembershipStatus::Active {
        return Err(AppError::Conflict(
            "only an active member can be suspended".into(),
        ));
    }
    lock_pool(&txn, pool.id).await?;
    if in_force(&txn, member.id, now).await?.is_some() {
        return Err(AppError::Conflict(
            "this member is already suspended; lift that suspension first to set another".into(),
        ));
    }
    let suspension = member_suspension::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        membership_id: Set(member.id),
        reason: Set(reason.into_inner()),
        suspended_by: Set(admin.id),
        starts_at: Set(now),
        ends_at: Set(input.ends_at),
        lifted_at: Set(None),
        lift_reason: Set(None),
        appeal_proposal_id: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::MemberSuspended, "Member", member.id)
            .in_pool(&pool)
            .created(&suspension),
    )
    .await?;
    txn.commit().await?;
    Ok(suspension)
}

/// An admin ends a suspension before its time, saying why.
pub async fn lift(
    state: &AppState,
    actor: &Actor,
    suspension_id: Uuid,
    reason: &str,
) -> AppResult<Suspension> {
    let txn = begin_write(&state.db).await?;
    let suspension = find(&txn, suspension_id).await?;
    let pool = find_pool(&txn, suspension.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await;
    unless_inside(
        &txn,
        &pool,
        actor.user_id,
        "suspension",
        suspension.id,
        admin,
    )
    .await?;
    let reason = MultiLineText::<1, 2000>::parse(reason, "reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    lock_pool(&txn, pool.id).await?;
    let suspension = find(&txn, suspension_id).await?;
    if !suspension.in_force(Utc::now()) {
        return Err(AppError::Conflict(
            "this suspension has already ended".into(),
        ));
    }
    let after = end(&txn, &suspension, reason.as_str()).await?;
    audit::record(
        &txn,
        actor,
        Change::new(
            Action::MemberSuspensionLifted,
            "Member",
            after.membership_id,
        )
        .in_pool(&pool)
        .diff(&suspension, &after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

async fn end(db: &impl ConnectionTrait, s: &Suspension, reason: &str) -> AppResult<Suspension> {
    let mut active: member_suspension::ActiveModel = s.clone().into();
    active.lifted_at = Set(Some(Utc::now()));
    active.lift_reason = Set(Some(reason.to_owned()));
    Ok(active.update(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Suspension> {
    member_suspension::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| crate::auth::access::not_found("suspension", id))
}

/// The member's suspension in force at `now`, if any.
pub async fn in_force(
    db: &impl ConnectionTrait,
    membership_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Option<Suspension>> {
    Ok(member_suspension::Entity::find()
        .filter(member_suspension::Column::MembershipId.eq(membership_id))
        .filter(member_suspension::Column::LiftedAt.is_null())
        .filter(member_suspension::Column::StartsAt.lte(now))
        .filter(member_suspension::Column::EndsAt.gt(now))
        .one(db)
        .await?)
}

/// The members of a pool suspended at `now`.
pub async fn suspended_in(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<HashSet<Uuid>> {
    Ok(member_suspension::Entity::find()
        .filter(member_suspension::Column::PoolId.eq(pool_id))
        .filter(member_suspension::Column::LiftedAt.is_null())
        .filter(member_suspension::Column::StartsAt.lte(now))
        .filter(member_suspension::Column::EndsAt.gt(now))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.membership_id)
        .collect())
}

/// Refuses `what` (voting, proposing) to a suspended member.
pub async fn require_not_suspended(
    db: &impl ConnectionTrait,
    member: &membership::Model,
    what: &str,
) -> AppResult<()> {
    match in_force(db, member.id, Utc::now()).await? {
        Some(s) => Err(AppError::Forbidden(format!(
            "you are suspended until {} and cannot {what} until then",
            s.ends_at.to_rfc3339()
        ))),
        None => Ok(()),
    }
}

/// Links an appeal's proposal to the suspension it appeals; once only.
pub async fn record_appeal(
    db: &impl ConnectionTrait,
    suspension: &Suspension,
    proposal_id: Uuid,
) -> AppResult<()> {
    let claimed = member_suspension::Entity::update_many()
        .col_expr(
            member_suspension::Column::AppealProposalId,
            Expr::value(proposal_id),
        )
        .filter(member_suspension::Column::Id.eq(suspension.id))
        .filter(member_suspension::Column::AppealProposalId.is_null())
        .exec(db)
        .await?;
    if claimed.rows_affected == 0 {
        return Err(AppError::Conflict(
            "this suspension has already been appealed".into(),
        ));
    }
    Ok(())
}

/// When an appeal passes, the suspension it appeals ends (in the counting
/// transaction); otherwise it stands.
pub async fn on_appeal_closed(
    db: &impl ConnectionTrait,
    by: &Author,
    proposal_id: Uuid,
    kind: ProposalKind,
    outcome: Outcome,
) -> AppResult<()> {
    if kind != ProposalKind::Appeal || outcome != Outcome::Passed {
        return Ok(());
    }
    let Some(s) = member_suspension::Entity::find()
        .filter(member_suspension::Column::AppealProposalId.eq(proposal_id))
        .one(db)
        .await?
    else {
        return Ok(());
    };
    if !s.in_force(Utc::now()) {
        return Ok(());
    }
    let after = end(db, &s, "lifted on appeal: the members passed the appeal").await?;
    let pool = find_pool(db, s.pool_id).await?;
    audit::record(
        db,
        by.clone(),
        Change::new(Action::MemberSuspensionLifted, "Member", s.membership_id)
            .in_pool(&pool)
            .diff(&s, &after),
    )
    .await?;
    Ok(())
}

/// A member's suspensions, oldest first, for the pool's readers: the
/// register shows them. `load` reads them (a request's loader).
pub async fn listed(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageArgs,
    load: impl AsyncFnOnce() -> AppResult<Vec<Suspension>>,
) -> AppResult<Page<Suspension>> {
    super::require_reader_as(&state.db, pool, actor).await?;
    let page = page.parse()?;
    Ok(page_in_memory(load().await?, |s| s.id, &page))
}

/// The member's suspension in force now, for the pool's readers.
pub async fn current(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    load: impl AsyncFnOnce() -> AppResult<Vec<Suspension>>,
) -> AppResult<Option<Suspension>> {
    super::require_reader_as(&state.db, pool, actor).await?;
    let now = Utc::now();
    Ok(load().await?.into_iter().find(|s| s.in_force(now)))
}
