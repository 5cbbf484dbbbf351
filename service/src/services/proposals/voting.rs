//! Casting votes and delegating them.

use chrono::Utc;
use entities::{
    delegation,
    membership::{self, MembershipStatus},
    proposal::{self, ProposalStatus},
    stakeholder_group, vote,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::MultiLineText,
    error::{AppError, AppResult},
    services::audit::{self, Action, Change},
    services::membership::sanctions::require_not_suspended,
    services::{
        begin_write, lock,
        membership::{find_membership, find_pool, require_member, unless_inside},
    },
    state::AppState,
};

use super::{eligible_groups_of, find, options_of};

pub struct CastInput {
    pub proposal_id: Uuid,
    pub choice: String,
    pub reason: Option<String>,
}

/// Casts or changes the caller's vote while the proposal is open.
pub async fn cast(state: &AppState, actor: &Actor, input: CastInput) -> AppResult<vote::Model> {
    let txn = begin_write(&state.db).await?;
    let proposal = find(&txn, input.proposal_id).await?;
    let pool = find_pool(&txn, proposal.pool_id).await?;
    let member = require_member(&txn, &pool, actor.user_id).await;
    let member = unless_inside(&txn, &pool, actor.user_id, "proposal", proposal.id, member).await?;
    require_not_suspended(&txn, &member, "vote").await?;
    require_voting_group(&txn, &proposal, member.stakeholder_group_id).await?;
    hold_open(&txn, &proposal).await?;
    let options = options_of(&proposal);
    let choice = options
        .iter()
        .find(|o| o.eq_ignore_ascii_case(input.choice.trim()))
        .cloned()
        .ok_or_else(|| {
            AppError::invalid(
                "input.choice",
                format!("choose one of: {}", options.join(", ")),
            )
        })?;
    let reason = match input.reason.as_deref() {
        Some(r) => Some(
            MultiLineText::<0, 2000>::parse(r, "input.reason")
                .map_err(|e| AppError::Validation(vec![e]))?
                .into_inner(),
        ),
        None => None,
    }
    .filter(|r| !r.is_empty());
    let now = Utc::now();
    let previous = vote::Entity::find()
        .filter(vote::Column::ProposalId.eq(proposal.id))
        .filter(vote::Column::MembershipId.eq(member.id))
        .one(&txn)
        .await?;
    // One vote per member: a second call changes it.
    vote::Entity::insert(vote::ActiveModel {
        id: Set(Uuid::now_v7()),
        proposal_id: Set(proposal.id),
        membership_id: Set(member.id),
        choice: Set(choice),
        reason: Set(reason),
        cast_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([vote::Column::ProposalId, vote::Column::MembershipId])
            .update_columns([
                vote::Column::Choice,
                vote::Column::Reason,
                vote::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    let stored = vote::Entity::find()
        .filter(vote::Column::ProposalId.eq(proposal.id))
        .filter(vote::Column::MembershipId.eq(member.id))
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("vote vanished after upsert")))?;
    let change = match &previous {
        Some(before) => Change::new(Action::VoteChanged, "Vote", stored.id).diff(before, &stored),
        None => Change::new(Action::VoteCast, "Vote", stored.id).created(&stored),
    };
    audit::record(&txn, actor, change.in_pool(&pool)).await?;
    txn.commit().await?;
    Ok(stored)
}

/// Holds the proposal open for this transaction: the row lock (or SQLite's
/// write lock) orders votes and closing, so no vote lands after the count.
async fn hold_open(db: &impl ConnectionTrait, proposal: &proposal::Model) -> AppResult<()> {
    let held = proposal::Entity::update_many()
        .col_expr(
            proposal::Column::UpdatedAt,
            Expr::col(proposal::Column::UpdatedAt),
        )
        .filter(proposal::Column::Id.eq(proposal.id))
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .filter(proposal::Column::ClosesAt.gt(Utc::now()))
        .exec(db)
        .await?;
    if held.rows_affected == 0 {
        return Err(AppError::Conflict(
            "voting on this proposal has closed".into(),
        ));
    }
    Ok(())
}

async fn require_voting_group(
    db: &impl ConnectionTrait,
    proposal: &proposal::Model,
    group_id: Uuid,
) -> AppResult<()> {
    let group = stakeholder_group::Entity::find_by_id(group_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("membership without group")))?;
    if group.voting_weight == 0 {
        return Err(AppError::Forbidden(format!(
            "members of {} take part in discussion but do not vote",
            group.name
        )));
    }
    if !eligible_groups_of(proposal).contains(&group_id) {
        return Err(AppError::Forbidden(format!(
            "members of {} are not eligible to vote on this proposal",
            group.name
        )));
    }
    Ok(())
}

/// Hands the caller's vote to another member of their group, for one
/// proposal or (without one) for every proposal until revoked.
pub async fn delegate(
    state: &AppState,
    actor: &Actor,
    proposal_id: Option<Uuid>,
    to_member: Uuid,
) -> AppResult<delegation::Model> {
    let txn = begin_write(&state.db).await?;
    let delegate = find_membership(&txn, to_member).await?;
    let pool = find_pool(&txn, delegate.pool_id).await?;
    let me = require_member(&txn, &pool, actor.user_id).await;
    let me = unless_inside(&txn, &pool, actor.user_id, "member", to_member, me).await?;
    require_not_suspended(&txn, &me, "hand your vote to another member").await?;
    // One delegator's changes in turn: two at once would both revoke
    // nothing and leave two live delegations.
    lock::<membership::Entity>(&txn, me.id).await?;
    if delegate.id == me.id {
        return Err(AppError::invalid(
            "input.toMemberId",
            "you cannot delegate to yourself",
        ));
    }
    if delegate.status != MembershipStatus::Active
        || delegate.stakeholder_group_id != me.stakeholder_group_id
    {
        return Err(AppError::invalid(
            "input.toMemberId",
            "delegate to an active member of your own stakeholder group",
        ));
    }
    if let Some(id) = proposal_id {
        let proposal = find(&txn, id).await?;
        if proposal.pool_id != pool.id {
            return Err(AppError::invalid(
                "input.proposalId",
                "is not a proposal of this pool",
            ));
        }
        if proposal.status != ProposalStatus::Open {
            return Err(AppError::Conflict(
                "voting on this proposal has closed".into(),
            ));
        }
        require_voting_group(&txn, &proposal, me.stakeholder_group_id).await?;
    }
    revoke_in(&txn, me.id, proposal_id).await?;
    let created = delegation::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        proposal_id: Set(proposal_id),
        delegator_membership_id: Set(me.id),
        delegate_membership_id: Set(delegate.id),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::DelegationCreated, "Delegation", created.id)
            .in_pool(&pool)
            .created(&created),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Ends the caller's delegation for one proposal, or the standing one.
pub async fn revoke(
    state: &AppState,
    actor: &Actor,
    pool_id: Uuid,
    proposal_id: Option<Uuid>,
) -> AppResult<()> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, pool_id).await?;
    let me = require_member(&txn, &pool, actor.user_id).await?;
    if revoke_in(&txn, me.id, proposal_id).await? == 0 {
        return Err(AppError::NotFound("you have no such delegation".into()));
    }
    audit::record(
        &txn,
        actor,
        Change::new(Action::DelegationRevoked, "Member", me.id)
            .in_pool(&pool)
            .with("proposalId", proposal_id.map(|id| id.to_string())),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn revoke_in(
    db: &impl ConnectionTrait,
    delegator: Uuid,
    proposal_id: Option<Uuid>,
) -> AppResult<u64> {
    let mut update = delegation::Entity::update_many()
        .col_expr(delegation::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(delegation::Column::DelegatorMembershipId.eq(delegator))
        .filter(delegation::Column::RevokedAt.is_null());
    update = match proposal_id {
        Some(id) => update.filter(delegation::Column::ProposalId.eq(id)),
        None => update.filter(delegation::Column::ProposalId.is_null()),
    };
    Ok(update.exec(db).await?.rows_affected)
}
