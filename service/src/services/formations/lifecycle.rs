//! Submission, withdrawal and the parent's decision. Approval creates the
//! pool and everything in it in one transaction.

use std::collections::HashMap;

use chrono::Utc;
use entities::{
    formation::{self, FormationStatus},
    membership::{self, JoinedVia, MemberRole, MembershipStatus},
    parent_entity::{self, ApprovalPolicy},
    pool::{self, PoolStatus},
    pool_app::{self, ProvisioningState},
    stakeholder_group, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    catalogue::apps::ADMIN_ROLE,
    domain::MultiLineText,
    error::{AppError, AppResult, FieldError},
    services::{
        OnConflict,
        audit::{self, Action, Change},
    },
    state::AppState,
};

use super::{
    draft::{Draft, RoleMapping, encode},
    evaluate_draft,
    governance::{Governance, render_rules},
    load_draft_from,
    steps::{find, find_locked},
};

/// Submits a complete formation to its parent; an `AUTOMATIC` parent
/// approves it at once. Returns the formation as it then stands.
pub async fn submit(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<formation::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let draft = locked_draft(&txn, id).await?;
    super::unless_seen(
        &txn,
        actor,
        &draft.formation,
        founder_only(actor, &draft.formation, "submit"),
    )
    .await?;
    if !matches!(
        draft.formation.status,
        FormationStatus::Draft | FormationStatus::Rejected | FormationStatus::Withdrawn
    ) {
        return Err(AppError::Conflict(format!(
            "the formation is already {}",
            status_name(draft.formation.status)
        )));
    }
    let (parent, evaluation) = evaluate_draft(state, &txn, &draft).await?;
    if !evaluation.problems.is_empty() {
        return Err(AppError::Validation(
            evaluation
                .problems
                .iter()
                .map(|p| FieldError::new(p.path.clone(), format!("{:?}: {}", p.step, p.message)))
                .collect(),
        ));
    }
    let now = Utc::now();
    move_on(
        &txn,
        &draft.formation,
        [
            (
                formation::Column::Status,
                Expr::value(FormationStatus::Submitted),
            ),
            (formation::Column::SubmittedAt, Expr::value(now)),
        ],
    )
    .await?;
    let before = draft.formation.clone();
    let pool = if parent.approval_policy == ApprovalPolicy::Automatic {
        let mut submitted = draft;
        submitted.formation.status = FormationStatus::Submitted;
        Some(create_pool(state, &txn, &submitted, &parent, None).await?)
    } else {
        None
    };
    let result = record_step(
        &txn,
        actor,
        &before,
        Action::FormationSubmitted,
        pool.as_ref(),
    )
    .await?;
    txn.commit().await?;
    Ok(result)
}

/// Only the founder submits and withdraws.
fn founder_only(actor: &Actor, formation: &formation::Model, what: &str) -> AppResult<()> {
    if formation.founder_id == actor.user_id {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "only the founder may {what} this formation"
        )))
    }
}

pub async fn withdraw(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<formation::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let formation = find_locked(&txn, id).await?;
    super::unless_seen(
        &txn,
        actor,
        &formation,
        founder_only(actor, &formation, "withdraw"),
    )
    .await?;
    if !matches!(
        formation.status,
        FormationStatus::Draft | FormationStatus::Submitted
    ) {
        return Err(AppError::Conflict(format!(
            "a formation that is {} cannot be withdrawn",
            status_name(formation.status)
        )));
    }
    move_on(
        &txn,
        &formation,
        [(
            formation::Column::Status,
            Expr::value(FormationStatus::Withdrawn),
        )],
    )
    .await?;
    let result = record_step(&txn, actor, &formation, Action::FormationWithdrawn, None).await?;
    txn.commit().await?;
    Ok(result)
}

/// Approves a submitted formation (stewards of its parent only) and returns
/// the pool. The formation is locked first, so of concurrent approvals one
/// creates the pool and the others, waiting on the lock, answer with it.
pub async fn approve(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<pool::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let draft = locked_draft(&txn, id).await?;
    // A steward does not see a draft either: it does not exist for them.
    super::require_seen(&txn, actor, &draft.formation).await?;
    permissions::require_steward(&txn, draft.formation.parent_entity_id, actor.user_id).await?;
    if let Some(pool) = existing_pool(&txn, &draft.formation).await? {
        return Ok(pool);
    }
    if draft.formation.status != FormationStatus::Submitted {
        return Err(AppError::Conflict(format!(
            "only a submitted formation can be approved; this one is {}",
            status_name(draft.formation.status)
        )));
    }
    // Names are checked under the lock: no approval of this formation can
    // have taken its name meanwhile.
    let (parent, evaluation) = evaluate_draft(state, &txn, &draft).await?;
    if !evaluation.problems.is_empty() {
        return Err(AppError::Validation(
            evaluation
                .problems
                .iter()
                .map(|p| FieldError::new(p.path.clone(), p.message.clone()))
                .collect(),
        ));
    }
    let pool = create_pool(state, &txn, &draft, &parent, Some(actor.user_id)).await?;
    record_step(
        &txn,
        actor,
        &draft.formation,
        Action::FormationApproved,
        Some(&pool),
    )
    .await?;
    txn.commit().await?;
    Ok(pool)
}

