use async_graphql::{ComplexObject, Context, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{access_token, user};

use crate::{
    auth::ApiTokenScope,
    graphql::{
        connection::{Conn, connection, nodes_select, page_complexity},
        context::Ctx,
        types::{
            Contribution, Delegation, Formation, Invitation, Member, MembershipStatus,
            ParentEntityRole, Pool, loader_error,
        },
    },
    services::{self, pagination::PageArgs, proposals::delegations::Side},
};

// A person with an account.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct User {
    pub(crate) id: ID,
    /// Normalised to lower case.
    email: String,
    display_name: String,
    created_at: DateTime<Utc>,
    #[graphql(skip)]
    model: user::Model,
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self {
            id: m.id.into(),
            email: m.email.clone(),
            display_name: m.display_name.clone(),
            created_at: m.created_at,
            model: m,
        }
    }
}

// The person's own world (roles, memberships, pools, formations,
// invitations, delegations, contributions): only they may list it.
#[ComplexObject]
impl User {
    /// Whether the person proved their address by following the link sent
    /// to it. Until then they cannot join pools, accept invitations or
    /// roles, or submit formations. Only the person may see it.
    async fn email_confirmed(&self, ctx: &Context<'_>) -> Result<bool> {
        let c = Ctx::of(ctx)?;
        services::accounts::require_self(c.actor().await?, self.model.id, "account settings")?;
        Ok(self.model.email_confirmed_at.is_some())
    }

    /// The language of the person's messages (`en`, `es`). Only the person
    /// may see it.
    async fn locale(&self, ctx: &Context<'_>) -> Result<String> {
        let c = Ctx::of(ctx)?;
        services::accounts::require_self(c.actor().await?, self.model.id, "account settings")?;
        Ok(self.model.locale.clone())
    }

    /// The optional messages and whether the person gets each; every other
    /// message is always sent. Only the person may see them.
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<NotificationPreference>> {
        let c = Ctx::of(ctx)?;
        let prefs = services::accounts::profile::notification_preferences(
            c.state,
            c.actor().await?,
            &self.model,
        )
        .await?;
        Ok(prefs
            .into_iter()
            .map(NotificationPreference::from)
            .collect())
    }

    /// Every membership this person holds or held, oldest first; `status`
    /// narrows them. Only the person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        status: Option<MembershipStatus>,
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
    ) -> Result<Conn<Member>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = services::membership::of_person::memberships(
            c.state,
            c.actor().await?,
            &self.model,
            status.map(Into::into),
            page,
        )
        .await?;
        if nodes_select(ctx.look_ahead(), "pool") {
            let pools: Vec<_> = page.items.iter().map(|m| m.pool_id).collect();
            c.loaders
                .pools()
                .load_many(pools)
                .await
                .map_err(loader_error)?;
        }
        Ok(connection(page, |m| m.id, Member::from))
    }
    /// The pools this person is an active member of, oldest first. Only the
    /// person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn pools(
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
    ) -> Result<Conn<Pool>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page =
            services::pools::of_member(c.state, c.actor().await?, self.model.id, page).await?;
        Ok(connection(page, |p| p.id, Pool::from))
    }
    /// Formations this person started or is listed in as a founding member,
    /// oldest first (as `myFormations`). Only the person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn formations(
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
    ) -> Result<Conn<Formation>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page =
            services::formations::of_person(c.state, c.actor().await?, self.model.id, page).await?;
        Formation::prime(ctx, &page.items).await?;
        Ok(connection(page, |d| d.formation.id, Formation::new))
    }
    /// Invitations to pools waiting for this person's email (open, not
    /// expired), oldest first; accept one with the token from its link.
    /// Only the person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn invitations(
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
    ) -> Result<Conn<Invitation>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = services::membership::of_person::invitations(
            c.state,
            c.actor().await?,
            &self.model,
            page,
        )
        .await?;
        Ok(connection(page, |i| i.id, Invitation::from))
    }
    /// The live delegations this person gave, in every pool. Only the person
    /// may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn delegations_given(
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
    ) -> Result<Conn<Delegation>> {
        let page = PageArgs::new(first, after, last, before);
        self.delegations(ctx, Side::Given, page).await
    }
    /// The live delegations others gave this person, in every pool. Only
    /// the person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn delegations_received(
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
    ) -> Result<Conn<Delegation>> {
        let page = PageArgs::new(first, after, last, before);
        self.delegations(ctx, Side::Received, page).await
    }
    /// Every contribution this person made, to any pool, canceled ones
    /// included, oldest first. Only the person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn contributions(
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
    ) -> Result<Conn<Contribution>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page =
            services::contributions::of_person(c.state, c.actor().await?, self.model.id, page)
                .await?;
        Ok(connection(page, |x| x.id, Contribution::from))
    }
    /// The roles this person holds at parent entities (active ones). Only
    /// the person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn parent_entity_roles(
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
    ) -> Result<Conn<ParentEntityRole>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = services::parent_entities::roles_of_user(
            c.state,
            c.actor().await?,
            self.model.id,
            page,
        )
        .await?;
        Ok(connection(page, |r| r.id, ParentEntityRole::from))
    }
    /// Open invitations to roles at parent entities, sent to this person's
    /// email: accept or decline each. Only the person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn parent_entity_role_invitations(
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
    ) -> Result<Conn<ParentEntityRole>> {
        let c = Ctx::of(ctx)?;
        let page = PageArgs::new(first, after, last, before);
        let page = services::parent_entities::invitations_of_user(
            c.state,
            c.actor().await?,
            &self.model,
            page,
        )
        .await?;
        Ok(connection(page, |r| r.id, ParentEntityRole::from))
    }
}

