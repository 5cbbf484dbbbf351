//! Proving an address: the confirmation sent at sign-up (and again on
//! request), and moving an account to a new address, which that address
//! confirms.

use chrono::{Duration, Utc};
use entities::{
    account_token::Purpose,
    membership,
    parent_entity_role::{self, RoleStatus},
    user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::{Expr, Query},
};
use uuid::Uuid;

use super::{links, load_for_update, require_password};
use crate::{
    auth::{Actor, Origin},
    domain::Email,
    error::{AppError, AppResult},
    services::{
        OnConflict,
        audit::{self, Action, Author, Change},
        begin_write,
        notifications::{self, Notice},
    },
    state::AppState,
};

/// A person asked for more links in an hour than are sent.
fn too_many_links() -> AppError {
    AppError::RateLimited {
        message: format!(
            "{} links were sent in the last hour; use the latest, or try again later",
            links::PER_HOUR
        ),
        retry_after_secs: 3600,
    }
}

fn confirmation_ttl(state: &AppState) -> AppResult<Duration> {
    Duration::from_std(state.config.email_confirmation_ttl).map_err(AppError::internal)
}

/// Queues the confirmation of `person`'s address (at sign-up).
pub(super) async fn send_confirmation(
    state: &AppState,
    txn: &impl sea_orm::ConnectionTrait,
    person: &user::Model,
) -> AppResult<()> {
    links::issue(
        state,
        txn,
        person.id,
        Purpose::ConfirmEmail,
        &person.email,
        confirmation_ttl(state)?,
    )
    .await?;
    Ok(())
}

/// Sends the confirmation link again. Links are limited per hour; beyond
/// that the call is refused, saying when to try again.
pub async fn resend_confirmation(state: &AppState, actor: &Actor) -> AppResult<()> {
    actor.require_session("sendEmailConfirmation")?;
    let txn = begin_write(&state.db).await?;
    let person = load_for_update(&txn, actor.user_id).await?;
    if person.email_confirmed_at.is_some() {
        return Err(AppError::Conflict(format!(
            "{} is already confirmed",
            person.email
        )));
    }
    let issued = links::issue(
        state,
        &txn,
        person.id,
        Purpose::ConfirmEmail,
        &person.email,
        confirmation_ttl(state)?,
    )
    .await?;
    if issued.is_none() {
        return Err(too_many_links());
    }
    txn.commit().await?;
    Ok(())
}

/// What following a confirmation link did.
pub struct Confirmed {
    pub user: user::Model,
    /// Whether the account moved to a new address (a `changeEmail` link).
    pub address_changed: bool,
}

/// Follows a confirmation link: proves the address it was sent to, and for
/// a change of address moves the account there (telling the old address).
/// The token is the credential; no session is needed.
pub async fn confirm(state: &AppState, origin: &Origin, token: &str) -> AppResult<Confirmed> {
    let txn = begin_write(&state.db).await?;
    let link = links::find(
        state,
        &txn,
        token,
        &[Purpose::ConfirmEmail, Purpose::ChangeEmail],
    )
    .await?;
    let person = load_for_update(&txn, link.user_id).await?;
    let author = Author::anonymous(origin).identified(person.id);
    let now = Utc::now();
    let address_changed = link.purpose == Purpose::ChangeEmail;
    let updated = match link.purpose {
        Purpose::ChangeEmail => {
            let old_email = person.email.clone();
            let taken = user::Entity::find()
                .filter(user::Column::Email.eq(link.email.as_str()))
                .count(&txn)
                .await?;
            if taken > 0 {
                return Err(AppError::Conflict(format!(
                    "{} now belongs to another account; choose another address",
                    link.email
                )));
            }
            links::take(&txn, &link).await?;
            let mut active: user::ActiveModel = person.into();
            active.email = Set(link.email.clone());
            active.email_confirmed_at = Set(Some(now));
            active.updated_at = Set(now);
            let updated = active
                .update(&txn)
                .await
                .on_conflict(|| format!("{} belongs to another account", link.email))?;
            // A link to confirm the old address confirms nothing now.
            links::retire(&txn, updated.id, Purpose::ConfirmEmail, now).await?;
            follow_address(&txn, updated.id, &link.email).await?;
            notifications::queue(
                &txn,
                Notice::EmailChanged {
                    user_id: updated.id,
                    old_email,
                },
            )
            .await?;
            audit::record(
                &txn,
                author,
                Change::new(Action::AccountEmailChanged, "User", updated.id),
            )
            .await?;
            updated
        }
        _ => {
            if link.email != person.email {
                return Err(AppError::Conflict(
                    "this link was sent to an address the account no longer uses".into(),
                ));
            }
            links::take(&txn, &link).await?;
            if person.email_confirmed_at.is_some() {
                txn.commit().await?;
                return Ok(Confirmed {
                    user: person,
                    address_changed: false,
                });
            }
            let mut active: user::ActiveModel = person.into();
            active.email_confirmed_at = Set(Some(now));
            active.updated_at = Set(now);
            let updated = active.update(&txn).await?;
            audit::record(
                &txn,
                author,
                Change::new(Action::AccountEmailConfirmed, "User", updated.id),
            )
            .await?;
            updated
        }
    };
    txn.commit().await?;
    Ok(Confirmed {
        user: updated,
        address_changed,
    })
}

