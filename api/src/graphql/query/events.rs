use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        ids::uuid,
        types::{WebhookDelivery, WebhookEndpoint},
    },
    services::{pagination::PageRequest, webhooks},
};

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// The live webhook endpoints of a parent entity (its stewards and
    /// auditors) or of a pool (its admins, and the parent's overseers).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A parent entity's endpoints; give either this or `poolId`.")]
        parent_entity_id: Option<ID>,
        #[graphql(desc = "One pool's endpoints; give either this or `parentEntityId`.")]
        pool_id: Option<ID>,
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
    ) -> Result<Conn<WebhookEndpoint>> {
        let c = Ctx::of(ctx)?;
        let parent = uuid!(parent_entity_id)?;
        let pool = uuid!(pool_id)?;
        let owner = webhooks::Owner::of(parent, pool)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = webhooks::list(c.state, c.actor().await?, owner, page).await?;
        Ok(connection(page, |e| e.id, WebhookEndpoint::from))
    }

    /// An endpoint's deliveries, oldest first, with their attempts.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
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
    ) -> Result<Conn<WebhookDelivery>> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(endpoint_id)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = webhooks::deliveries(c.state, c.actor().await?, id, page).await?;
        Ok(connection(page, |d| d.id, WebhookDelivery::from))
    }
}
