use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            AppProvisioner, AppProvisionerPayload, CreateWebhookEndpointInput,
            CreatedWebhookEndpoint, PoolApp, SetAppProvisionerInput, WebhookEndpoint,
        },
    },
    services::{provisioning, webhooks},
};

#[derive(Default)]
pub struct EventMutation;

#[Object]
impl EventMutation {
    /// Subscribes a URL to a parent entity's (stewards) or a pool's
    /// (admins) events; the signing secret is returned this once.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<CreatedWebhookEndpoint> {
        let c = Ctx::of(ctx)?;
        let input = webhooks::CreateInput::try_from(input)?;
        let (endpoint, secret) = webhooks::create(c.state, c.actor().await?, input).await?;
        Ok(CreatedWebhookEndpoint {
            endpoint: WebhookEndpoint::from(endpoint),
            secret,
        })
    }

    /// Stops deliveries to an endpoint; its history stays readable.
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookEndpoint> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(WebhookEndpoint::from(
            webhooks::delete(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Sets where the parent's operators provision an app (stewards). Apps
    /// of that kind waiting for a provisioner are requested at once. The
    /// secret that signs requests and callbacks is returned this once.
    async fn set_app_provisioner(
        &self,
        ctx: &Context<'_>,
        input: SetAppProvisionerInput,
    ) -> Result<AppProvisionerPayload> {
        let c = Ctx::of(ctx)?;
        let parent = uuid!(input.parent_entity_id)?;
        let (provisioner, secret) = provisioning::set_provisioner(
            c.state,
            c.actor().await?,
            parent,
            input.app_id.as_str(),
            &input.url,
        )
        .await?;
        Ok(AppProvisionerPayload {
            provisioner: AppProvisioner::from(provisioner),
            secret,
        })
    }

    /// Requests a failed (or waiting) app again (the pool's admins).
    async fn retry_app_provisioning(&self, ctx: &Context<'_>, pool_app_id: ID) -> Result<PoolApp> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(pool_app_id)?;
        Ok(PoolApp::from(
            provisioning::retry(c.state, c.actor().await?, id).await?,
        ))
    }
}
