//! Proposals and polls: creating them, voting, delegating and closing.

pub mod closing;
pub mod tally;
pub mod voting;

use chrono::{DateTime, Utc};
use entities::{
    membership, pool,
    proposal::{self, ProposalKind, ProposalStatus},
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
    catalogue::VotingRule,
    domain::{Check, MultiLineText, SingleLineText},
    error::{AppError, AppResult, FieldError},
    services::audit::{self, Action, Change},
    services::{
        begin_write,
        formations::governance::Governance,
        membership::{find_pool, require_member, require_reader},
        pagination::{Page, PageRequest, paginate},
    },
    state::AppState,
};

use self::tally::PROPOSAL_OPTIONS;

/// How long a proposal stays open when its author does not say.
pub const DEFAULT_VOTING_DAYS: i64 = 7;

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
    if input.kind == ProposalKind::Expense {
        return Err(AppError::invalid(
            "input.kind",
            "submit expenses with submitExpense",
        ));
    }
    let proposal = insert(&txn, &pool, &author, input).await?;
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
    pool: &pool::Model,
    author: &membership::Model,
    input: CreateInput,
) -> AppResult<proposal::Model> {
    let governance: Governance = serde_json::from_value(pool.governance.clone())
        .map_err(|e| AppError::internal(anyhow::anyhow!("pool governance unreadable: {e}")))?;
    let groups = stakeholder_group::Entity::find()
        .filter(stakeholder_group::Column::PoolId.eq(pool.id))
        .all(db)
        .await?;
    let mut check = Check::default();
    let title = check.field(SingleLineText::<1, 200>::parse(&input.title, "input.title"));
    let body = check.field(MultiLineText::<0, 20_000>::parse(&input.body, "input.body"));
    let options: Vec<String> = match input.kind {
        ProposalKind::Poll => {
            let mut opts = Vec::new();
            for (i, o) in input.options.iter().enumerate() {
                if let Some(o) = check.field(SingleLineText::<1, 200>::parse(
                    o,
                    &format!("input.options[{i}]"),
                )) {
                    let o = o.into_inner();
                    if opts.iter().any(|x: &String| x.eq_ignore_ascii_case(&o)) {
                        check.field::<()>(Err(FieldError::new(
                            format!("input.options[{i}]"),
                            "is listed twice",
                        )));
                    }
                    opts.push(o);
                }
            }
            if !(2..=20).contains(&input.options.len()) {
                check.field::<()>(Err(FieldError::new(
                    "input.options",
                    "a poll needs between 2 and 20 options",
                )));
            }
            opts
        }
        _ => {
            if !input.options.is_empty() {
                check.field::<()>(Err(FieldError::new("input.options", "a proposal's options are always agree, abstain, disagree and block; leave them out")));
            }
            PROPOSAL_OPTIONS.iter().map(|o| (*o).to_owned()).collect()
        }
    };
    let now = Utc::now();
    let closes_at = input
        .closes_at
        .unwrap_or(now + chrono::Duration::days(DEFAULT_VOTING_DAYS));
    if closes_at <= now + chrono::Duration::minutes(1)
        || closes_at > now + chrono::Duration::days(366)
    {
        check.field::<()>(Err(FieldError::new(
            "input.closesAt",
            "must be between a minute and a year from now",
        )));
    }
    let percent = |v: Option<i32>, default: i32, path: &str, max: i32, check: &mut Check| {
        let v = v.unwrap_or(default);
        check.field(if (0..=max).contains(&v) {
            Ok(v)
        } else {
            Err(FieldError::new(
                path,
                format!("must be between 0 and {max}"),
            ))
        })
    };
    let quorum = percent(
        input.quorum_percent,
        governance.default_quorum_percent,
        "input.quorumPercent",
        100,
        &mut check,
    );
    let threshold = percent(
        input.pass_threshold_percent,
        governance.default_pass_threshold_percent,
        "input.passThresholdPercent",
        99,
        &mut check,
    );
    let eligible: Vec<Uuid> = match input.eligible_group_ids {
        None => groups
            .iter()
            .filter(|g| g.voting_weight > 0)
            .map(|g| g.id)
            .collect(),
        Some(ids) => {
            for (i, id) in ids.iter().enumerate() {
                match groups.iter().find(|g| g.id == *id) {
                    None => check.field::<()>(Err(FieldError::new(
                        format!("input.eligibleGroupIds[{i}]"),
                        "is not a stakeholder group of this pool",
                    ))),
                    Some(g) if g.voting_weight == 0 => check.field::<()>(Err(FieldError::new(
                        format!("input.eligibleGroupIds[{i}]"),
                        format!("{} is a non-voting group (weight 0)", g.name),
                    ))),
                    Some(_) => None,
                };
            }
            ids
        }
    };
    if eligible.is_empty() {
        check.field::<()>(Err(FieldError::new(
            "input.eligibleGroupIds",
            "at least one voting group must be eligible",
        )));
    }
    let (Some(title), Some(body), Some(quorum), Some(threshold)) = (title, body, quorum, threshold)
    else {
        return Err(check.into_error());
    };
    if !check.is_empty() {
        return Err(check.into_error());
    }
    let rule = input.voting_rule.unwrap_or(governance.voting_rule);
    let proposal = proposal::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        author_membership_id: Set(author.id),
        title: Set(title.into_inner()),
        body: Set(body.into_inner()),
        kind: Set(input.kind),
        options: Set(Value::from(options)),
        closes_at: Set(closes_at),
        quorum_percent: Set(quorum),
        pass_threshold_percent: Set(threshold),
        voting_rule: Set(rule_name(rule).to_owned()),
        eligible_group_ids: Set(Value::from(
            eligible.iter().map(Uuid::to_string).collect::<Vec<_>>(),
        )),
        status: Set(ProposalStatus::Open),
        outcome: Set(None),
        result: Set(None),
        closed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    closing::schedule(db, &proposal).await?;
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
    let reader = require_reader(&state.db, &pool, actor.user_id).await;
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
    require_reader(&state.db, pool, actor.user_id).await?;
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
    require_reader(&state.db, &pool, actor.user_id).await?;
    let select = vote::Entity::find().filter(vote::Column::ProposalId.eq(proposal.id));
    paginate(&state.db, select, vote::Column::Id, page).await
}
