//! A pool's rules over time: the versions adopted, and the `RULES_CHANGE`
//! proposals that adopt them. A change is checked when proposed, shown to
//! the members as the exact document it would make, and applied in the
//! transaction that counts its vote (or a steward's approval), exactly as
//! voted or not at all.

pub mod change;

use std::collections::HashMap;

use chrono::Utc;
use entities::{
    membership::{self, MembershipStatus},
    parent_entity,
    pool::{self, PoolStatus},
    pool_rules_version::{self, Model as RulesVersion},
    proposal::{self, Outcome, ProposalKind, RulesChangeStatus},
    sliding_scale, stakeholder_group,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{Actor, access, permissions},
    catalogue::{Catalogue, LegalTemplate},
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Author, Change},
        begin_write,
        formations::governance::{Governance, render_rules},
        lock,
        membership::{find_pool, lock_pool, require_reader_as, unless_inside},
        notifications::{self, StewardTask},
        pagination::{Page, PageArgs, paginate},
    },
    state::AppState,
};

use crate::services::policy::RulesChangePolicy;
use change::{PoolState, RuleChange};

/// What a `RULES_CHANGE` proposal stores: the changes, and the rules and
/// document they make from the version they were proposed against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposed {
    pub changes: Vec<RuleChange>,
    pub governance: Governance,
    pub document: String,
    pub needs_parent_approval: bool,
}

impl Proposed {
    pub fn of(p: &proposal::Model) -> AppResult<Option<Self>> {
        p.rules_change
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored rules change unreadable: {e}")))
    }
}

/// Everything a change is checked against, read in the caller's transaction.
struct Loaded {
    parent: parent_entity::Model,
    governance: Governance,
    groups: Vec<stakeholder_group::Model>,
    members: HashMap<Uuid, u64>,
    scales: Vec<(sliding_scale::Interval, i64, i64)>,
    /// The version in force.
    current: RulesVersion,
    last_code_version: i32,
}

impl Loaded {
    async fn of(db: &impl ConnectionTrait, pool: &pool::Model) -> AppResult<Self> {
        let parent = parent_entity::Entity::find_by_id(pool.parent_entity_id)
            .one(db)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("pool without parent")))?;
        let groups = stakeholder_group::Entity::find()
            .filter(stakeholder_group::Column::PoolId.eq(pool.id))
            .all(db)
            .await?;
        let members: HashMap<Uuid, u64> = membership::Entity::find()
            .select_only()
            .column(membership::Column::StakeholderGroupId)
            .column_as(membership::Column::Id.count(), "n")
            .filter(membership::Column::PoolId.eq(pool.id))
            .filter(
                membership::Column::Status
                    .is_in([MembershipStatus::Active, MembershipStatus::Invited]),
            )
            .group_by(membership::Column::StakeholderGroupId)
            .into_tuple::<(Uuid, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(g, n)| (g, n.max(0) as u64))
            .collect();
        let scales = sliding_scale::Entity::find()
            .filter(sliding_scale::Column::PoolId.eq(pool.id))
            .filter(sliding_scale::Column::SupersededAt.is_null())
            .all(db)
            .await?
            .into_iter()
            .map(|s| (s.interval, s.minimum, s.maximum))
            .collect();
        // Every code of conduct the rules ever had, so a new one never
        // reuses a version number.
        let last_code_version = pool_rules_version::Entity::find()
            .select_only()
            .column(pool_rules_version::Column::Governance)
            .filter(pool_rules_version::Column::PoolId.eq(pool.id))
            .into_tuple::<serde_json::Value>()
            .all(db)
            .await?
            .iter()
            .filter_map(|g| g["codeOfConduct"]["version"].as_i64())
            .max()
            .unwrap_or(0) as i32;
        Ok(Self {
            parent,
            governance: governance_of(pool)?,
            groups,
            members,
            scales,
            current: current(db, pool.id).await?,
            last_code_version,
        })
    }

    fn state<'a>(
        &'a self,
        template: &'a LegalTemplate,
        policy: &'a RulesChangePolicy,
    ) -> PoolState<'a> {
        PoolState {
            governance: &self.governance,
            groups: &self.groups,
            members: &self.members,
            scales: &self.scales,
            template,
            parent_name: &self.parent.name,
            policy,
            allows_principle_exceptions: self.parent.allows_principle_exceptions,
            last_code_version: self.last_code_version,
        }
    }
}

