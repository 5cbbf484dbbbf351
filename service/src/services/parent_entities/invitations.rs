//! The invited person's side of a role: listing one's invitations, and
//! accepting or declining one. An invitation belongs to whoever signs in
//! with its email; to anyone else it does not exist.

use chrono::Utc;
use entities::{
    membership::{self, MembershipStatus},
    parent_entity_role::{self, RoleKind, RoleStatus},
    pool, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    error::{AppError, AppResult},
    services::{
        OnConflict,
        audit::{self, Action, Change},
        begin_write,
        pagination::{Page, PageArgs, paginate},
    },
    state::AppState,
};

use super::{lock_parent, role_name};

/// The open invitations sent to `person`'s email, for that person only.
pub async fn invitations_of_user(
    state: &AppState,
    actor: &Actor,
    person: &user::Model,
    page: PageArgs,
) -> AppResult<Page<parent_entity_role::Model>> {
    if actor.user_id != person.id {
        return Err(AppError::Forbidden(
            "you can list only your own invitations".into(),
        ));
    }
    let page = page.parse()?;
    let select = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::Email.eq(person.email.as_str()))
        .filter(parent_entity_role::Column::Status.eq(RoleStatus::Pending))
        .filter(parent_entity_role::Column::ExpiresAt.gt(Utc::now()));
    paginate(&state.db, select, parent_entity_role::Column::Id, page).await
}

/// Accepts an invitation sent to the caller's email. The rules that depend
/// on who the person is are checked now: one role per person at a parent
/// entity, and auditors independent of its pools.
pub async fn accept_role(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<parent_entity_role::Model> {
    let txn = begin_write(&state.db).await?;
    let (person, invitation) = open_invitation(&txn, actor, id).await?;
    crate::services::accounts::require_confirmed(&person, "accept a role")?;
    if let Some(held) =
        permissions::parent_role(&txn, invitation.parent_entity_id, person.id).await?
    {
        return Err(AppError::Conflict(format!(
            "you are already {} of this parent entity and one person holds one role there; ask a steward to revoke it first, or decline this invitation",
            role_name(held)
        )));
    }
    if invitation.role == RoleKind::Auditor {
        refuse_members_as_auditors(&txn, invitation.parent_entity_id, person.id).await?;
    }
    let before = invitation.clone();
    let mut active: parent_entity_role::ActiveModel = invitation.into();
    active.status = Set(RoleStatus::Active);
    active.user_id = Set(Some(person.id));
    active.accepted_at = Set(Some(Utc::now()));
    let role = active
        .update(&txn)
        .await
        .on_conflict(|| "you already hold a role at this parent entity".into())?;
    audit::record(
        &txn,
        actor,
        Change::new(
            Action::ParentEntityRoleAccepted,
            "ParentEntityRole",
            role.id,
        )
        .in_parent(role.parent_entity_id)
        .diff(&before, &role),
    )
    .await?;
    txn.commit().await?;
    Ok(role)
}

/// Declines an invitation sent to the caller's email.
pub async fn decline_role(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<parent_entity_role::Model> {
    let txn = begin_write(&state.db).await?;
    let (person, invitation) = open_invitation(&txn, actor, id).await?;
    // Declining for an unproven address would turn the real owner away.
    crate::services::accounts::require_confirmed(&person, "decline a role")?;
    let before = invitation.clone();
    let mut active: parent_entity_role::ActiveModel = invitation.into();
    active.status = Set(RoleStatus::Declined);
    active.declined_at = Set(Some(Utc::now()));
    let role = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(
            Action::ParentEntityRoleDeclined,
            "ParentEntityRole",
            role.id,
        )
        .in_parent(role.parent_entity_id)
        .diff(&before, &role),
    )
    .await?;
    txn.commit().await?;
    Ok(role)
}

/// The caller and their invitation `id`, read under the parent's lock so a
/// concurrent revocation is seen; `NOT_FOUND` unless it was sent to the
/// caller's email, `CONFLICT` unless it is still open.
async fn open_invitation(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<(user::Model, parent_entity_role::Model)> {
    let person = user::Entity::find_by_id(actor.user_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("actor {} has no account", actor.user_id))
        })?;
    let find = || async {
        parent_entity_role::Entity::find_by_id(id)
            .filter(parent_entity_role::Column::Email.eq(person.email.as_str()))
            .one(db)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("you have no invitation with id {id}")))
    };
    let seen = find().await?;
    lock_parent(db, seen.parent_entity_id).await?;
    let invitation = find().await?;
    let now = Utc::now();
    match invitation.status {
        RoleStatus::Pending if invitation.expires_at.is_some_and(|at| at > now) => {}
        RoleStatus::Pending | RoleStatus::Expired => {
            return Err(AppError::Conflict(
                "this invitation has expired; ask a steward of the parent entity to invite you again"
                    .into(),
            ));
        }
        RoleStatus::Active => {
            return Err(AppError::Conflict(
                "you have already accepted this invitation".into(),
            ));
        }
        RoleStatus::Declined => {
            return Err(AppError::Conflict(
                "you have declined this invitation; ask a steward of the parent entity to invite you again"
                    .into(),
            ));
        }
        RoleStatus::Revoked => {
            return Err(AppError::Conflict(
                "a steward has withdrawn this invitation".into(),
            ));
        }
    }
    Ok((person, invitation))
}

/// An auditor is independent of what they audit: no active membership of
/// a pool under the parent.
async fn refuse_members_as_auditors(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    person_id: Uuid,
) -> AppResult<()> {
    let pools_of_parent = sea_orm::sea_query::Query::select()
        .column(pool::Column::Id)
        .from(pool::Entity)
        .and_where(pool::Column::ParentEntityId.eq(parent_entity_id))
        .to_owned();
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(person_id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .filter(membership::Column::PoolId.in_subquery(pools_of_parent))
        .count(db)
        .await?;
    if memberships > 0 {
        return Err(AppError::Conflict(
            "you are a member of a pool under this parent entity, and an auditor must be independent of the pools they audit; leave the pool first, or decline this invitation".into(),
        ));
    }
    Ok(())
}
