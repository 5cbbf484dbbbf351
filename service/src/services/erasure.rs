//! Deleting an account. What ends: memberships, roles, open applications
//! and formations, sessions and API tokens, links and preferences. What is
//! erased: the address (everywhere it was stored, the trail included), the
//! name on the account, the password, what sessions recorded of the
//! person's devices and network. What stays, because a co-op's register
//! and its audit must: each membership's entry (name as registered, group,
//! shares, dates, how it ended) and every audit event, whose chain still
//! verifies. The README says why and for how long.
//!
//! Its own module because it reaches into every domain a person takes
//! part in, and none of them should depend on it.

use chrono::{DateTime, Utc};
use entities::{
    access_token, account_token, contribution, membership, notification_opt_out,
    parent_entity_role, sign_in_failure, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, password::DUMMY_HASH},
    error::{AppError, AppResult},
    services::{
        accounts::{self, load_for_update, require_password},
        audit::{
            self, Action, Author, Change,
            erasure::{self, Subject},
        },
        begin_write, formations, membership as memberships, parent_entities,
    },
    state::AppState,
};

/// What a deletion did, for the person's last answer.
pub struct Deletion {
    pub deleted_at: DateTime<Utc>,
    pub memberships_ended: u64,
    pub roles_ended: u64,
    pub events_redacted: u64,
}

/// The address a deleted account keeps: unique, and on a domain that can
/// never receive mail (RFC 2606).
pub fn erased_address(user_id: Uuid) -> String {
    format!("deleted-{}@erased.invalid", user_id.simple())
}

/// The name a deleted account shows wherever its person appeared.
pub const ERASED_NAME: &str = "Deleted account";

/// Deletes the caller's account, after their password. One transaction:
/// either all of it happens or none.
pub async fn delete_account(
    state: &AppState,
    actor: &Actor,
    password: String,
) -> AppResult<Deletion> {
    actor.require_session("deleteAccount")?;
    let person = accounts::me(state, actor).await?;
    require_password(state, &actor.origin, &person, password, "password").await?;
    let txn = begin_write(&state.db).await?;
    let person = load_for_update(&txn, person.id).await?;
    refuse_open_contributions(&txn, person.id).await?;
    let addresses = addresses_of(&txn, &person).await?;

    let ended = memberships::changes::end_for_deleted_account(&txn, actor).await?;
    let (roles_ended, role_ids) =
        parent_entities::end_for_deleted_account(&txn, actor, &addresses).await?;
    let application_ids =
        memberships::applications::withdraw_for_deleted_account(&txn, actor).await?;
    formations::lifecycle::withdraw_for_deleted_account(&txn, actor).await?;

    let now = Utc::now();
    let pseudonym = erased_address(person.id);
    let membership_ids = pseudonymise_register(&txn, person.id, &pseudonym).await?;
    parent_entity_role::Entity::update_many()
        .col_expr(
            parent_entity_role::Column::Email,
            Expr::value(pseudonym.clone()),
        )
        .filter(parent_entity_role::Column::Id.is_in(role_ids.iter().copied()))
        .exec(&txn)
        .await?;
    let token_ids = end_access(&txn, person.id, &addresses, now).await?;

    let mut entity_ids = vec![person.id];
    entity_ids.extend(membership_ids);
    entity_ids.extend(role_ids);
    entity_ids.extend(application_ids);
    entity_ids.extend(token_ids);
    let events_redacted = erasure::erase(
        &txn,
        &Subject {
            user_id: person.id,
            entity_ids,
            addresses,
        },
    )
    .await?;

    let mut active: user::ActiveModel = person.into();
    active.email = Set(pseudonym);
    active.display_name = Set(ERASED_NAME.to_owned());
    active.password_hash = Set(DUMMY_HASH.to_owned());
    active.email_confirmed_at = Set(None);
    active.deleted_at = Set(Some(now));
    active.updated_at = Set(now);
    let person = active.update(&txn).await?;

    let deletion = Deletion {
        deleted_at: now,
        memberships_ended: ended.len() as u64,
        roles_ended,
        events_redacted,
    };
    // The last event names no address: the person's network goes with them.
    let mut author = Author::from(actor);
    author.origin.client_address = None;
    audit::record(
        &txn,
        author,
        Change::new(Action::AccountDeleted, "User", person.id)
            .with("membershipsEnded", deletion.memberships_ended)
            .with("rolesEnded", deletion.roles_ended)
            .with("eventsRedacted", deletion.events_redacted),
    )
    .await?;
    txn.commit().await?;
    Ok(deletion)
}

