use async_graphql::{ComplexObject, Context, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::member_suspension;
use uuid::Uuid;

use crate::{
    error::{AppError, AppResult},
    graphql::{
        connection::{Conn, connection},
        context::Ctx,
        ids::uuid,
        types::{Member, Proposal, load_member, load_proposal, loader_error, pool_model},
    },
    services::{
        membership::sanctions::{self, CodeOfConduct as Code, SuspendInput},
        pagination::PageArgs,
    },
};

/// A pool's code of conduct: text its rules carry, accepted by new members.
#[derive(SimpleObject)]
pub struct CodeOfConduct {
    /// Goes up by one with each new text; give it to accept this one.
    pub version: i32,
    /// Markdown.
    pub text: String,
}

impl From<Code> for CodeOfConduct {
    fn from(c: Code) -> Self {
        Self {
            version: c.version,
            text: c.text,
        }
    }
}

// A member suspended by an admin for a period.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MemberSuspension {
    pub(crate) id: ID,
    /// Why, as the admin gave it.
    reason: String,
    starts_at: DateTime<Utc>,
    /// When it ends by itself.
    ends_at: DateTime<Utc>,
    /// Set when it ended early: lifted by an admin or on appeal.
    lifted_at: Option<DateTime<Utc>>,
    lift_reason: Option<String>,
    /// Whether it holds now: the member neither votes nor proposes.
    in_force: bool,
    #[graphql(skip)]
    model: member_suspension::Model,
}

impl From<member_suspension::Model> for MemberSuspension {
    fn from(m: member_suspension::Model) -> Self {
        Self {
            id: m.id.into(),
            reason: m.reason.clone(),
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            lifted_at: m.lifted_at,
            lift_reason: m.lift_reason.clone(),
            in_force: m.in_force(Utc::now()),
            model: m,
        }
    }
}

#[ComplexObject]
impl MemberSuspension {
    async fn member(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.model.membership_id).await
    }
    /// The admin who suspended the member.
    async fn suspended_by(&self, ctx: &Context<'_>) -> Result<Member> {
        load_member(ctx, self.model.suspended_by).await
    }
    /// The member's appeal, once made: a proposal to the members.
    async fn appeal(&self, ctx: &Context<'_>) -> Result<Option<Proposal>> {
        match self.model.appeal_proposal_id {
            Some(id) => Ok(Some(Proposal::from(load_proposal(ctx, id).await?))),
            None => Ok(None),
        }
    }
}

#[derive(InputObject)]
pub struct SuspendMemberInput {
    pub member_id: ID,
    /// More than an hour and at most 365 days from now.
    pub ends_at: DateTime<Utc>,
    /// Why, for the member and the register: 1 to 2000 characters.
    pub reason: String,
}

impl TryFrom<SuspendMemberInput> for SuspendInput {
    type Error = AppError;
    fn try_from(input: SuspendMemberInput) -> AppResult<Self> {
        Ok(Self {
            member_id: uuid!(input.member_id)?,
            ends_at: input.ends_at,
            reason: input.reason,
        })
    }
}

/// A member's suspensions through the request's loader, after the pool's
/// readers rule: a page of them.
pub(crate) async fn suspension_list(
    ctx: &Context<'_>,
    pool_id: Uuid,
    member_id: Uuid,
    page: PageArgs,
) -> Result<Conn<MemberSuspension>> {
    let c = Ctx::of(ctx)?;
    let pool = pool_model(ctx, pool_id).await?;
    let actor = c.actor_in(&pool).await?;
    let page = sanctions::listed(c.state, actor, &pool, page, async || {
        load(ctx, member_id).await
    })
    .await?;
    Ok(connection(page, |s| s.id, MemberSuspension::from))
}

/// The member's suspension in force now, after the pool's readers rule.
pub(crate) async fn suspension_now(
    ctx: &Context<'_>,
    pool_id: Uuid,
    member_id: Uuid,
) -> Result<Option<MemberSuspension>> {
    let c = Ctx::of(ctx)?;
    let pool = pool_model(ctx, pool_id).await?;
    let actor = c.actor_in(&pool).await?;
    let now =
        sanctions::current(c.state, actor, &pool, async || load(ctx, member_id).await).await?;
    Ok(now.map(MemberSuspension::from))
}

async fn load(ctx: &Context<'_>, member_id: Uuid) -> AppResult<Vec<member_suspension::Model>> {
    let c = Ctx::of(ctx).map_err(|_| AppError::internal(anyhow::anyhow!("no context")))?;
    Ok(c.loaders
        .suspensions_of_member()
        .load_one(member_id)
        .await
        .map_err(loader_error)?
        .unwrap_or_default())
}