pub fn governance_of(pool: &pool::Model) -> AppResult<Governance> {
    serde_json::from_value(pool.governance.clone())
        .map_err(|e| AppError::internal(anyhow::anyhow!("pool governance unreadable: {e}")))
}

fn template_of<'a>(catalogue: &'a Catalogue, pool: &pool::Model) -> AppResult<&'a LegalTemplate> {
    catalogue.template(&pool.legal_template_id).ok_or_else(|| {
        AppError::Conflict(format!(
            "the pool's legal template `{}` is no longer in the catalogue, so its rules cannot be regenerated",
            pool.legal_template_id
        ))
    })
}

/// Checks `changes` against the pool as it stands and renders the rules
/// they would make; answers the stored proposal and the version it is
/// proposed against. `VALIDATION` names each change that could never be
/// adopted.
pub async fn propose(
    db: &impl ConnectionTrait,
    catalogue: &Catalogue,
    pool: &pool::Model,
    changes: Vec<RuleChange>,
) -> AppResult<(Proposed, i32)> {
    let loaded = Loaded::of(db, pool).await?;
    let template = template_of(catalogue, pool)?;
    let policy = RulesChangePolicy::of(&loaded.parent);
    let governance = change::apply(&loaded.state(template, &policy), &changes)?;
    let document = render_rules(&pool.name, &loaded.parent.name, template, &governance);
    let needs_parent_approval = change::needs_parent_approval(&policy, &changes);
    Ok((
        Proposed {
            changes,
            governance,
            document,
            needs_parent_approval,
        },
        loaded.current.version,
    ))
}

/// The pool's rules in force.
pub async fn current(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<RulesVersion> {
    pool_rules_version::Entity::find()
        .filter(pool_rules_version::Column::PoolId.eq(pool_id))
        .order_by_desc(pool_rules_version::Column::Version)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("pool {pool_id} has no rules version")))
}

/// One version, by number.
pub async fn version(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    version: i32,
) -> AppResult<Option<RulesVersion>> {
    Ok(pool_rules_version::Entity::find()
        .filter(pool_rules_version::Column::PoolId.eq(pool_id))
        .filter(pool_rules_version::Column::Version.eq(version))
        .one(db)
        .await?)
}

/// Every version of a pool's rules, oldest first: for its readers.
pub async fn versions(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
    page: PageArgs,
) -> AppResult<Page<RulesVersion>> {
    require_reader_as(&state.db, pool, actor).await?;
    let page = page.parse()?;
    let select =
        pool_rules_version::Entity::find().filter(pool_rules_version::Column::PoolId.eq(pool.id));
    paginate(&state.db, select, pool_rules_version::Column::Id, page).await
}

/// The rules in force, for the pool's readers.
pub async fn current_for(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
) -> AppResult<RulesVersion> {
    require_reader_as(&state.db, pool, actor).await?;
    current(&state.db, pool.id).await
}

/// A unified diff from one document to another, as members read it.
pub fn diff(from: &str, to: &str, from_name: &str, to_name: &str) -> String {
    similar::TextDiff::from_lines(from, to)
        .unified_diff()
        .context_radius(2)
        .header(from_name, to_name)
        .to_string()
}

/// What a closed `RULES_CHANGE` proposal leads to, in the transaction that
/// counted it: nothing unless it passed; a wait for the parent where its
/// policy says so; else the change applies.
pub async fn on_closed(
    db: &impl ConnectionTrait,
    catalogue: &Catalogue,
    by: &Author,
    p: &proposal::Model,
    outcome: Outcome,
) -> AppResult<()> {
    if p.kind != ProposalKind::RulesChange {
        return Ok(());
    }
    let Some(proposed) = Proposed::of(p)? else {
        return Ok(());
    };
    if outcome != Outcome::Passed {
        return set_status(db, p.id, RulesChangeStatus::NotPassed).await;
    }
    if proposed.needs_parent_approval {
        set_status(db, p.id, RulesChangeStatus::AwaitingParent).await?;
        let pool = find_pool(db, p.pool_id).await?;
        return notifications::stewards_asked(
            db,
            pool.parent_entity_id,
            StewardTask::RulesChange { proposal_id: p.id },
        )
        .await;
    }
    adopt(db, catalogue, by, p, proposed).await
}

