use async_graphql::{Context, Object, Result};

use crate::{
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::{ApiToken, User},
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
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<ApiToken>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::api_tokens::list(c.state, c.actor().await?, page).await?;
        Ok(connection(page, |t| t.id, ApiToken::from))
    }
}
