use async_graphql::{ComplexObject, Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{access_token, user};

use crate::{
    auth::ApiTokenScope,
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        types::ParentEntityRole,
    },
    services::{self, pagination::PageRequest},
};

/// A person with an account.
pub struct User(pub user::Model);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Normalised to lower case.
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The roles this person holds at parent entities (active ones). Only
    /// the person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn parent_entity_roles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<ParentEntityRole>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page =
            services::parent_entities::roles_of_user(c.state, c.actor().await?, self.0.id, page)
                .await?;
        Ok(connection(page, |r| r.id, ParentEntityRole))
    }
    /// Open invitations to roles at parent entities, sent to this person's
    /// email: accept or decline each. Only the person may list them.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn parent_entity_role_invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<ParentEntityRole>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::parent_entities::invitations_of_user(
            c.state,
            c.actor().await?,
            &self.0,
            page,
        )
        .await?;
        Ok(connection(page, |r| r.id, ParentEntityRole))
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
        User(self.user.clone())
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

/// An integrator's token. The secret itself is shown only on creation.
pub struct ApiToken(pub access_token::Model);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        self.0.name.as_deref().unwrap_or_default()
    }
    async fn scopes(&self) -> Vec<ApiTokenScope> {
        ApiTokenScope::parse_list(&self.0.scopes)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// Updated at most once a minute.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
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
    pub email: String,
    /// At least 10 characters, not a common password, not your email.
    #[graphql(secret)]
    pub password: String,
    pub display_name: String,
}

#[derive(InputObject)]
pub struct SignInInput {
    pub email: String,
    #[graphql(secret)]
    pub password: String,
}

#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// A label that says what uses the token.
    pub name: String,
    /// `READ` allows queries, `WRITE` mutations.
    pub scopes: Vec<ApiTokenScope>,
    /// Days until the token expires: 1 to 730, 90 if not given.
    pub expires_in_days: Option<i32>,
}