pub async fn reject(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> AppResult<formation::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let formation = find_locked(&txn, id).await?;
    super::require_seen(&txn, actor, &formation).await?;
    permissions::require_steward(&txn, formation.parent_entity_id, actor.user_id).await?;
    let reason = MultiLineText::<1, 2000>::parse(reason, "input.reason")
        .map_err(|e| AppError::Validation(vec![e]))?;
    if formation.status != FormationStatus::Submitted {
        return Err(AppError::Conflict(format!(
            "only a submitted formation can be rejected; this one is {}",
            status_name(formation.status)
        )));
    }
    let now = Utc::now();
    move_on(
        &txn,
        &formation,
        [
            (
                formation::Column::Status,
                Expr::value(FormationStatus::Rejected),
            ),
            (
                formation::Column::RejectionReason,
                Expr::value(reason.into_inner()),
            ),
            (formation::Column::DecidedAt, Expr::value(now)),
            (formation::Column::DecidedBy, Expr::value(actor.user_id)),
        ],
    )
    .await?;
    let result = record_step(&txn, actor, &formation, Action::FormationRejected, None).await?;
    txn.commit().await?;
    Ok(result)
}

/// The formation with its founding members, its row locked for this transaction.
async fn locked_draft(txn: &DatabaseTransaction, id: Uuid) -> AppResult<Draft> {
    let formation = find_locked(txn, id).await?;
    load_draft_from(txn, formation).await
}

