use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::pool_spin_out;

use crate::{
    error::AppResult,
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            LegalTemplate, Money, ParentEntity, Pool, Proposal, load_parent, load_pool,
            load_proposal,
        },
    },
    services::{
        self,
        formations::{evaluate::ProblemCode, recommend::Recommendation},
        spin_outs::RegisteredInput,
    },
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::pool_spin_out::SpinOutStatus")]
pub enum SpinOutStatus {
    /// Decided; the founders incorporate the new entity and report it
    /// registered. The pool goes on meanwhile.
    AwaitingRegistration,
    /// The new entity is registered; the pool's funds went to it and the
    /// pool is spun out.
    Registered,
}

// A pool's spin-out into a legal entity of its own.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SpinOut {
    pub(crate) id: ID,
    status: SpinOutStatus,
    /// The name the members chose for the new entity.
    entity_name: String,
    /// What the registering authority gave, once reported.
    registration_number: Option<String>,
    /// The name it was registered under, once reported.
    registered_name: Option<String>,
    registered_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub(crate) model: pool_spin_out::Model,
}

impl From<pool_spin_out::Model> for SpinOut {
    fn from(m: pool_spin_out::Model) -> Self {
        Self {
            id: m.id.into(),
            status: m.status.into(),
            entity_name: m.entity_name.clone(),
            registration_number: m.registration_number.clone(),
            registered_name: m.registered_name.clone(),
            registered_at: m.registered_at,
            created_at: m.created_at,
            model: m,
        }
    }
}

#[ComplexObject]
impl SpinOut {
    /// The standalone template the new entity incorporates under (`null`
    /// if the catalogue no longer has it).
    async fn legal_template(&self, ctx: &Context<'_>) -> Result<Option<LegalTemplate>> {
        let c = Ctx::of(ctx)?;
        Ok(c.state
            .catalogue
            .template(&self.model.legal_template_id)
            .cloned()
            .map(LegalTemplate::from))
    }
    /// The version of the template when the members chose it.
    async fn legal_template_version(&self) -> i32 {
        self.model.legal_template_version
    }
    /// The members' proposal that decided it.
    async fn proposal(&self, ctx: &Context<'_>) -> Result<Proposal> {
        Ok(Proposal::from(
            load_proposal(ctx, self.model.proposal_id).await?,
        ))
    }
    async fn pool(&self, ctx: &Context<'_>) -> Result<Pool> {
        load_pool(ctx, self.model.pool_id).await
    }
    /// The new entity, once it registered on the platform as a parent
    /// entity (`registerParentEntity(spunOutFrom:)`).
    async fn parent_entity(&self, ctx: &Context<'_>) -> Result<Option<ParentEntity>> {
        match self.model.parent_entity_id {
            Some(id) => Ok(Some(ParentEntity::from(load_parent(ctx, id).await?))),
            None => Ok(None),
        }
    }
    /// The pool's rules with its current governance, under the chosen
    /// template and the new entity's name: what the founders file.
    async fn adapted_rules(&self, ctx: &Context<'_>) -> Result<String> {
        let c = Ctx::of(ctx)?;
        Ok(services::spin_outs::adapted_rules(c.state, c.actor().await?, &self.model).await?)
    }
    /// What the new entity opens with, per currency: the pool's balances as
    /// of now (once registered, what was transferred to it).
    async fn opening_balances(&self, ctx: &Context<'_>) -> Result<Vec<Money>> {
        let c = Ctx::of(ctx)?;
        Ok(
            services::spin_outs::opening_balances(c.state, c.actor().await?, &self.model)
                .await?
                .into_iter()
                .map(|(currency, total)| Money::total(total, currency))
                .collect(),
        )
    }
}

/// A standalone template the pool could spin out under, and whether it fits.
#[derive(SimpleObject)]
pub struct SpinOutOption {
    pub template: LegalTemplate,
    /// Nothing about the pool conflicts with the template: exactly when a
    /// `SPIN_OUT` proposal may choose it.
    pub fits: bool,
    /// Higher fits better; for ordering only.
    pub score: i32,
    /// What fits, such as "needs at least 3 founding members; you have 4".
    pub strengths: Vec<String>,
    /// What stops the pool from fitting.
    pub problems: Vec<SpinOutProblem>,
}

/// One way the pool does not fit a template.
#[derive(SimpleObject)]
pub struct SpinOutProblem {
    pub code: ProblemCode,
    pub message: String,
    /// The article or section of the template's law that sets what
    /// conflicts, when the template cites one.
    pub citation: Option<String>,
}

impl From<Recommendation<'_>> for SpinOutOption {
    fn from(r: Recommendation<'_>) -> Self {
        let problems = r
            .found
            .iter()
            .map(|m| SpinOutProblem {
                code: m.code,
                message: m.message.clone(),
                citation: m.fact.and_then(|f| r.template.cites(f)).map(str::to_owned),
            })
            .collect();
        Self {
            template: r.template.clone().into(),
            fits: r.eligible,
            score: r.score,
            strengths: r.fits,
            problems,
        }
    }
}

/// What a `SPIN_OUT` proposal chose.
#[derive(SimpleObject)]
pub struct ProposedSpinOut {
    pub legal_template_id: String,
    /// `null` if the catalogue no longer has it.
    pub legal_template: Option<LegalTemplate>,
    pub entity_name: String,
}

#[derive(InputObject)]
pub struct ReportSpinOutRegisteredInput {
    pub spin_out_id: ID,
    /// The number the registering authority gave: 1 to 64 characters on
    /// one line, trimmed.
    pub registration_number: String,
    /// The name it was registered under, 1 to 200 characters; the chosen
    /// entity name when not given.
    pub registered_name: Option<String>,
}

impl TryFrom<ReportSpinOutRegisteredInput> for RegisteredInput {
    type Error = crate::error::AppError;
    fn try_from(input: ReportSpinOutRegisteredInput) -> AppResult<Self> {
        Ok(Self {
            spin_out_id: uuid!(input.spin_out_id)?,
            registration_number: input.registration_number,
            registered_name: input.registered_name,
        })
    }
}
