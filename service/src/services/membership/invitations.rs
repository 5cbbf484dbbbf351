//! Invitations: an admin invites an email into a group; the person accepts
//! with the token from the invitation link before it expires.

use chrono::{DateTime, Utc};
use entities::{
    invitation,
    membership::{self, JoinedVia, MemberRole, MembershipStatus},
    user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, tokens},
    domain::Email,
    error::{AppError, AppResult},
    services::audit::{self, Action, Change},
    services::notifications::{self, Notice},
    services::{OnConflict, begin_write},
    state::AppState,
};

use super::{find_pool, group_of_pool, lock_pool, require_active_pool, require_admin};

pub use crate::services::notifications::links::{INVITATION_PREFIX, invitation_token};

pub struct InviteInput {
    pub pool_id: Uuid,
    pub email: String,
    pub stakeholder_group_id: Uuid,
    pub role: MemberRole,
}

/// Invites an email (admins only). Inviting someone already invited issues a
/// new link and retires the old one. Returns the invitation and its token,
/// shown this once.
pub async fn invite(
    state: &AppState,
    actor: &Actor,
    input: InviteInput,
) -> AppResult<(invitation::Model, String)> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await?;
    let email =
        Email::parse(&input.email, "input.email").map_err(|e| AppError::Validation(vec![e]))?;
    // Membership changes of a pool in turn: an acceptance cannot slip
    // between reading the current membership and re-inviting it.
    lock_pool(&txn, pool.id).await?;
    let group = group_of_pool(
        &txn,
        pool.id,
        input.stakeholder_group_id,
        "input.stakeholderGroupId",
    )
    .await?;
    let now = Utc::now();
    let current = membership::Entity::find()
        .filter(membership::Column::PoolId.eq(pool.id))
        .filter(membership::Column::Email.eq(email.as_str()))
        .filter(membership::Column::LeftAt.is_null())
        .one(&txn)
        .await?;
    let previous = current.clone();
    let membership = match current {
        Some(m) if m.status == MembershipStatus::Active => {
            return Err(AppError::Conflict(format!(
                "{email} is already a member of this pool"
            )));
        }
        Some(m) => reinvite(&txn, m, group.id, input.role, now).await?,
        None => new_invited(&txn, pool.id, &email, group.id, input.role, now).await?,
    };
    let (invitation, token) = issue(state, &txn, &membership, &email, admin.id, now).await?;
    let change = Change::new(Action::MemberInvited, "Member", membership.id).in_pool(&pool);
    let change = match &previous {
        Some(before) => change.diff(before, &membership),
        None => change.created(&membership),
    };
    audit::record(
        &txn,
        actor,
        change.with("invitationId", invitation.id.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok((invitation, token))
}

/// Re-invites a current membership, possibly into another group or role,
/// and retires its invitations still open.
async fn reinvite(
    txn: &DatabaseTransaction,
    m: membership::Model,
    group_id: Uuid,
    role: MemberRole,
    now: DateTime<Utc>,
) -> AppResult<membership::Model> {
    let mut active: membership::ActiveModel = m.into();
    active.stakeholder_group_id = Set(group_id);
    active.role = Set(role);
    active.updated_at = Set(now);
    let m = active.update(txn).await?;
    invitation::Entity::update_many()
        .col_expr(invitation::Column::RevokedAt, Expr::value(now))
        .filter(invitation::Column::MembershipId.eq(m.id))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(m)
}

/// A new invited membership, linked to the account of that email if there
/// is one.
async fn new_invited(
    txn: &DatabaseTransaction,
    pool_id: Uuid,
    email: &Email,
    group_id: Uuid,
    role: MemberRole,
    now: DateTime<Utc>,
) -> AppResult<membership::Model> {
    let account = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(txn)
        .await?;
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool_id),
        user_id: Set(account.map(|u| u.id)),
        email: Set(email.as_str().to_owned()),
        display_name: Set(email.local_part().to_owned()),
        stakeholder_group_id: Set(group_id),
        role: Set(role),
        status: Set(MembershipStatus::Invited),
        joined_via: Set(JoinedVia::Invitation),
        joined_at: Set(None),
        ..super::starting(now)
    }
    .insert(txn)
    .await
    .on_conflict(|| format!("{email} already has a membership in this pool"))
}

