use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            AccountDeletion, ApiToken, AuthPayload, CreateApiTokenInput, CreatedApiToken,
            EmailConfirmation, NotificationPreference, NotificationPreferenceInput, Session,
            SignInInput, SignUpInput, User,
        },
    },
    services::{
        accounts::{self, email, passwords, profile, sessions},
        api_tokens, erasure,
    },
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

    /// Proves your address with the token from the link sent to it, at
    /// sign-up or by `sendEmailConfirmation`; for a token sent by
    /// `changeEmail`, moves your account to the new address. No session is
    /// needed: the token is the credential. Each link works once.
    async fn confirm_email(&self, ctx: &Context<'_>, token: String) -> Result<EmailConfirmation> {
        let c = Ctx::of(ctx)?;
        let done = email::confirm(c.state, &c.request.origin, &token).await?;
        Ok(EmailConfirmation {
            email: done.user.email,
            confirmed_at: done.user.email_confirmed_at.unwrap_or_default(),
            address_changed: done.address_changed,
        })
    }

    /// Sends the link that confirms your address again (a few an hour at
    /// most). Needs a signed-in session.
    async fn send_email_confirmation(&self, ctx: &Context<'_>) -> Result<bool> {
        let c = Ctx::of(ctx)?;
        email::resend_confirmation(c.state, c.actor().await?).await?;
        Ok(true)
    }

    /// Sends a link to set a new password, valid for one hour, if an account
    /// has this address. The answer is `true` either way, so nobody learns
    /// who has an account; requests are limited per network and per account.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> Result<bool> {
        let c = Ctx::of(ctx)?;
        passwords::request_reset(c.state, &c.request.origin, &email).await?;
        Ok(true)
    }

    /// Sets a new password with the token from a reset link. The link works
    /// once; every session of the account ends, so sign in again.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        #[graphql(secret)] new_password: String,
    ) -> Result<bool> {
        let c = Ctx::of(ctx)?;
        c.request.take_credential_call()?;
        passwords::reset(c.state, &c.request.origin, &token, new_password).await?;
        Ok(true)
    }

    /// Changes your password, given the current one. This session stays;
    /// every other one ends. Needs a signed-in session.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] current_password: String,
        #[graphql(secret)] new_password: String,
    ) -> Result<bool> {
        let c = Ctx::of(ctx)?;
        let actor = c.actor().await?;
        c.request.take_credential_call()?;
        passwords::change(c.state, actor, current_password, new_password).await?;
        Ok(true)
    }

    /// Asks to move your account to a new address, given your password: a
    /// link goes to the new address, and the account moves when it is
    /// followed (`confirmEmail`). The old address is told. Needs a
    /// signed-in session.
    async fn change_email(
        &self,
        ctx: &Context<'_>,
        new_email: String,
        #[graphql(secret)] password: String,
    ) -> Result<bool> {
        let c = Ctx::of(ctx)?;
        let actor = c.actor().await?;
        c.request.take_credential_call()?;
        email::change(c.state, actor, &new_email, password).await?;
        Ok(true)
    }

    /// Changes your display name or the language of your messages (`en`,
    /// `es`); what is left out stays.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        display_name: Option<String>,
        locale: Option<String>,
    ) -> Result<User> {
        let c = Ctx::of(ctx)?;
        let input = profile::ProfileInput {
            display_name,
            locale,
        };
        Ok(User::from(
            profile::update(c.state, c.actor().await?, input).await?,
        ))
    }

    /// Turns optional messages on or off; topics left out stay as they were.
    async fn set_notification_preferences(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(max_items = 10))] preferences: Vec<NotificationPreferenceInput>,
    ) -> Result<Vec<NotificationPreference>> {
        let c = Ctx::of(ctx)?;
        let wanted: Vec<_> = preferences
            .into_iter()
            .map(|p| (p.topic.into(), p.enabled))
            .collect();
        let prefs =
            profile::set_notification_preferences(c.state, c.actor().await?, &wanted).await?;
        Ok(prefs
            .into_iter()
            .map(NotificationPreference::from)
            .collect())
    }

    /// Ends one of your sessions (this one too, if you name it). Needs a
    /// signed-in session.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> Result<Session> {
        let c = Ctx::of(ctx)?;
        let actor = c.actor().await?;
        let id = uuid!(id)?;
        Ok(Session::of(
            sessions::revoke(c.state, actor, id).await?,
            actor.token_id,
        ))
    }

    /// Ends every one of your sessions, this one included, and returns how
    /// many ended. API tokens stay. Needs a signed-in session.
    async fn sign_out_everywhere(&self, ctx: &Context<'_>) -> Result<i32> {
        let c = Ctx::of(ctx)?;
        let ended = sessions::sign_out_everywhere(c.state, c.actor().await?).await?;
        Ok(i32::try_from(ended).unwrap_or(i32::MAX))
    }

    /// Deletes your account, given your password: your memberships and
    /// roles end (refused while you are a pool's last admin or a parent's
    /// last steward, or while a contribution is not canceled), every session
    /// and API token ends, and your address, name and devices are erased,
    /// from the audit trail too. Pools' registers keep each membership's
    /// entry as the law requires (see the README). Needs a signed-in session.
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(secret)] password: String,
    ) -> Result<AccountDeletion> {
        let c = Ctx::of(ctx)?;
        let actor = c.actor().await?;
        c.request.take_credential_call()?;
        Ok(erasure::delete_account(c.state, actor, password)
            .await?
            .into())
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
