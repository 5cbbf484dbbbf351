//! Accounts: sign-up, sign-in and sign-out here; confirming and changing
//! the address, passwords, sessions and the profile in the submodules.

pub mod email;
pub mod links;
pub mod passwords;
pub mod profile;
pub mod sessions;

use chrono::Utc;
use entities::{access_token, sign_in_failure, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    auth::{Actor, Origin, password, tokens},
    domain::{Check, Email, Password, SingleLineText},
    error::FieldError,
    error::{AppError, AppResult},
    mail::Locale,
    services::OnConflict,
    services::audit::{self, Action, Author, Change},
    services::lock,
    state::AppState,
};

pub struct SignUpInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// The language of the person's messages; English when unset.
    pub locale: Option<String>,
}

/// A new session: the secret (shown once) and whose it is.
pub struct Session {
    pub token: String,
    pub expires_at: chrono::DateTime<Utc>,
    pub user: user::Model,
    pub token_id: Uuid,
}

pub type DisplayName = SingleLineText<1, 100>;

pub async fn sign_up(state: &AppState, origin: &Origin, input: SignUpInput) -> AppResult<Session> {
    let mut check = Check::default();
    let email = check.field(Email::parse(&input.email, "input.email"));
    let password = check.field(Password::parse(
        &input.password,
        email.as_ref(),
        "input.password",
    ));
    let display_name = check.field(DisplayName::parse(&input.display_name, "input.displayName"));
    let locale = match input.locale.as_deref() {
        None => Some(Locale::En),
        Some(tag) => check.field(parse_locale(tag, "input.locale")),
    };
    let (Some(email), Some(password), Some(display_name), Some(locale)) =
        (email, password, display_name, locale)
    else {
        return Err(check.into_error());
    };
    state
        .limits
        .sign_up_attempt(origin.client_address.as_deref().unwrap_or_default())?;
    let password_hash = password::hash(&state.limits, password.into_inner()).await?;
    let now = Utc::now();
    let txn = crate::services::begin_write(&state.db).await?;
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        display_name: Set(display_name.into_inner()),
        password_hash: Set(password_hash),
        created_at: Set(now),
        updated_at: Set(now),
        email_confirmed_at: Set(None),
        locale: Set(locale.tag().to_owned()),
        deleted_at: Set(None),
    }
    .insert(&txn)
    .await
    .on_conflict(|| format!("an account with the email {email} already exists; sign in instead"))?;
    email::send_confirmation(state, &txn, &user).await?;
    audit::record(
        &txn,
        Author::anonymous(origin).identified(user.id),
        Change::new(Action::AccountCreated, "User", user.id).created(&user),
    )
    .await?;
    let session = open_session(state, &txn, user, origin).await?;
    txn.commit().await?;
    Ok(session)
}

pub struct SignInInput {
    pub email: String,
    pub password: String,
}

pub async fn sign_in(state: &AppState, origin: &Origin, input: SignInInput) -> AppResult<Session> {
    let email =
        Email::parse(&input.email, "input.email").map_err(|e| AppError::Validation(vec![e]))?;
    let address = origin.client_address.clone().unwrap_or_default();
    state.limits.sign_in_attempt(&address)?;
    let attempt = reserve_attempt(state, &email, &address).await?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::DeletedAt.is_null())
        .one(&state.db)
        .await?;
    let verified = password::verify(
        &state.limits,
        input.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    let ok = match verified {
        Ok(ok) => ok,
        Err(e) => {
            // Not checked (the server was busy): not a failure either.
            sign_in_failure::Entity::delete_by_id(attempt)
                .exec(&state.db)
                .await?;
            return Err(e);
        }
    };
    match user {
        Some(user) if ok => {
            let txn = crate::services::begin_write(&state.db).await?;
            // A success clears the slate for this email from this address.
            sign_in_failure::Entity::delete_many()
                .filter(sign_in_failure::Column::Email.eq(email.as_str()))
                .filter(sign_in_failure::Column::ClientAddress.eq(address.as_str()))
                .exec(&txn)
                .await?;
            let author = Author::anonymous(origin).identified(user.id);
            let session = open_session(state, &txn, user, origin).await?;
            audit::record(
                &txn,
                author,
                Change::new(Action::SessionOpened, "ApiToken", session.token_id),
            )
            .await?;
            txn.commit().await?;
            Ok(session)
        }
        // The reserved attempt stays, as a failure.
        _ => Err(AppError::Unauthenticated(
            "the email or the password is wrong".into(),
        )),
    }
}

