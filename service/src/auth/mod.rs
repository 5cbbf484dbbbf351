//! Who is calling: bearer token → [`Actor`], resolved lazily once per request,
//! plus the permission checks that services use.

pub mod access;
pub mod password;
pub mod permissions;
pub mod tokens;

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU32, Ordering},
};

use chrono::Utc;
use entities::{
    access_token::{self, TokenKind},
    membership::{self, MembershipStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, JoinType, QueryFilter, QuerySelect, Set,
};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    state::AppState,
};

/// Where a request came from, as the trail records it.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub request_id: Option<String>,
    pub client_address: Option<String>,
    /// The client's `User-Agent`, cut to 300 characters; kept only with the
    /// sessions it opens.
    pub user_agent: Option<String>,
}

/// What an API token may do. Session tokens may do everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum ApiTokenScope {
    /// Run queries.
    Read,
    /// Run mutations.
    Write,
}

impl ApiTokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Write => "WRITE",
        }
    }

    pub fn parse_list(stored: &str) -> Vec<Self> {
        stored
            .split(',')
            .filter_map(|s| match s {
                "READ" => Some(Self::Read),
                "WRITE" => Some(Self::Write),
                _ => None,
            })
            .collect()
    }

    pub fn join(scopes: &[Self]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Uuid,
    /// The token the request came with; `signOut` revokes it.
    pub token_id: Uuid,
    pub kind: TokenKind,
    pub scopes: Vec<ApiTokenScope>,
    /// Where the request came from, for the audit trail.
    pub origin: Origin,
    /// Read permissions found so far, in a query (see [`access::ReadMemo`]).
    pub reads: Option<access::ReadMemo>,
}

impl Actor {
    pub fn is_api_token(&self) -> bool {
        self.kind == TokenKind::Api
    }

    /// Refuses API tokens, for operations only a signed-in person may run
    /// (managing API tokens, for one).
    pub fn require_session(&self, what: &str) -> AppResult<()> {
        if self.is_api_token() {
            return Err(AppError::Forbidden(format!(
                "{what} needs a signed-in session; API tokens cannot do it"
            )));
        }
        Ok(())
    }

    fn require_scope(&self, scope: ApiTokenScope) -> AppResult<()> {
        if self.is_api_token() && !self.scopes.contains(&scope) {
            return Err(AppError::Forbidden(format!(
                "this API token lacks the {} scope",
                scope.as_str()
            )));
        }
        Ok(())
    }
}

/// Per-request facts that resolvers and services need. One per GraphQL request.
pub struct RequestContext {
    /// Echoed in the `x-request-id` header and in error extensions.
    pub request_id: String,
    /// The request id and client address, as the audit trail records them.
    pub origin: Origin,
    /// The bearer token, if the request carried one.
    credentials: Option<String>,
    /// Whether the operation is a mutation: API tokens then need `WRITE`.
    is_mutation: bool,
    actor: OnceCell<Option<Actor>>,
    /// Set when looking the caller up found the database unreachable: the
    /// other fields of the request then fail at once instead of each
    /// waiting for a connection again.
    unavailable: AtomicBool,
    /// signIn and signUp calls so far in this HTTP request (shared by the
    /// operations of a batch): one is allowed, so one request cannot buy
    /// many password hashes.
    credential_calls: Arc<AtomicU32>,
    /// Whether read permissions may be remembered for the whole request.
    memo_reads: bool,
}

impl RequestContext {
    pub fn new(
        request_id: String,
        client_address: Option<String>,
        credentials: Option<String>,
        is_mutation: bool,
    ) -> Self {
        Self {
            origin: Origin {
                request_id: Some(request_id.clone()),
                client_address,
                user_agent: None,
            },
            request_id,
            credentials,
            is_mutation,
            actor: OnceCell::new(),
            unavailable: AtomicBool::new(false),
            credential_calls: Arc::default(),
            memo_reads: false,
        }
    }

    /// The client's `User-Agent`, recorded with a session it opens.
    pub fn with_user_agent(mut self, user_agent: Option<String>) -> Self {
        self.origin.user_agent = user_agent;
        self
    }

    /// Remembers read permissions for the rest of the request: for a query
    /// over HTTP, which reads one moment's state.
    pub fn with_read_memo(mut self) -> Self {
        self.memo_reads = !self.is_mutation;
        self
    }

    /// Shares the count of signIn and signUp calls with the other
    /// operations of the same HTTP request.
    pub fn with_credential_calls(mut self, calls: Arc<AtomicU32>) -> Self {
        self.credential_calls = calls;
        self
    }

    /// Counts a signIn or signUp; the second in one request is refused.
    pub fn take_credential_call(&self) -> AppResult<()> {
        if self.credential_calls.fetch_add(1, Ordering::SeqCst) > 0 {
            return Err(AppError::RateLimited {
                message:
                    "one signIn or signUp per request; send the others as requests of their own"
                        .into(),
                retry_after_secs: 1,
            });
        }
        Ok(())
    }

    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// The caller, or `None` for an anonymous request. A token that is unknown,
    /// expired or revoked is an error, never a silent downgrade to anonymous.
    pub async fn actor(&self, state: &AppState) -> AppResult<Option<&Actor>> {
        self.find_actor(state, None).await
    }

    /// [`Self::actor`] for a field of the pool `pool_id`. If the caller is
    /// not known yet, their membership of the pool is read with their token
    /// and remembered for the query's permission checks.
    pub async fn actor_in(&self, state: &AppState, pool_id: Uuid) -> AppResult<Option<&Actor>> {
        self.find_actor(state, Some(pool_id)).await
    }

