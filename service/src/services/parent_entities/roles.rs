//! Granting and revoking roles. A grant invites an email; whether the email
//! has an account is never looked up here, so neither a grant's nor a
//! revocation's answer tells a steward who has signed up.

use chrono::{DateTime, Utc};
use entities::{
    parent_entity_role::{self, RoleKind, RoleStatus},
    user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::Email,
    error::{AppError, AppResult},
    services::{
        OnConflict,
        audit::{self, Action, Change},
        begin_write,
        pagination::{Page, PageArgs, PageRequest, paginate},
    },
    state::AppState,
};

use super::{kind_name, lock_parent, role_name};

pub struct RoleInput {
    pub parent_entity_id: Uuid,
    pub email: String,
    pub role: RoleKind,
}

/// Roles that are not over: active ones, and invitations still open at `now`.
pub(super) fn open_at(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(parent_entity_role::Column::Status.eq(RoleStatus::Active))
        .add(
            Condition::all()
                .add(parent_entity_role::Column::Status.eq(RoleStatus::Pending))
                .add(parent_entity_role::Column::ExpiresAt.gt(now)),
        )
}

/// Invites an email to a role at the parent entity. Stewards only. The
/// person accepts (or declines) it themselves; the rules that depend on who
/// they are apply then. Refused here is only what the steward can see: the
/// email already holds, or is invited to, a role at this parent entity.
pub async fn grant_role(
    state: &AppState,
    actor: &Actor,
    input: RoleInput,
) -> AppResult<parent_entity_role::Model> {
    let txn = begin_write(&state.db).await?;
    let email = begin_role_change(&txn, actor, &input).await?;
    let now = Utc::now();
    // Lapsed invitations are closed for good, so the email may be asked again.
    parent_entity_role::Entity::update_many()
        .col_expr(
            parent_entity_role::Column::Status,
            Expr::value(RoleStatus::Expired),
        )
        .filter(parent_entity_role::Column::ParentEntityId.eq(input.parent_entity_id))
        .filter(parent_entity_role::Column::Email.eq(email.as_str()))
        .filter(parent_entity_role::Column::Status.eq(RoleStatus::Pending))
        .filter(parent_entity_role::Column::ExpiresAt.lte(now))
        .exec(&txn)
        .await?;
    let open = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::ParentEntityId.eq(input.parent_entity_id))
        .filter(parent_entity_role::Column::Email.eq(email.as_str()))
        .filter(open_at(now))
        .one(&txn)
        .await?;
    if let Some(held) = open {
        return Err(AppError::Conflict(already_message(
            &email, &held, input.role,
        )));
    }
    let ttl =
        chrono::Duration::from_std(state.config.invitation_ttl).map_err(AppError::internal)?;
    let role = parent_entity_role::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(input.parent_entity_id),
        user_id: Set(None),
        email: Set(email.as_str().to_owned()),
        role: Set(input.role),
        status: Set(RoleStatus::Pending),
        granted_by: Set(actor.user_id),
        granted_at: Set(now),
        accepted_at: Set(None),
        declined_at: Set(None),
        expires_at: Set(Some(now + ttl)),
        revoked_by: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await
    .on_conflict(|| {
        format!("{email} already holds or is invited to a role at this parent entity")
    })?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ParentEntityRoleGranted, "ParentEntityRole", role.id)
            .in_parent(input.parent_entity_id)
            .created(&role),
    )
    .await?;
    crate::services::notifications::queue(
        &txn,
        crate::services::notifications::Notice::RoleInvitation { role_id: role.id },
    )
    .await?;
    txn.commit().await?;
    Ok(role)
}

fn already_message(email: &Email, held: &parent_entity_role::Model, asked: RoleKind) -> String {
    let what = match held.status {
        RoleStatus::Pending => format!("is already invited as {}", kind_name(held.role)),
        _ => format!("already holds {} role", role_name(held.role)),
    };
    if held.role == asked {
        format!("{email} {what} at this parent entity")
    } else {
        format!(
            "{email} {what} at this parent entity; one email holds one role here, so revoke that before granting {}",
            kind_name(asked)
        )
    }
}

/// Ends a role, or withdraws an invitation, by email and kind. Stewards
/// only; the last active steward stays. The answer is the same whether or
/// not the email has an account.
pub async fn revoke_role(
    state: &AppState,
    actor: &Actor,
    input: RoleInput,
) -> AppResult<parent_entity_role::Model> {
    let txn = begin_write(&state.db).await?;
    let email = begin_role_change(&txn, actor, &input).await?;
    let now = Utc::now();
    let role = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::ParentEntityId.eq(input.parent_entity_id))
        .filter(parent_entity_role::Column::Email.eq(email.as_str()))
        .filter(parent_entity_role::Column::Role.eq(input.role))
        .filter(open_at(now))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "{email} holds no {} role at this parent entity",
                kind_name(input.role)
            ))
        })?;
    keep_a_steward(
        &txn,
        &role,
        "the last steward cannot be removed; grant STEWARD to someone else and let them accept first",
    )
    .await?;
    let before = role.clone();
    let mut active: parent_entity_role::ActiveModel = role.into();
    active.status = Set(RoleStatus::Revoked);
    active.revoked_at = Set(Some(now));
    active.revoked_by = Set(Some(actor.user_id));
    let role = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ParentEntityRoleRevoked, "ParentEntityRole", role.id)
            .in_parent(input.parent_entity_id)
            .diff(&before, &role),
    )
    .await?;
    txn.commit().await?;
    Ok(role)
}

