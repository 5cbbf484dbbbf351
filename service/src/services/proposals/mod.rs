//! Proposals and polls: creating them, voting, delegating and closing.

pub mod appeals;
pub mod closing;
pub mod delegations;
pub mod dissolution;
mod fields;
pub mod spin_out;
#[cfg(test)]
mod stated;
pub mod tally;
pub mod voting;

use chrono::{DateTime, Utc};
use entities::{
    membership, pool,
    proposal::{self, ProposalKind, ProposalStatus, RulesChangeStatus},
    stakeholder_group, vote,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth::Actor,
    catalogue::{Catalogue, VotingRule},
    error::{AppError, AppResult},
    services::audit::{self, Action, Change},
    services::notifications,
    services::{
        begin_write,
        membership::{
            find_pool, lock_pool, require_member, require_reader_as,
            sanctions::require_not_suspended,
        },
        pagination::{Page, PageRequest, paginate},
        pool_moves,
        rules::{self, change::RuleChange},
    },
    state::AppState,
};

pub struct CreateInput {
    pub pool_id: Uuid,
    pub title: String,
    pub body: String,
    pub kind: ProposalKind,
    pub options: Vec<String>,
    pub closes_at: Option<DateTime<Utc>>,
    pub quorum_percent: Option<i32>,
    pub pass_threshold_percent: Option<i32>,
    pub voting_rule: Option<VotingRule>,
    pub eligible_group_ids: Option<Vec<Uuid>>,
    /// A `RULES_CHANGE` proposal's changes; only for that kind.
    pub rules_change: Option<Vec<RuleChange>>,
    /// A `MOVE` proposal's receiving parent entity; only for that kind.
    pub move_to: Option<Uuid>,
    /// A `SPIN_OUT` proposal's template and new entity; only for that kind.
    pub spin_out: Option<spin_out::SpinOutChoice>,
    /// A `DISSOLUTION` proposal's recipient of the remaining funds; only
    /// for that kind.
    pub dissolution: Option<dissolution::DissolutionChoice>,
    /// An `ASSEMBLY_VOTE` proposal's fund application; only for that kind.
    pub fund_application: Option<Uuid>,
}

/// Puts a proposal or poll to the members (any active member may).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: CreateInput,
) -> AppResult<proposal::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    let author = require_member(&txn, &pool, actor.user_id).await?;
    require_not_suspended(&txn, &author, "propose").await?;
    match input.kind {
        ProposalKind::Expense => {
            return Err(AppError::invalid(
                "input.kind",
                "submit expenses with submitExpense",
            ));
        }
        ProposalKind::Appeal => {
            return Err(AppError::invalid(
                "input.kind",
                "a suspended member appeals with appealSuspension",
            ));
        }
        _ => {}
    }
    let proposal = insert(&txn, &state.catalogue, &pool, &author, input).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ProposalCreated, "Proposal", proposal.id)
            .in_pool(&pool)
            .created(&proposal),
    )
    .await?;
    txn.commit().await?;
    Ok(proposal)
}