/// Asks to move the account to `new_email`: a link goes to that address,
/// and the account moves when it is followed. Whether the address is free
/// is checked then, so this call says nothing about other accounts.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    new_email: &str,
    password: String,
) -> AppResult<()> {
    actor.require_session("changeEmail")?;
    let new_email =
        Email::parse(new_email, "newEmail").map_err(|e| AppError::Validation(vec![e]))?;
    let person = super::me(state, actor).await?;
    require_password(state, &actor.origin, &person, password, "password").await?;
    if new_email.as_str() == person.email {
        return Err(AppError::Validation(vec![crate::error::FieldError::new(
            "newEmail",
            "is already the account's address",
        )]));
    }
    let txn = begin_write(&state.db).await?;
    let person = load_for_update(&txn, person.id).await?;
    let issued = links::issue(
        state,
        &txn,
        person.id,
        Purpose::ChangeEmail,
        new_email.as_str(),
        confirmation_ttl(state)?,
    )
    .await?;
    if issued.is_none() {
        return Err(too_many_links());
    }
    txn.commit().await?;
    Ok(())
}

/// The account's current memberships and active roles follow it to its new
/// address, so registers and role lists show where the person is reached.
/// Where the new address already holds a place of its own (an open
/// invitation to the same pool or parent), that place is left as it is.
async fn follow_address(db: &impl ConnectionTrait, user_id: Uuid, email: &str) -> AppResult<()> {
    membership::Entity::update_many()
        .col_expr(membership::Column::Email, Expr::value(email.to_owned()))
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::LeftAt.is_null())
        .filter(
            membership::Column::PoolId.not_in_subquery(
                Query::select()
                    .column(membership::Column::PoolId)
                    .from(membership::Entity)
                    .and_where(membership::Column::Email.eq(email))
                    .and_where(membership::Column::LeftAt.is_null())
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?;
    parent_entity_role::Entity::update_many()
        .col_expr(
            parent_entity_role::Column::Email,
            Expr::value(email.to_owned()),
        )
        .filter(parent_entity_role::Column::UserId.eq(user_id))
        .filter(parent_entity_role::Column::Status.eq(RoleStatus::Active))
        .filter(
            parent_entity_role::Column::ParentEntityId.not_in_subquery(
                Query::select()
                    .column(parent_entity_role::Column::ParentEntityId)
                    .from(parent_entity_role::Entity)
                    .and_where(parent_entity_role::Column::Email.eq(email))
                    .and_where(
                        parent_entity_role::Column::Status
                            .is_in([RoleStatus::Pending, RoleStatus::Active]),
                    )
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?;
    Ok(())
}