/// A new invitation for the membership; only its token's hash is stored,
/// the token is returned to be shown once.
pub(crate) async fn issue(
    state: &AppState,
    txn: &DatabaseTransaction,
    membership: &membership::Model,
    email: &Email,
    invited_by: Uuid,
    now: DateTime<Utc>,
) -> AppResult<(invitation::Model, String)> {
    let id = Uuid::now_v7();
    let token = invitation_token(state, id);
    let ttl =
        chrono::Duration::from_std(state.config.invitation_ttl).map_err(AppError::internal)?;
    let invitation = invitation::ActiveModel {
        id: Set(id),
        pool_id: Set(membership.pool_id),
        membership_id: Set(membership.id),
        email: Set(email.as_str().to_owned()),
        token_hash: Set(tokens::hash_token(
            state.config.auth_secret.expose(),
            &token,
        )),
        invited_by: Set(Some(invited_by)),
        expires_at: Set(now + ttl),
        accepted_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    notifications::queue(
        txn,
        Notice::PoolInvitation {
            invitation_id: invitation.id,
        },
    )
    .await?;
    Ok((invitation, token))
}

/// Accepts an invitation as the signed-in person it was sent to.
pub async fn accept(
    state: &AppState,
    actor: &Actor,
    token: &str,
    accept_code_of_conduct: Option<i32>,
) -> AppResult<membership::Model> {
    let hash = tokens::hash_token(state.config.auth_secret.expose(), token.trim());
    let txn = begin_write(&state.db).await?;
    let me = user::Entity::find_by_id(actor.user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("this account no longer exists".into()))?;
    crate::services::accounts::require_confirmed(&me, "accept an invitation")?;
    let find = || async {
        invitation::Entity::find()
            .filter(invitation::Column::TokenHash.eq(hash.as_str()))
            .one(&txn)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(
                    "no invitation has this token; ask an admin for a new link".into(),
                )
            })
    };
    let seen = find().await?;
    // Read again under the pool's lock, which invitations and every other
    // membership change take first: a re-invite or removal is seen.
    lock_pool(&txn, seen.pool_id).await?;
    let invitation = find().await?;
    if invitation.accepted_at.is_some() {
        return Err(AppError::Conflict(
            "this invitation has already been accepted".into(),
        ));
    }
    if invitation.revoked_at.is_some() {
        return Err(AppError::Conflict(
            "this invitation was replaced by a newer one; use the latest link".into(),
        ));
    }
    if invitation.expires_at <= Utc::now() {
        return Err(AppError::Conflict(
            "this invitation has expired; ask an admin to invite you again".into(),
        ));
    }
    if me.email != invitation.email {
        return Err(AppError::Forbidden(format!(
            "this invitation was sent to another email address; sign in as {} to accept it",
            invitation.email
        )));
    }
    let pool = find_pool(&txn, invitation.pool_id).await?;
    require_active_pool(&pool)?;
    crate::auth::permissions::refuse_auditor(&txn, pool.parent_entity_id, me.id).await?;
    let conduct =
        super::sanctions::accepted_on_joining(&pool, accept_code_of_conduct, "acceptCodeOfConduct")
            .map_err(|e| AppError::Validation(vec![e]))?;
    let membership = membership::Entity::find_by_id(invitation.membership_id)
        .one(&txn)
        .await?
        .filter(|m| m.status == MembershipStatus::Invited && m.left_at.is_none())
        .ok_or_else(|| {
            AppError::Conflict("this invitation no longer leads to a membership".into())
        })?;
    let now = Utc::now();
    let before = membership.clone();
    let mut active: membership::ActiveModel = membership.into();
    active.user_id = Set(Some(me.id));
    active.display_name = Set(me.display_name.clone());
    active.status = Set(MembershipStatus::Active);
    active.joined_at = Set(Some(now));
    active.updated_at = Set(now);
    active.conduct_version = Set(conduct);
    active.conduct_accepted_at = Set(conduct.map(|_| now));
    let membership = active.update(&txn).await?;
    let invitation_id = invitation.id;
    let mut accepted: invitation::ActiveModel = invitation.into();
    accepted.accepted_at = Set(Some(now));
    accepted.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::MemberJoined, "Member", membership.id)
            .in_pool(&pool)
            .diff(&before, &membership)
            .with("invitationId", invitation_id.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(membership)
}
