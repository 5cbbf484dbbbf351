//! What a resolver needs from the GraphQL context, fetched without panics.

use async_graphql::Context;
use entities::pool;

use crate::{
    auth::{Actor, RequestContext},
    error::{AppError, AppResult},
    graphql::loaders::Loaders,
    state::AppState,
};

/// The state, the request and the loaders of one resolver call.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub request: &'a RequestContext,
    pub loaders: &'a Loaders,
}

impl<'a> Ctx<'a> {
    pub fn of(ctx: &Context<'a>) -> AppResult<Self> {
        let missing = |what: &str| {
            AppError::internal(anyhow::anyhow!("{what} missing from the GraphQL context"))
        };
        Ok(Self {
            state: ctx.data::<AppState>().map_err(|_| missing("AppState"))?,
            request: ctx
                .data::<RequestContext>()
                .map_err(|_| missing("RequestContext"))?,
            loaders: ctx.data::<Loaders>().map_err(|_| missing("Loaders"))?,
        })
    }

    /// The signed-in caller, or `UNAUTHENTICATED`.
    pub async fn actor(&self) -> AppResult<&'a Actor> {
        self.request.require_actor(self.state).await
    }

    /// [`Self::actor`] for a field of `pool`: the first lookup of the caller
    /// also reads their membership of it (see `RequestContext::actor_in`).
    pub async fn actor_in(&self, pool: &pool::Model) -> AppResult<&'a Actor> {
        self.request
            .actor_in(self.state, pool.id)
            .await?
            .ok_or_else(crate::auth::unauthenticated)
    }
}
