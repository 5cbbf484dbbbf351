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
        parent_entity_id: Option<ID>,
        pool_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
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
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<WebhookDelivery>> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(endpoint_id)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = webhooks::deliveries(c.state, c.actor().await?, id, page).await?;
        Ok(connection(page, |d| d.id, WebhookDelivery::from))
    }
}
