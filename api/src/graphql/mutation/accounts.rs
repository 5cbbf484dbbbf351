use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            ApiToken, AuthPayload, CreateApiTokenInput, CreatedApiToken, SignInInput, SignUpInput,
        },
    },
    services::{accounts, api_tokens},
};

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account and signs it in.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> Result<AuthPayload> {
        let c = Ctx::of(ctx)?;
        c.request.take_credential_call()?;
        let input = accounts::SignUpInput::from(input);
        Ok(accounts::sign_up(c.state, &c.request.origin, input)
            .await?
            .into())
    }

    /// Opens a session. Repeated failures for one email from one address, and
    /// too many attempts from one address, are refused for a while. One
    /// signIn or signUp per request.
    async fn sign_in(&self, ctx: &Context<'_>, input: SignInInput) -> Result<AuthPayload> {
        let c = Ctx::of(ctx)?;
        c.request.take_credential_call()?;
        let input = accounts::SignInInput::from(input);
        Ok(accounts::sign_in(c.state, &c.request.origin, input)
            .await?
            .into())
    }

    /// Ends the session this request was made with.
    async fn sign_out(&self, ctx: &Context<'_>) -> Result<bool> {
        let c = Ctx::of(ctx)?;
        accounts::sign_out(c.state, c.actor().await?).await?;
        Ok(true)
    }

    /// Creates an API token for an integrator; the secret is returned this once.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> Result<CreatedApiToken> {
        let c = Ctx::of(ctx)?;
        let input = api_tokens::CreateApiTokenInput::from(input);
        let (token, model) = api_tokens::create(c.state, c.actor().await?, input).await?;
        Ok(CreatedApiToken {
            token,
            api_token: ApiToken::from(model),
        })
    }

    /// Revokes one of your API tokens; it stops working at once.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> Result<ApiToken> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(ApiToken::from(
            api_tokens::revoke(c.state, c.actor().await?, id).await?,
        ))
    }
}
