//! Applications: joining a group by its admission rule.

use chrono::Utc;
use entities::{
    application::{self, ApplicationStatus},
    membership::{self, JoinedVia, MemberRole, MembershipStatus},
    stakeholder_group::{self, Admission},
    user,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    auth::Actor,
    auth::permissions,
    domain::MultiLineText,
    error::{AppError, AppResult},
    services::audit::{self, Action, Change},
    services::notifications::{self, Notice},
    services::{OnConflict, begin_write, lock},
    state::AppState,
};

use super::{
    find_pool, group_of_pool, lock_pool, require_active_pool, require_admin, unless_inside,
};

pub struct ApplyInput {
    pub pool_id: Uuid,
    pub stakeholder_group_id: Uuid,
    pub message: String,
    /// The version of the pool's code of conduct the person accepts.
    pub accept_code_of_conduct: Option<i32>,
}

/// Applies to join: an OPEN group admits at once, an APPLICATION group waits
/// for the admins, an INVITATION group refuses.
pub async fn apply(
    state: &AppState,
    actor: &Actor,
    input: ApplyInput,
) -> AppResult<application::Model> {
    let message = MultiLineText::<0, 2000>::parse(&input.message, "input.message")
        .map_err(|e| AppError::Validation(vec![e]))?;
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    require_active_pool(&pool)?;
    permissions::refuse_auditor(&txn, pool.parent_entity_id, actor.user_id).await?;
    lock_pool(&txn, pool.id).await?;
    let group = group_of_pool(
        &txn,
        pool.id,
        input.stakeholder_group_id,
        "input.stakeholderGroupId",
    )
    .await?;
    if group.admission == Admission::Invitation {
        return Err(AppError::Forbidden(format!(
            "the group {} admits members by invitation only",
            group.name
        )));
    }
    let conduct = super::sanctions::accepted_on_joining(
        &pool,
        input.accept_code_of_conduct,
        "input.acceptCodeOfConduct",
    )
    .map_err(|e| AppError::Validation(vec![e]))?;
    let me = user::Entity::find_by_id(actor.user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("this account no longer exists".into()))?;
    crate::services::accounts::require_confirmed(&me, "join a pool")?;
    let current = membership::Entity::find()
        .filter(membership::Column::PoolId.eq(pool.id))
        .filter(membership::Column::Email.eq(me.email.as_str()))
        .filter(membership::Column::LeftAt.is_null())
        .one(&txn)
        .await?;
    if let Some(m) = current {
        return Err(AppError::Conflict(match m.status {
            MembershipStatus::Invited => {
                "you are already invited to this pool; accept the invitation instead".to_owned()
            }
            _ => "you are already a member of this pool".to_owned(),
        }));
    }
    let now = Utc::now();
    let open = group.admission == Admission::Open;
    let joined = if open {
        Some(insert_member(&txn, pool.id, &me, group.id, JoinedVia::Open, conduct).await?)
    } else {
        None
    };
    let membership_id = joined.as_ref().map(|m| m.id);
    let application = application::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        user_id: Set(me.id),
        stakeholder_group_id: Set(group.id),
        message: Set(message.into_inner()),
        status: Set(if open {
            ApplicationStatus::Approved
        } else {
            ApplicationStatus::Pending
        }),
        decided_by: Set(None),
        decided_at: Set(open.then_some(now)),
        reason: Set(open.then(|| "open admission".to_owned())),
        membership_id: Set(membership_id),
        created_at: Set(now),
        conduct_version: Set(conduct),
    }
    .insert(&txn)
    .await
    .on_conflict(|| "you already have an application pending for this pool".into())?;
    audit::record(
        &txn,
        actor,
        Change::new(
            Action::ApplicationSubmitted,
            "MembershipApplication",
            application.id,
        )
        .in_pool(&pool)
        .created(&application),
    )
    .await?;
    record_joined(&txn, actor, &pool, joined.as_ref()).await?;
    txn.commit().await?;
    Ok(application)
}

pub struct DecideInput {
    pub application_id: Uuid,
    pub approve: bool,
    pub reason: Option<String>,
}