impl User {
    async fn delegations(
        &self,
        ctx: &Context<'_>,
        side: Side,
        page: PageArgs,
    ) -> Result<Conn<Delegation>> {
        let c = Ctx::of(ctx)?;
        let page = services::proposals::delegations::of_person(
            c.state,
            c.actor().await?,
            self.model.id,
            side,
            page,
        )
        .await?;
        Ok(connection(page, |d| d.id, Delegation::from))
    }
}

/// A new session.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <token>`. Shown only now.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    #[graphql(skip)]
    pub user: user::Model,
}

#[ComplexObject]
impl AuthPayload {
    async fn user(&self) -> User {
        User::from(self.user.clone())
    }
}

impl From<services::accounts::Session> for AuthPayload {
    fn from(s: services::accounts::Session) -> Self {
        Self {
            token: s.token,
            expires_at: s.expires_at,
            user: s.user,
        }
    }
}

// An integrator's token. The secret itself is shown only on creation.
#[derive(SimpleObject)]
pub struct ApiToken {
    pub(crate) id: ID,
    name: String,
    scopes: Vec<ApiTokenScope>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// Updated at most once a minute.
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<access_token::Model> for ApiToken {
    fn from(m: access_token::Model) -> Self {
        Self {
            id: m.id.into(),
            name: m.name.unwrap_or_default(),
            scopes: ApiTokenScope::parse_list(&m.scopes),
            created_at: m.created_at,
            expires_at: m.expires_at,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
        }
    }
}

/// A new API token and its secret, shown this once.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    /// Send as `Authorization: Bearer <token>`; store it now, it is not shown again.
    pub token: String,
    pub api_token: ApiToken,
}

#[derive(InputObject)]
pub struct SignUpInput {
    /// An email address of at most 320 characters; stored trimmed and in
    /// lower case.
    pub email: String,
    /// 10 to 256 characters, at least 5 of them different; not a common
    /// password, not your email's name.
    #[graphql(secret)]
    pub password: String,
    /// 1 to 100 characters on one line.
    pub display_name: String,
    /// The language of your messages: `en` (the default) or `es`.
    pub locale: Option<String>,
}

#[derive(InputObject)]
pub struct SignInInput {
    /// An email address of at most 320 characters.
    pub email: String,
    #[graphql(secret)]
    pub password: String,
}

#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// A label that says what uses the token: 1 to 100 characters on one
    /// line.
    pub name: String,
    /// At least one: `READ` allows queries, `WRITE` mutations.
    pub scopes: Vec<ApiTokenScope>,
    /// Days until the token expires: 1 to 730, 90 if not given.
    pub expires_in_days: Option<i32>,
}

