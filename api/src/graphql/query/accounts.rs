use async_graphql::{Context, Object, Result};

use crate::{
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::{ApiToken, Session, User},
    },
    services::{self, pagination::PageRequest},
};

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in person.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let c = Ctx::of(ctx)?;
        Ok(User::from(
            services::accounts::me(c.state, c.actor().await?).await?,
        ))
    }

    /// Your API tokens, revoked ones included. Needs a signed-in session.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Rows from the start, or after `after`: 1 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor from this list (an edge's `cursor`); the page starts after it."
        )]
        after: Option<String>,
        #[graphql(desc = "Rows from the end, or before `before`: 1 to 100; not with `first`.")]
        last: Option<i32>,
        #[graphql(desc = "A cursor from this list (an edge's `cursor`); the page ends before it.")]
        before: Option<String>,
    ) -> Result<Conn<ApiToken>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::api_tokens::list(c.state, c.actor().await?, page).await?;
        Ok(connection(page, |t| t.id, ApiToken::from))
    }

    /// Your open sessions, oldest first: where you are signed in. Needs a
    /// signed-in session.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn my_sessions(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Rows from the start, or after `after`: 1 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor from this list (an edge's `cursor`); the page starts after it."
        )]
        after: Option<String>,
        #[graphql(desc = "Rows from the end, or before `before`: 1 to 100; not with `first`.")]
        last: Option<i32>,
        #[graphql(desc = "A cursor from this list (an edge's `cursor`); the page ends before it.")]
        before: Option<String>,
    ) -> Result<Conn<Session>> {
        let c = Ctx::of(ctx)?;
        let actor = c.actor().await?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::accounts::sessions::mine(c.state, actor, page).await?;
        let current = actor.token_id;
        Ok(connection(page, |t| t.id, |t| Session::of(t, current)))
    }
}