/// Decides a pending application (admins only).
pub async fn decide(
    state: &AppState,
    actor: &Actor,
    input: DecideInput,
) -> AppResult<application::Model> {
    let txn = begin_write(&state.db).await?;
    let not_found = || crate::auth::access::not_found("application", input.application_id);
    let seen = application::Entity::find_by_id(input.application_id)
        .one(&txn)
        .await?
        .ok_or_else(not_found)?;
    let pool = find_pool(&txn, seen.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await;
    let admin = unless_inside(&txn, &pool, actor.user_id, "application", seen.id, admin).await?;
    let reason = input
        .reason
        .map(|r| {
            MultiLineText::<1, 2000>::parse(&r, "input.reason")
                .map_err(|e| AppError::Validation(vec![e]))
        })
        .transpose()?
        .map(MultiLineText::into_inner);
    // Under the pool's lock, of two decisions at once the second sees the first.
    lock_pool(&txn, pool.id).await?;
    let application = lock::<application::Entity>(&txn, input.application_id)
        .await?
        .ok_or_else(not_found)?;
    if application.status != ApplicationStatus::Pending {
        return Err(AppError::Conflict(
            "this application has already been decided".into(),
        ));
    }
    let joined = if input.approve {
        let group = stakeholder_group::Entity::find_by_id(application.stakeholder_group_id)
            .one(&txn)
            .await?;
        if group.is_none_or(|g| g.retired_at.is_some()) {
            return Err(AppError::Conflict(
                "the group applied to was retired by a change of the pool's rules; decline the application, and the person may apply to another group".into(),
            ));
        }
        let applicant = user::Entity::find_by_id(application.user_id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::Conflict("the applicant's account no longer exists".into()))?;
        Some(
            insert_member(
                &txn,
                pool.id,
                &applicant,
                application.stakeholder_group_id,
                JoinedVia::Application,
                application.conduct_version,
            )
            .await?,
        )
    } else {
        None
    };
    let membership_id = joined.as_ref().map(|m| m.id);
    let before = application.clone();
    let mut active: application::ActiveModel = application.into();
    active.status = Set(if input.approve {
        ApplicationStatus::Approved
    } else {
        ApplicationStatus::Rejected
    });
    active.decided_by = Set(Some(admin.id));
    active.decided_at = Set(Some(Utc::now()));
    active.reason = Set(reason);
    active.membership_id = Set(membership_id);
    let decided = active.update(&txn).await?;
    let action = if input.approve {
        Action::ApplicationApproved
    } else {
        Action::ApplicationRejected
    };
    audit::record(
        &txn,
        actor,
        Change::new(action, "MembershipApplication", decided.id)
            .in_pool(&pool)
            .diff(&before, &decided),
    )
    .await?;
    notifications::queue(
        &txn,
        Notice::ApplicationDecided {
            application_id: decided.id,
        },
    )
    .await?;
    record_joined(&txn, actor, &pool, joined.as_ref()).await?;
    txn.commit().await?;
    Ok(decided)
}

async fn record_joined(
    db: &impl ConnectionTrait,
    actor: &Actor,
    pool: &entities::pool::Model,
    joined: Option<&membership::Model>,
) -> AppResult<()> {
    if let Some(m) = joined {
        audit::record(
            db,
            actor,
            Change::new(Action::MemberJoined, "Member", m.id)
                .in_pool(pool)
                .created(m),
        )
        .await?;
    }
    Ok(())
}

async fn insert_member(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    person: &user::Model,
    group_id: Uuid,
    via: JoinedVia,
    conduct_version: Option<i32>,
) -> AppResult<membership::Model> {
    let now = Utc::now();
    membership::ActiveModel {
        conduct_version: Set(conduct_version),
        conduct_accepted_at: Set(conduct_version.map(|_| now)),
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool_id),
        user_id: Set(Some(person.id)),
        email: Set(person.email.clone()),
        display_name: Set(person.display_name.clone()),
        stakeholder_group_id: Set(group_id),
        role: Set(MemberRole::Member),
        status: Set(MembershipStatus::Active),
        joined_via: Set(via),
        joined_at: Set(Some(now)),
        ..super::starting(now)
    }
    .insert(db)
    .await
    .on_conflict(|| format!("{} already has a membership in this pool", person.email))
}

/// A pool's applications, for its admins and the parent's stewards and auditors.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    pool: &entities::pool::Model,
    status: Option<ApplicationStatus>,
    page: crate::services::pagination::PageRequest,
) -> AppResult<crate::services::pagination::Page<application::Model>> {
    super::require_admin_reader(
        &state.db,
        pool,
        actor.user_id,
        "only admins of this pool may see its applications",
    )
    .await?;
    let mut select = application::Entity::find().filter(application::Column::PoolId.eq(pool.id));
    if let Some(status) = status {
        select = select.filter(application::Column::Status.eq(status));
    }
    crate::services::pagination::paginate(&state.db, select, application::Column::Id, page).await
}

/// Withdraws the pending applications of a person whose account is being
/// deleted; returns the ids of all their applications, for erasure.
pub async fn withdraw_for_deleted_account(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
) -> AppResult<Vec<Uuid>> {
    let theirs = application::Entity::find()
        .filter(application::Column::UserId.eq(actor.user_id))
        .all(txn)
        .await?;
    for seen in theirs
        .iter()
        .filter(|a| a.status == ApplicationStatus::Pending)
    {
        let pool = find_pool(txn, seen.pool_id).await?;
        lock_pool(txn, pool.id).await?;
        let Some(application) = lock::<application::Entity>(txn, seen.id).await? else {
            continue;
        };
        if application.status != ApplicationStatus::Pending {
            continue;
        }
        let before = application.clone();
        let mut active: application::ActiveModel = application.into();
        active.status = Set(ApplicationStatus::Withdrawn);
        active.decided_at = Set(Some(Utc::now()));
        let after = active.update(txn).await?;
        audit::record(
            txn,
            actor,
            Change::new(
                Action::ApplicationWithdrawn,
                "MembershipApplication",
                after.id,
            )
            .in_pool(&pool)
            .diff(&before, &after),
        )
        .await?;
    }
    Ok(theirs.into_iter().map(|a| a.id).collect())
}