/// Validates and inserts a proposal; defaults come from the pool's rules.
pub(crate) async fn insert(
    db: &impl ConnectionTrait,
    catalogue: &Catalogue,
    pool: &pool::Model,
    author: &membership::Model,
    mut input: CreateInput,
) -> AppResult<proposal::Model> {
    let governance = rules::governance_of(pool)?;
    let groups = stakeholder_group::Entity::find()
        .filter(stakeholder_group::Column::PoolId.eq(pool.id))
        .all(db)
        .await?;
    let now = Utc::now();
    let changes = input.rules_change.take();
    let move_to = input.move_to.take();
    let spin_out = input.spin_out.take();
    let dissolving = input.dissolution.take();
    let fund_application = input.fund_application.take();
    let f = fields::parse(input, &governance, &groups, now)?;
    let move_to = match (f.kind, move_to) {
        (ProposalKind::Move, Some(to)) => {
            let refused = pool_moves::refusals(db, catalogue, pool, to, "input.moveTo").await?;
            if !refused.is_empty() {
                return Err(AppError::Validation(refused));
            }
            lock_pool(db, pool.id).await?;
            spin_out::refuse_while_spinning_out(db, pool.id).await?;
            dissolution::refuse_while_dissolving(db, pool.id).await?;
            Some(to)
        }
        (ProposalKind::Move, None) => {
            return Err(AppError::invalid(
                "input.moveTo",
                "a move proposal names the parent entity the pool moves to",
            ));
        }
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "input.moveTo",
                "only a MOVE proposal names a parent entity to move to",
            ));
        }
        (_, None) => None,
    };
    let spin_out = match (f.kind, spin_out) {
        (ProposalKind::SpinOut, Some(choice)) => {
            // One at a time: two proposals made at once see each other.
            lock_pool(db, pool.id).await?;
            dissolution::refuse_while_dissolving(db, pool.id).await?;
            Some(spin_out::check(db, catalogue, pool, &choice).await?)
        }
        (ProposalKind::SpinOut, None) => {
            return Err(AppError::invalid(
                "input.spinOut",
                "a spin-out proposal names the legal template and the new entity",
            ));
        }
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "input.spinOut",
                "only a SPIN_OUT proposal names a legal template to spin out under",
            ));
        }
        (_, None) => None,
    };
    let (spin_out_template_id, spin_out_entity_name) = spin_out.unzip();
    let dissolving = match (f.kind, dissolving) {
        (ProposalKind::Dissolution, Some(choice)) => {
            Some(dissolution::check(db, pool, choice).await?)
        }
        (ProposalKind::Dissolution, None) => {
            return Err(AppError::invalid(
                "input.dissolution",
                "a dissolution proposal says where the remaining funds go",
            ));
        }
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "input.dissolution",
                "only a DISSOLUTION proposal says where the remaining funds go",
            ));
        }
        (_, None) => None,
    };
    let fund_application = match (f.kind, fund_application) {
        (ProposalKind::AssemblyVote, Some(id)) => Some(
            crate::services::commons::fund::assembly::check_proposal(db, pool, id, f.closes_at)
                .await?,
        ),
        (ProposalKind::AssemblyVote, None) => {
            return Err(AppError::invalid(
                "input.fundApplicationId",
                "an assembly vote proposal names the fund application it decides on",
            ));
        }
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "input.fundApplicationId",
                "only an ASSEMBLY_VOTE proposal names a fund application",
            ));
        }
        (_, None) => None,
    };
    let coop = dissolving.as_ref().and_then(|d| d.coop.clone());
    // The changes are checked once the fields are: an answer names every
    // wrong field first, then every change that could never be adopted.
    let (rules_change, base_version, status) = match (f.kind, changes) {
        (ProposalKind::RulesChange, Some(changes)) => {
            let (proposed, base) = rules::propose(db, catalogue, pool, changes).await?;
            (
                Some(serde_json::to_value(&proposed).map_err(AppError::internal)?),
                Some(base),
                Some(RulesChangeStatus::Voting),
            )
        }
        (ProposalKind::RulesChange, None) => {
            return Err(AppError::invalid(
                "input.rulesChange",
                "a rules change proposal says what it changes",
            ));
        }
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "input.rulesChange",
                "only a RULES_CHANGE proposal carries changes to the rules",
            ));
        }
        (_, None) => (None, None, None),
    };
    let proposal = proposal::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        author_membership_id: Set(author.id),
        title: Set(f.title),
        body: Set(f.body),
        kind: Set(f.kind),
        options: Set(Value::from(f.options)),
        closes_at: Set(f.closes_at),
        quorum_percent: Set(f.quorum),
        pass_threshold_percent: Set(f.threshold),
        voting_rule: Set(rule_name(f.rule).to_owned()),
        eligible_group_ids: Set(Value::from(
            f.eligible.iter().map(Uuid::to_string).collect::<Vec<_>>(),
        )),
        status: Set(ProposalStatus::Open),
        outcome: Set(None),
        result: Set(None),
        closed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        rules_change: Set(rules_change),
        rules_base_version: Set(base_version),
        rules_change_status: Set(status),
        move_to_parent_id: Set(move_to),
        spin_out_template_id: Set(spin_out_template_id),
        spin_out_entity_name: Set(spin_out_entity_name),
        dissolution_recipient: Set(dissolving
            .as_ref()
            .map(|d| dissolution::recipient_name(d.recipient).to_owned())),
        dissolution_coop_name: Set(coop.as_ref().map(|c| c.name.clone())),
        dissolution_coop_number: Set(coop.as_ref().map(|c| c.registration_number.clone())),
        dissolution_coop_jurisdiction: Set(coop.map(|c| c.jurisdiction)),
        fund_application_id: Set(fund_application),
    }
    .insert(db)
    .await?;
    closing::schedule(db, &proposal).await?;
    let voters = closing::voters(db, &proposal).await?;
    notifications::proposal_opened(db, proposal.id, proposal.closes_at, &voters).await?;
    Ok(proposal)
}