/// Refuses to end `losing` when it is the parent's last active steward
/// role (the parent must be locked), with `refusal` as the message.
async fn keep_a_steward(
    db: &impl ConnectionTrait,
    losing: &parent_entity_role::Model,
    refusal: &str,
) -> AppResult<()> {
    if losing.role != RoleKind::Steward || losing.status != RoleStatus::Active {
        return Ok(());
    }
    let stewards = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::ParentEntityId.eq(losing.parent_entity_id))
        .filter(parent_entity_role::Column::Role.eq(RoleKind::Steward))
        .filter(parent_entity_role::Column::Status.eq(RoleStatus::Active))
        .count(db)
        .await?;
    if stewards <= 1 {
        return Err(AppError::Conflict(refusal.to_owned()));
    }
    Ok(())
}

/// The parent locked, the caller checked as steward, then the email parsed:
/// who may not change roles learns nothing about the input.
async fn begin_role_change(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: &RoleInput,
) -> AppResult<Email> {
    lock_parent(db, input.parent_entity_id).await?;
    permissions::require_steward(db, input.parent_entity_id, actor.user_id).await?;
    Email::parse(&input.email, "input.email").map_err(|e| AppError::Validation(vec![e]))
}

/// The registrant of a parent entity: its first steward at once, without
/// an invitation.
pub(super) async fn insert_first_steward(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    person: &user::Model,
) -> AppResult<parent_entity_role::Model> {
    let now = Utc::now();
    Ok(parent_entity_role::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(parent_entity_id),
        user_id: Set(Some(person.id)),
        email: Set(person.email.clone()),
        role: Set(RoleKind::Steward),
        status: Set(RoleStatus::Active),
        granted_by: Set(person.id),
        granted_at: Set(now),
        accepted_at: Set(Some(now)),
        declined_at: Set(None),
        expires_at: Set(None),
        revoked_by: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// Who holds or is invited to roles at a parent entity: its stewards and
/// auditors may look. Ended ones (declined, revoked, expired) are history,
/// listed with `include_ended`.
pub async fn roles(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    include_ended: bool,
    page: PageRequest,
) -> AppResult<Page<parent_entity_role::Model>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let mut select = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::ParentEntityId.eq(parent_entity_id));
    if !include_ended {
        select = select.filter(open_at(Utc::now()));
    }
    paginate(&state.db, select, parent_entity_role::Column::Id, page).await
}

/// The active roles a person holds, for that person only.
pub async fn roles_of_user(
    state: &AppState,
    actor: &Actor,
    user_id: Uuid,
    page: PageArgs,
) -> AppResult<Page<parent_entity_role::Model>> {
    if actor.user_id != user_id {
        return Err(AppError::Forbidden(
            "you can list only your own parent entity roles".into(),
        ));
    }
    let page = page.parse()?;
    let select = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::UserId.eq(user_id))
        .filter(parent_entity_role::Column::Status.eq(RoleStatus::Active));
    paginate(&state.db, select, parent_entity_role::Column::Id, page).await
}

/// Ends a person's roles because their account is being deleted: active
/// roles are revoked (the last-steward rule holds, naming the parent) and
/// open invitations to any of their `addresses` declined. Returns the ids
/// of every role row that was ever theirs, for erasure.
pub async fn end_for_deleted_account(
    db: &impl ConnectionTrait,
    actor: &Actor,
    addresses: &[String],
) -> AppResult<(u64, Vec<Uuid>)> {
    let now = Utc::now();
    let theirs = parent_entity_role::Entity::find()
        .filter(
            Condition::any()
                .add(parent_entity_role::Column::UserId.eq(actor.user_id))
                .add(parent_entity_role::Column::Email.is_in(addresses.iter().cloned())),
        )
        .all(db)
        .await?;
    let ids = theirs.iter().map(|r| r.id).collect();
    let mut ended = 0;
    for role in theirs {
        let open = role.status == RoleStatus::Active
            || (role.status == RoleStatus::Pending && role.expires_at.is_some_and(|t| t > now));
        if !open {
            continue;
        }
        lock_parent(db, role.parent_entity_id).await?;
        let Some(role) = parent_entity_role::Entity::find_by_id(role.id)
            .one(db)
            .await?
        else {
            continue;
        };
        let before = role.clone();
        let mut active: parent_entity_role::ActiveModel = role.clone().into();
        let action = if role.status == RoleStatus::Active {
            keep_a_steward(
                db,
                &role,
                "you are the last steward of a parent entity: grant STEWARD to someone \
                 else and let them accept, then delete your account",
            )
            .await?;
            active.status = Set(RoleStatus::Revoked);
            active.revoked_at = Set(Some(now));
            active.revoked_by = Set(Some(actor.user_id));
            Action::ParentEntityRoleRevoked
        } else if role.status == RoleStatus::Pending {
            active.status = Set(RoleStatus::Declined);
            active.declined_at = Set(Some(now));
            Action::ParentEntityRoleDeclined
        } else {
            continue;
        };
        let after = active.update(db).await?;
        audit::record(
            db,
            actor,
            Change::new(action, "ParentEntityRole", after.id)
                .in_parent(after.parent_entity_id)
                .diff(&before, &after),
        )
        .await?;
        ended += 1;
    }
    Ok((ended, ids))
}