    async fn find_actor(
        &self,
        state: &AppState,
        pool_id: Option<Uuid>,
    ) -> AppResult<Option<&Actor>> {
        let Some(token) = &self.credentials else {
            return Ok(None);
        };
        let actor = self
            .actor
            .get_or_try_init(|| async {
                if self.unavailable.load(Ordering::SeqCst) {
                    return Err(AppError::unavailable());
                }
                let reads = self.memo_reads.then(access::ReadMemo::default);
                let found = match (pool_id, &reads) {
                    (Some(pool_id), Some(_)) => authenticate_in_pool(state, token, pool_id)
                        .await
                        .map(|(actor, member)| (actor, Some((pool_id, member)))),
                    _ => authenticate(state, token).await.map(|actor| (actor, None)),
                };
                let (mut actor, member) = found.inspect_err(|e| {
                    if matches!(e, AppError::Unavailable { .. }) {
                        self.unavailable.store(true, Ordering::SeqCst);
                    }
                })?;
                if let (Some(memo), Some((pool_id, member))) = (&reads, member) {
                    memo.remember_membership(pool_id, member);
                }
                actor.origin = self.origin.clone();
                actor.reads = reads;
                Ok::<_, AppError>(Some(actor))
            })
            .await?
            .as_ref();
        if let Some(actor) = actor {
            actor.require_scope(if self.is_mutation {
                ApiTokenScope::Write
            } else {
                ApiTokenScope::Read
            })?;
        }
        Ok(actor)
    }

    /// The caller, or `UNAUTHENTICATED`.
    pub async fn require_actor(&self, state: &AppState) -> AppResult<&Actor> {
        self.actor(state).await?.ok_or_else(unauthenticated)
    }
}

/// The refusal for a request that needs a caller and came without one.
pub fn unauthenticated() -> AppError {
    AppError::Unauthenticated(
        "sign in first: send `Authorization: Bearer <token>` from signIn or an API token".into(),
    )
}

/// Minimum time between two writes of a token's `last_used_at`.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// A token that exists, is not revoked and has not expired.
fn usable(
    found: Option<access_token::Model>,
    now: chrono::DateTime<Utc>,
) -> AppResult<access_token::Model> {
    match found {
        None => Err(AppError::Unauthenticated(
            "this token is not valid; sign in again".into(),
        )),
        Some(row) if row.revoked_at.is_some() => Err(AppError::Unauthenticated(
            "this token has been revoked; sign in again".into(),
        )),
        Some(row) if row.expires_at <= now => Err(AppError::Unauthenticated(
            "this token has expired; sign in again".into(),
        )),
        Some(row) => Ok(row),
    }
}

/// Whether the token an actor authenticated with still holds, for
/// long-lived connections that authenticated once (subscriptions).
pub async fn require_live_token(state: &AppState, actor: &Actor) -> AppResult<()> {
    let found = access_token::Entity::find_by_id(actor.token_id)
        .one(&state.db)
        .await?;
    usable(found, Utc::now()).map(|_| ())
}

/// Resolves a bearer token to the person behind it.
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<Actor> {
    let found = access_token::Entity::find()
        .filter(access_token::Column::TokenHash.eq(token_hash(state, token)))
        .one(&state.db)
        .await?;
    actor_of(state, found).await
}

/// [`authenticate`], with the person's active membership of `pool_id` read
/// in the same statement: a page of a pool needs both, one after the other.
pub async fn authenticate_in_pool(
    state: &AppState,
    token: &str,
    pool_id: Uuid,
) -> AppResult<(Actor, Option<membership::Model>)> {
    let membership_of_holder = access_token::Entity::belongs_to(membership::Entity)
        .from(access_token::Column::UserId)
        .to(membership::Column::UserId)
        .on_condition(move |_, _| {
            Condition::all()
                .add(membership::Column::PoolId.eq(pool_id))
                .add(membership::Column::Status.eq(MembershipStatus::Active))
        });
    let found = access_token::Entity::find()
        .filter(access_token::Column::TokenHash.eq(token_hash(state, token)))
        .join(JoinType::LeftJoin, membership_of_holder.into())
        .select_also(membership::Entity)
        .one(&state.db)
        .await?;
    let (token_row, membership) = found.unzip();
    Ok((actor_of(state, token_row).await?, membership.flatten()))
}

fn token_hash(state: &AppState, token: &str) -> String {
    tokens::hash_token(state.config.auth_secret.expose(), token)
}

/// The caller a token row stands for, if the token is usable; notes its use
/// (at most once a minute, so reads do not each write).
async fn actor_of(state: &AppState, found: Option<access_token::Model>) -> AppResult<Actor> {
    let now = Utc::now();
    let row = usable(found, now)?;
    let stale = row
        .last_used_at
        .is_none_or(|t| (now - t).num_seconds() >= LAST_USED_RESOLUTION_SECS);
    let actor = Actor {
        user_id: row.user_id,
        token_id: row.id,
        kind: row.kind.clone(),
        scopes: match row.kind {
            TokenKind::Session => vec![ApiTokenScope::Read, ApiTokenScope::Write],
            TokenKind::Api => ApiTokenScope::parse_list(&row.scopes),
        },
        origin: Origin::default(),
        reads: None,
    };
    if stale {
        let mut active: access_token::ActiveModel = row.into();
        active.last_used_at = Set(Some(now));
        active.update(&state.db).await?;
    }
    Ok(actor)
}