impl From<SignUpInput> for services::accounts::SignUpInput {
    fn from(input: SignUpInput) -> Self {
        Self {
            email: input.email,
            password: input.password,
            display_name: input.display_name,
            locale: input.locale,
        }
    }
}

impl From<SignInInput> for services::accounts::SignInInput {
    fn from(input: SignInInput) -> Self {
        Self {
            email: input.email,
            password: input.password,
        }
    }
}

impl From<CreateApiTokenInput> for services::api_tokens::CreateApiTokenInput {
    fn from(input: CreateApiTokenInput) -> Self {
        Self {
            name: input.name,
            scopes: input.scopes,
            expires_in_days: input.expires_in_days,
        }
    }
}

/// One of your sign-in sessions.
#[derive(SimpleObject)]
pub struct Session {
    pub(crate) id: ID,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// Updated at most once a minute.
    last_used_at: Option<DateTime<Utc>>,
    /// The `User-Agent` it was opened with, as the client sent it.
    user_agent: Option<String>,
    /// The address it was opened from, as the server saw it.
    client_address: Option<String>,
    /// Whether this request came with it.
    current: bool,
}

impl Session {
    pub fn of(m: access_token::Model, current: uuid::Uuid) -> Self {
        Self {
            current: m.id == current,
            id: m.id.into(),
            created_at: m.created_at,
            expires_at: m.expires_at,
            last_used_at: m.last_used_at,
            user_agent: m.user_agent,
            client_address: m.client_address,
        }
    }
}

/// A kind of optional message.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationTopic {
    /// A proposal opened, or closing soon, in a pool where you may vote.
    Proposals,
    /// A formation submitted to a parent entity you steward.
    FormationReviews,
    /// A decision on your application to a pool, or on your formation.
    Decisions,
}

impl From<NotificationTopic> for services::notifications::Topic {
    fn from(t: NotificationTopic) -> Self {
        match t {
            NotificationTopic::Proposals => Self::Proposals,
            NotificationTopic::FormationReviews => Self::FormationReviews,
            NotificationTopic::Decisions => Self::Decisions,
        }
    }
}

impl From<services::notifications::Topic> for NotificationTopic {
    fn from(t: services::notifications::Topic) -> Self {
        use services::notifications::Topic;
        match t {
            Topic::Proposals => Self::Proposals,
            Topic::FormationReviews => Self::FormationReviews,
            Topic::Decisions => Self::Decisions,
        }
    }
}

/// Whether you get one kind of optional message.
#[derive(SimpleObject)]
pub struct NotificationPreference {
    topic: NotificationTopic,
    enabled: bool,
}

impl From<(services::notifications::Topic, bool)> for NotificationPreference {
    fn from((topic, enabled): (services::notifications::Topic, bool)) -> Self {
        Self {
            topic: topic.into(),
            enabled,
        }
    }
}

#[derive(InputObject)]
pub struct NotificationPreferenceInput {
    pub topic: NotificationTopic,
    pub enabled: bool,
}

/// What deleting an account did.
#[derive(SimpleObject)]
pub struct AccountDeletion {
    pub deleted_at: DateTime<Utc>,
    /// Memberships that ended (and invitations the account held).
    pub memberships_ended: i32,
    /// Parent roles revoked, and role invitations declined.
    pub roles_ended: i32,
    /// Audit events from which the account's data was erased.
    pub events_redacted: i32,
}

impl From<service::services::erasure::Deletion> for AccountDeletion {
    fn from(d: service::services::erasure::Deletion) -> Self {
        let count = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            deleted_at: d.deleted_at,
            memberships_ended: count(d.memberships_ended),
            roles_ended: count(d.roles_ended),
            events_redacted: count(d.events_redacted),
        }
    }
}

/// An address proven by following the link sent to it.
#[derive(SimpleObject)]
pub struct EmailConfirmation {
    /// The account's address, now confirmed.
    pub email: String,
    pub confirmed_at: DateTime<Utc>,
    /// Whether the account moved to this address (a `changeEmail` link).
    pub address_changed: bool,
}