/// Money must not keep moving for an account nobody can sign in to, and a
/// subscription is ended at Stripe, outside this transaction: the person
/// cancels first.
async fn refuse_open_contributions(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<()> {
    let open = contribution::Entity::find()
        .filter(contribution::Column::UserId.eq(user_id))
        .filter(contribution::Column::Status.ne(contribution::ContributionStatus::Canceled))
        .count(db)
        .await?;
    if open > 0 {
        return Err(AppError::Conflict(format!(
            "you still have {open} contribution(s) that are not canceled: cancel them with \
             cancelContribution (see me.contributions), then delete your account"
        )));
    }
    Ok(())
}

/// Every address the account was known by: now, before a change, and as
/// pools invited it.
async fn addresses_of(db: &impl ConnectionTrait, person: &user::Model) -> AppResult<Vec<String>> {
    let mut addresses = vec![person.email.clone()];
    let links: Vec<String> = account_token::Entity::find()
        .select_only()
        .column(account_token::Column::Email)
        .filter(account_token::Column::UserId.eq(person.id))
        .into_tuple()
        .all(db)
        .await?;
    let joined: Vec<String> = membership::Entity::find()
        .select_only()
        .column(membership::Column::Email)
        .filter(membership::Column::UserId.eq(person.id))
        .into_tuple()
        .all(db)
        .await?;
    addresses.extend(links);
    addresses.extend(joined);
    addresses.sort();
    addresses.dedup();
    Ok(addresses)
}

/// The register keeps each entry, under the pseudonymous address; returns
/// the memberships' ids.
async fn pseudonymise_register(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    pseudonym: &str,
) -> AppResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = membership::Entity::find()
        .select_only()
        .column(membership::Column::Id)
        .filter(membership::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    membership::Entity::update_many()
        .col_expr(membership::Column::Email, Expr::value(pseudonym.to_owned()))
        .filter(membership::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(ids)
}

/// Ends every way in (sessions and API tokens), forgets what they recorded
/// of the person's devices, and drops links, preferences and failed
/// sign-ins; returns the tokens' ids.
async fn end_access(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    addresses: &[String],
    now: DateTime<Utc>,
) -> AppResult<Vec<Uuid>> {
    let tokens: Vec<Uuid> = access_token::Entity::find()
        .select_only()
        .column(access_token::Column::Id)
        .filter(access_token::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    access_token::Entity::update_many()
        .col_expr(
            access_token::Column::UserAgent,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            access_token::Column::ClientAddress,
            Expr::value(Option::<String>::None),
        )
        .filter(access_token::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    access_token::Entity::update_many()
        .col_expr(access_token::Column::RevokedAt, Expr::value(now))
        .filter(access_token::Column::UserId.eq(user_id))
        .filter(access_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    let mut ids = tokens;
    let links: Vec<Uuid> = account_token::Entity::find()
        .select_only()
        .column(account_token::Column::Id)
        .filter(account_token::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    ids.extend(links);
    account_token::Entity::delete_many()
        .filter(account_token::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    notification_opt_out::Entity::delete_many()
        .filter(notification_opt_out::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    sign_in_failure::Entity::delete_many()
        .filter(sign_in_failure::Column::Email.is_in(addresses.iter().cloned()))
        .exec(db)
        .await?;
    Ok(ids)
}