/// Counts an attempt before its password is checked, so concurrent guesses
/// count too: the attempt is written first, then the attempts in the window
/// are counted, its own included. Each attempt sees at least the ones that
/// committed before it, so no more than the allowance get through however
/// many arrive at once. A refused attempt is taken back (it cost nothing
/// and must not lengthen the lock); one that goes on stays as a failure
/// unless it succeeds. Failures count per email *and* address: a flood of
/// guesses from one network never locks the owner out of another (the
/// per-address limit bounds how many emails one network may try). Returns
/// the attempt's id.
async fn reserve_attempt(state: &AppState, email: &Email, address: &str) -> AppResult<Uuid> {
    let window =
        chrono::Duration::from_std(state.config.sign_in_window).map_err(AppError::internal)?;
    let now = Utc::now();
    let since = now - window;
    sign_in_failure::Entity::delete_many()
        .filter(sign_in_failure::Column::Email.eq(email.as_str()))
        .filter(sign_in_failure::Column::AttemptedAt.lte(since))
        .exec(&state.db)
        .await?;
    let id = Uuid::now_v7();
    sign_in_failure::ActiveModel {
        id: Set(id),
        email: Set(email.as_str().to_owned()),
        client_address: Set(address.to_owned()),
        attempted_at: Set(now),
    }
    .insert(&state.db)
    .await?;
    let max = u64::from(state.config.sign_in_max_failures);
    let from_here = sign_in_failure::Entity::find()
        .filter(sign_in_failure::Column::Email.eq(email.as_str()))
        .filter(sign_in_failure::Column::ClientAddress.eq(address))
        .filter(sign_in_failure::Column::AttemptedAt.gt(since))
        .count(&state.db)
        .await?;
    if from_here > max {
        sign_in_failure::Entity::delete_by_id(id)
            .exec(&state.db)
            .await?;
        let secs = state.config.sign_in_window.as_secs();
        return Err(AppError::RateLimited {
            message: format!(
                "too many failed sign-ins for this email; try again in {} minutes",
                secs.div_ceil(60)
            ),
            retry_after_secs: secs,
        });
    }
    Ok(id)
}

async fn open_session(
    state: &AppState,
    db: &impl sea_orm::ConnectionTrait,
    user: user::Model,
    origin: &Origin,
) -> AppResult<Session> {
    let token = tokens::new_token(tokens::SESSION_PREFIX);
    let now = Utc::now();
    let expires_at =
        now + chrono::Duration::from_std(state.config.session_ttl).map_err(AppError::internal)?;
    let token_id = Uuid::now_v7();
    access_token::ActiveModel {
        id: Set(token_id),
        user_id: Set(user.id),
        kind: Set(access_token::TokenKind::Session),
        name: Set(None),
        scopes: Set("READ,WRITE".into()),
        token_hash: Set(tokens::hash_token(
            state.config.auth_secret.expose(),
            &token,
        )),
        created_at: Set(now),
        expires_at: Set(expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        user_agent: Set(origin.user_agent.clone()),
        client_address: Set(origin.client_address.clone()),
    }
    .insert(db)
    .await?;
    Ok(Session {
        token,
        expires_at,
        user,
        token_id,
    })
}

/// Revokes the session the request came with.
pub async fn sign_out(state: &AppState, actor: &Actor) -> AppResult<()> {
    actor.require_session("signOut")?;
    let txn = crate::services::begin_write(&state.db).await?;
    let ended = access_token::Entity::update_many()
        .col_expr(
            access_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(access_token::Column::Id.eq(actor.token_id))
        .filter(access_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if ended.rows_affected > 0 {
        audit::record(
            &txn,
            actor,
            Change::new(Action::SessionClosed, "ApiToken", actor.token_id),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What only a person may list about themself (memberships, invitations,
/// delegations, contributions): refused to everyone else, before any of
/// their arguments is read.
pub fn require_self(actor: &Actor, user_id: Uuid, what: &str) -> AppResult<()> {
    if actor.user_id != user_id {
        return Err(AppError::Forbidden(format!(
            "you can list only your own {what}"
        )));
    }
    Ok(())
}

pub async fn me(state: &AppState, actor: &Actor) -> AppResult<user::Model> {
    user::Entity::find_by_id(actor.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("this account no longer exists".into()))
}

/// A language messages can be written in.
pub(crate) fn parse_locale(tag: &str, path: &str) -> Result<Locale, FieldError> {
    Locale::parse(tag).ok_or_else(|| {
        let known: Vec<_> = Locale::ALL.iter().map(|l| l.tag()).collect();
        FieldError::new(path, format!("expected one of {}", known.join(", ")))
    })
}

/// The person's row, held for a read-modify-write until the transaction ends.
pub(crate) async fn load_for_update(
    txn: &sea_orm::DatabaseTransaction,
    user_id: Uuid,
) -> AppResult<user::Model> {
    lock::<user::Entity>(txn, user_id)
        .await?
        .filter(|u| u.deleted_at.is_none())
        .ok_or_else(|| AppError::Unauthenticated("this account no longer exists".into()))
}

/// Checks the person's password before a change only they may make (a new
/// address, a new password, deleting the account). Guesses count against
/// the sign-in limit of the caller's address; a wrong one names the field.
pub(crate) async fn require_password(
    state: &AppState,
    origin: &Origin,
    person: &user::Model,
    given: String,
    path: &str,
) -> AppResult<()> {
    state
        .limits
        .sign_in_attempt(origin.client_address.as_deref().unwrap_or_default())?;
    if password::verify(&state.limits, given, Some(person.password_hash.clone())).await? {
        Ok(())
    } else {
        Err(AppError::Validation(vec![FieldError::new(
            path,
            "is not the account's password",
        )]))
    }
}

/// Refuses what needs a proven address (joining a pool, accepting an
/// invitation or a role, submitting a formation) to an account whose
/// address is not confirmed yet: invitations and roles are matched by
/// address, so an unproven one could take someone else's.
pub fn require_confirmed(person: &user::Model, doing: &str) -> AppResult<()> {
    if person.email_confirmed_at.is_none() {
        return Err(AppError::Forbidden(format!(
            "confirm your email address before you {doing}: follow the link sent to {}, \
             or ask for a new one with sendEmailConfirmation",
            person.email
        )));
    }
    Ok(())
}