/// Writes a lifecycle step onto the locked formation: `columns`, the time
/// and the next version.
async fn move_on<const N: usize>(
    txn: &DatabaseTransaction,
    locked: &formation::Model,
    columns: [(formation::Column, sea_orm::sea_query::SimpleExpr); N],
) -> AppResult<()> {
    let mut update = formation::Entity::update_many()
        .col_expr(formation::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(formation::Column::Version, Expr::value(locked.version + 1));
    for (column, value) in columns {
        update = update.col_expr(column, value);
    }
    update
        .filter(formation::Column::Id.eq(locked.id))
        .exec(txn)
        .await?;
    Ok(())
}

async fn existing_pool(
    db: &impl ConnectionTrait,
    formation: &formation::Model,
) -> AppResult<Option<pool::Model>> {
    match (formation.status, formation.pool_id) {
        (FormationStatus::Approved, Some(pool_id)) => {
            Ok(pool::Entity::find_by_id(pool_id).one(db).await?)
        }
        _ => Ok(None),
    }
}

/// Records a formation's move to its next state, and the pool it created.
async fn record_step(
    txn: &DatabaseTransaction,
    actor: &Actor,
    before: &formation::Model,
    action: Action,
    pool: Option<&pool::Model>,
) -> AppResult<formation::Model> {
    let after = find(txn, before.id).await?;
    audit::record(
        txn,
        actor,
        Change::new(action, "Formation", after.id)
            .in_parent(after.parent_entity_id)
            .diff(before, &after),
    )
    .await?;
    if let Some(pool) = pool {
        audit::record(
            txn,
            actor,
            Change::new(Action::PoolCreated, "Pool", pool.id)
                .in_pool(pool)
                .created(pool),
        )
        .await?;
    }
    Ok(after)
}

/// Approves the locked formation, then writes the pool, its groups, the founding
/// memberships and the app selections. The caller commits.
async fn create_pool(
    state: &AppState,
    txn: &DatabaseTransaction,
    draft: &Draft,
    parent: &parent_entity::Model,
    decided_by: Option<Uuid>,
) -> AppResult<pool::Model> {
    let f = &draft.formation;
    let missing = |what: &str| {
        AppError::internal(anyhow::anyhow!("complete formation {} lacks {what}", f.id))
    };
    let template = f
        .legal_template_id
        .as_deref()
        .and_then(|id| state.catalogue.template(id))
        .ok_or_else(|| missing("a template"))?;
    let groups = draft.groups.as_deref().ok_or_else(|| missing("groups"))?;
    let members = draft.members.as_deref().ok_or_else(|| missing("members"))?;
    let finances = draft.finances.as_ref().ok_or_else(|| missing("finances"))?;
    let (name, name_key, slug) = match (&f.name, &f.name_key, &f.slug) {
        (Some(n), Some(k), Some(s)) => (n.clone(), k.clone(), s.clone()),
        _ => return Err(missing("a name")),
    };
    let now = Utc::now();
    let pool_id = Uuid::now_v7();

    // The caller holds the formation's lock and saw it SUBMITTED.
    move_on(
        txn,
        f,
        [
            (
                formation::Column::Status,
                Expr::value(FormationStatus::Approved),
            ),
            (formation::Column::PoolId, Expr::value(pool_id)),
            (formation::Column::DecidedAt, Expr::value(now)),
            (formation::Column::DecidedBy, Expr::value(decided_by)),
        ],
    )
    .await?;

    let governance = Governance::derive(template, groups, finances);
    let pool = pool::ActiveModel {
        id: Set(pool_id),
        parent_entity_id: Set(parent.id),
        formation_id: Set(f.id),
        name: Set(name.clone()),
        slug: Set(slug),
        name_key: Set(name_key),
        status: Set(PoolStatus::Active),
        legal_template_id: Set(template.id.clone()),
        legal_template_version: Set(template.version),
        currency: Set(finances.currency.clone()),
        rules_document: Set(render_rules(&name, &parent.name, template, &governance)),
        governance: Set(encode(&governance)?),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .on_conflict(|| {
        format!(
            "`{name}` is already used by another pool of this parent entity; rename the formation"
        )
    })?;

    let group_ids: HashMap<&str, Uuid> = groups
        .iter()
        .map(|g| (g.key.as_str(), Uuid::now_v7()))
        .collect();
    stakeholder_group::Entity::insert_many(groups.iter().map(|g| stakeholder_group::ActiveModel {
        id: Set(group_ids[g.key.as_str()]),
        pool_id: Set(pool_id),
        key: Set(g.key.clone()),
        name: Set(g.name.clone()),
        kind: Set(g.kind),
        voting_weight: Set(g.voting_weight),
        share_price_minor: Set(g.share_price),
        admission: Set(g.admission),
        created_at: Set(now),
    }))
    .exec(txn)
    .await?;

    // Founding members who already have accounts are linked now.
    let accounts: HashMap<String, Uuid> = user::Entity::find()
        .filter(user::Column::Email.is_in(members.iter().map(|m| m.email.clone())))
        .all(txn)
        .await?
        .into_iter()
        .map(|u| (u.email, u.id))
        .collect();
    let mut memberships = Vec::with_capacity(members.len());
    for m in members {
        let group_id = *group_ids
            .get(m.stakeholder_group_key.as_str())
            .ok_or_else(|| missing("a valid group for every member"))?;
        let is_founder = accounts.get(&m.email) == Some(&f.founder_id);
        memberships.push(membership::ActiveModel {
            id: Set(Uuid::now_v7()),
            pool_id: Set(pool_id),
            user_id: Set(accounts.get(&m.email).copied()),
            email: Set(m.email.clone()),
            display_name: Set(m.display_name.clone()),
            stakeholder_group_id: Set(group_id),
            role: Set(if is_founder {
                MemberRole::Admin
            } else {
                m.role
            }),
            status: Set(if is_founder {
                MembershipStatus::Active
            } else {
                MembershipStatus::Invited
            }),
            joined_via: Set(JoinedVia::Founding),
            joined_at: Set(is_founder.then_some(now)),
            left_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            shares_held: Set(0),
            end_reason: Set(None),
            ended_by: Set(None),
        });
    }
    membership::Entity::insert_many(memberships)
        .exec(txn)
        .await?;

    let app_ids = draft.app_ids.as_deref().unwrap_or_default();
    if !app_ids.is_empty() {
        let mut rows = Vec::with_capacity(app_ids.len());
        for app_id in app_ids {
            let app = state
                .catalogue
                .app(app_id)
                .ok_or_else(|| missing("a catalogued app"))?;
            let (settings, role_mapping) = match draft.app_configs.get(app_id) {
                Some(config) => (
                    app.validate_settings(&config.settings)
                        .map_err(|_| missing("valid app settings"))?,
                    config.role_mapping.clone(),
                ),
                None => (
                    app.default_settings(),
                    RoleMapping {
                        admins: ADMIN_ROLE.to_owned(),
                        groups: Default::default(),
                    },
                ),
            };
            // Every group gets a role: the founder's choice or the app's default.
            let mut mapping = role_mapping;
            for g in groups {
                mapping
                    .groups
                    .entry(g.key.clone())
                    .or_insert_with(|| app.manifest.default_member_role.clone());
            }
            rows.push(pool_app::ActiveModel {
                id: Set(Uuid::now_v7()),
                pool_id: Set(pool_id),
                app_id: Set(app_id.clone()),
                app_version: Set(app.manifest.version.clone()),
                settings: Set(settings),
                role_mapping: Set(encode(&mapping)?),
                provisioning_state: Set(ProvisioningState::Requested),
                created_at: Set(now),
                updated_at: Set(now),
                url: Set(None),
                handover: Set(None),
                status_message: Set(None),
            });
        }
        pool_app::Entity::insert_many(rows).exec(txn).await?;
        crate::services::provisioning::request_for_pool(txn, pool_id).await?;
    }
    Ok(pool)
}

pub fn status_name(status: FormationStatus) -> &'static str {
    match status {
        FormationStatus::Draft => "a draft",
        FormationStatus::Submitted => "submitted",
        FormationStatus::Approved => "approved",
        FormationStatus::Rejected => "rejected",
        FormationStatus::Withdrawn => "withdrawn",
    }
}