async fn set_status(
    db: &impl ConnectionTrait,
    proposal_id: Uuid,
    status: RulesChangeStatus,
) -> AppResult<()> {
    proposal::Entity::update_many()
        .col_expr(proposal::Column::RulesChangeStatus, Expr::value(status))
        .col_expr(proposal::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(proposal::Column::Id.eq(proposal_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Applies a passed change exactly as voted, or marks it lapsed when the
/// rules or the pool moved on since it was proposed.
async fn adopt(
    db: &impl ConnectionTrait,
    catalogue: &Catalogue,
    by: &Author,
    p: &proposal::Model,
    proposed: Proposed,
) -> AppResult<()> {
    // Locked: two changes passing at once adopt one after the other, and
    // the second finds the version moved.
    lock_pool(db, p.pool_id).await?;
    let pool = find_pool(db, p.pool_id).await?;
    let loaded = Loaded::of(db, &pool).await?;
    let template = template_of(catalogue, &pool)?;
    let policy = RulesChangePolicy::of(&loaded.parent);
    let base = p.rules_base_version.unwrap_or(0);
    let lapse = if loaded.current.version != base {
        Some(format!(
            "version {} of the rules was adopted while this change, proposed against version {base}, was open",
            loaded.current.version
        ))
    } else {
        match change::apply(&loaded.state(template, &policy), &proposed.changes) {
            Err(e) => Some(format!(
                "the pool changed since it was proposed: {}",
                e.message()
            )),
            Ok(g) if g != proposed.governance => {
                Some("the pool changed since it was proposed".to_owned())
            }
            Ok(_) => None,
        }
    };
    if let Some(reason) = lapse {
        set_status(db, p.id, RulesChangeStatus::Lapsed).await?;
        audit::record(
            db,
            by.clone(),
            Change::new(Action::RulesChangeLapsed, "Proposal", p.id)
                .in_pool(&pool)
                .with("reason", reason),
        )
        .await?;
        return Ok(());
    }
    let now = Utc::now();
    for change in &proposed.changes {
        apply_to_groups(db, &pool, change, now).await?;
    }
    let before = &loaded.current;
    let version = pool_rules_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        version: Set(before.version + 1),
        document: Set(proposed.document.clone()),
        governance: Set(serde_json::to_value(&proposed.governance).map_err(AppError::internal)?),
        adopted_at: Set(now),
        proposal_id: Set(Some(p.id)),
        diff: Set(Some(diff(
            &before.document,
            &proposed.document,
            &format!("version {}", before.version),
            &format!("version {}", before.version + 1),
        ))),
    }
    .insert(db)
    .await?;
    let mut active: pool::ActiveModel = pool.clone().into();
    active.governance = Set(version.governance.clone());
    active.rules_document = Set(version.document.clone());
    active.updated_at = Set(now);
    let after = active.update(db).await?;
    set_status(db, p.id, RulesChangeStatus::Adopted).await?;
    audit::record(
        db,
        by.clone(),
        Change::new(Action::RulesAdopted, "Pool", pool.id)
            .in_pool(&after)
            .with("version", version.version)
            .with("proposalId", p.id.to_string())
            .with("governance", version.governance.clone()),
    )
    .await?;
    Ok(())
}

/// What a change does to the group rows; changes to the other rules live
/// in the governance alone.
async fn apply_to_groups(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    change: &RuleChange,
    now: chrono::DateTime<Utc>,
) -> AppResult<()> {
    let update = |id: Uuid| {
        stakeholder_group::Entity::update_many().filter(stakeholder_group::Column::Id.eq(id))
    };
    match change {
        RuleChange::AddGroup {
            key,
            name,
            kind,
            voting_weight,
            admission,
            share_price,
        } => {
            stakeholder_group::ActiveModel {
                id: Set(Uuid::now_v7()),
                pool_id: Set(pool.id),
                key: Set(key.clone()),
                name: Set(name.clone()),
                kind: Set(*kind),
                voting_weight: Set(*voting_weight),
                share_price_minor: Set(*share_price),
                admission: Set(*admission),
                created_at: Set(now),
                retired_at: Set(None),
            }
            .insert(db)
            .await?;
        }
        RuleChange::RenameGroup { group_id, name } => {
            update(*group_id)
                .col_expr(stakeholder_group::Column::Name, Expr::value(name.clone()))
                .exec(db)
                .await?;
        }
        RuleChange::RetireGroup { group_id } => {
            update(*group_id)
                .col_expr(stakeholder_group::Column::RetiredAt, Expr::value(now))
                .exec(db)
                .await?;
        }
        RuleChange::SetVotingWeight {
            group_id,
            voting_weight,
        } => {
            update(*group_id)
                .col_expr(
                    stakeholder_group::Column::VotingWeight,
                    Expr::value(*voting_weight),
                )
                .exec(db)
                .await?;
        }
        RuleChange::SetAdmission {
            group_id,
            admission,
        } => {
            update(*group_id)
                .col_expr(
                    stakeholder_group::Column::Admission,
                    Expr::value(*admission),
                )
                .exec(db)
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// The parent's steward decides a change its policy holds for approval.
async fn decided_by_parent(
    state: &AppState,
    actor: &Actor,
    proposal_id: Uuid,
) -> AppResult<(
    sea_orm::DatabaseTransaction,
    proposal::Model,
    pool::Model,
    Proposed,
)> {
    let txn = begin_write(&state.db).await?;
    let p = lock::<proposal::Entity>(&txn, proposal_id)
        .await?
        .ok_or_else(|| access::not_found("proposal", proposal_id))?;
    let pool = find_pool(&txn, p.pool_id).await?;
    let steward = permissions::require_steward(&txn, pool.parent_entity_id, actor.user_id).await;
    unless_inside(&txn, &pool, actor.user_id, "proposal", proposal_id, steward).await?;
    // A pool that became an entity of its own has no rules here to change.
    if pool.status == PoolStatus::SpunOut {
        return Err(AppError::Conflict(
            "the pool has spun out, and its rules here no longer change".into(),
        ));
    }
    let proposed = match (p.rules_change_status, Proposed::of(&p)?) {
        (Some(RulesChangeStatus::AwaitingParent), Some(proposed)) => proposed,
        _ => {
            return Err(AppError::Conflict(
                "this proposal is not a rules change waiting for the parent's approval".into(),
            ));
        }
    };
    Ok((txn, p, pool, proposed))
}

/// A steward approves a passed change; it applies at once.
pub async fn approve(
    state: &AppState,
    actor: &Actor,
    proposal_id: Uuid,
) -> AppResult<proposal::Model> {
    let (txn, p, _pool, proposed) = decided_by_parent(state, actor, proposal_id).await?;
    adopt(&txn, &state.catalogue, &actor.into(), &p, proposed).await?;
    let after = reread(&txn, proposal_id).await?;
    txn.commit().await?;
    Ok(after)
}

/// A steward declines a passed change, saying why; nothing applies.
pub async fn decline(
    state: &AppState,
    actor: &Actor,
    proposal_id: Uuid,
    reason: &str,
) -> AppResult<proposal::Model> {
    let (txn, p, pool, _) = decided_by_parent(state, actor, proposal_id).await?;
    let reason = crate::domain::MultiLineText::<1, 2000>::parse(reason, "reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    set_status(&txn, p.id, RulesChangeStatus::DeclinedByParent).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::RulesChangeDeclined, "Proposal", p.id)
            .in_pool(&pool)
            .with("reason", reason.into_inner()),
    )
    .await?;
    let after = reread(&txn, proposal_id).await?;
    txn.commit().await?;
    Ok(after)
}

async fn reread(db: &impl ConnectionTrait, id: Uuid) -> AppResult<proposal::Model> {
    proposal::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found("proposal", id))
}