pub fn rule_name(rule: VotingRule) -> &'static str {
    match rule {
        VotingRule::OneMemberOneVote => "ONE_MEMBER_ONE_VOTE",
        VotingRule::WeightedByGroup => "WEIGHTED_BY_GROUP",
    }
}

pub fn parse_rule(stored: &str) -> VotingRule {
    if stored == "WEIGHTED_BY_GROUP" {
        VotingRule::WeightedByGroup
    } else {
        VotingRule::OneMemberOneVote
    }
}

pub fn options_of(p: &proposal::Model) -> Vec<String> {
    p.options
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn eligible_groups_of(p: &proposal::Model) -> Vec<Uuid> {
    p.eligible_group_ids
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                .collect()
        })
        .unwrap_or_default()
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<proposal::Model> {
    proposal::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| crate::auth::access::not_found("proposal", id))
}

/// A proposal, locked for the write transaction (see `services::lock`).
pub async fn find_locked(txn: &DatabaseTransaction, id: Uuid) -> AppResult<proposal::Model> {
    crate::services::lock::<proposal::Entity>(txn, id)
        .await?
        .ok_or_else(|| crate::auth::access::not_found("proposal", id))
}

/// A proposal, for the pool's members and the parent's overseers.
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<proposal::Model> {
    let proposal = find(&state.db, id).await?;
    let pool = find_pool(&state.db, proposal.pool_id).await?;
    let reader = require_reader_as(&state.db, &pool, actor).await;
    crate::services::membership::unless_inside(
        &state.db,
        &pool,
        actor.user_id,
        "proposal",
        id,
        reader,
    )
    .await?;
    Ok(proposal)
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    status: Option<ProposalStatus>,
    page: PageRequest,
) -> AppResult<Page<proposal::Model>> {
    require_reader_as(&state.db, pool, actor).await?;
    let mut select = proposal::Entity::find().filter(proposal::Column::PoolId.eq(pool.id));
    if let Some(status) = status {
        select = select.filter(proposal::Column::Status.eq(status));
    }
    paginate(&state.db, select, proposal::Column::Id, page).await
}

/// The votes on a proposal: open to the pool's members, as in an assembly.
pub async fn votes(
    state: &AppState,
    actor: &Actor,
    proposal: &proposal::Model,
    page: PageRequest,
) -> AppResult<Page<vote::Model>> {
    let pool = find_pool(&state.db, proposal.pool_id).await?;
    require_reader_as(&state.db, &pool, actor).await?;
    let select = vote::Entity::find().filter(vote::Column::ProposalId.eq(proposal.id));
    paginate(&state.db, select, vote::Column::Id, page).await
}
