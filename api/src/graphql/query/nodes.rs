//! Relay's `node` and `nodes`: any object by id, if the caller may see it.
//! The kinds come from one lookup; the objects through the request's
//! loaders; who sees each is decided by `services::nodes`, by the rule the
//! type's own query field or list applies. What the caller may not see,
//! what does not exist and what is not an id of this API all answer null.

use async_graphql::{Context, ID, Object, Result};
use entities::pool;
use futures::future::try_join_all;
use uuid::Uuid;

use crate::{
    auth::Actor,
    error::AppResult,
    graphql::{
        context::Ctx,
        loaders::{ById, Cached, Keyed},
        types::{
            ApiToken, App, AppProvisioner, AuditEvent, Contribution, Delegation, Expense,
            Formation, Invitation, LedgerEntry, LegalTemplate, Member, MembershipApplication, Node,
            ParentEntity, ParentEntityRole, PaymentReconciliationFinding, Pool, PoolApp, Proposal,
            SlidingScale, SpinOut, StakeholderGroup, User, Vote, WebhookDelivery, WebhookEndpoint,
            WorkContribution, loader_error,
        },
    },
    services::nodes::{self, Audience, NodeKind},
};

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this id, if you may see it; `null` if it does not
    /// exist, if you may not see it, or if `id` is not an id of this API.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(resolve(ctx, &[id]).await?.pop().flatten())
    }

    /// The objects with these ids (at most 100), in the order asked: each
    /// as `node` answers it.
    #[graphql(complexity = "ids.len().max(1) * child_complexity + 1")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        resolve(ctx, &ids).await
    }
}

async fn resolve(ctx: &Context<'_>, ids: &[ID]) -> Result<Vec<Option<Node>>> {
    let c = Ctx::of(ctx)?;
    let raw: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
    let found = nodes::find(c.state, &raw).await?;
    let actor = c.request.actor(c.state).await?;
    let c = &c;
    // All at once, so that the loaders batch each kind into one statement.
    Ok(
        try_join_all(found.into_iter().zip(raw).map(|(found, raw)| async move {
            match found {
                Some((id, kind)) => one(c, actor, kind, id).await,
                None => Ok(catalogue_entry(c, raw)),
            }
        }))
        .await?,
    )
}

/// A legal template or an app of the catalogue, which everyone may see.
/// Their ids are unique across both and never UUIDs (checked as the
/// catalogue loads).
fn catalogue_entry(c: &Ctx<'_>, id: &str) -> Option<Node> {
    let catalogue = &c.state.catalogue;
    if let Some(template) = catalogue.template(id) {
        return Some(Node::LegalTemplate(LegalTemplate::from(template.clone())));
    }
    catalogue
        .app(id)
        .map(|app| Node::App(App::from(app.manifest.clone())))
}

/// The object `id` of `kind`, if `actor` sees it.
async fn one(
    c: &Ctx<'_>,
    actor: Option<&Actor>,
    kind: NodeKind,
    id: Uuid,
) -> AppResult<Option<Node>> {
    let l = c.loaders;
    Ok(match kind {
        NodeKind::User => match load(l.users(), id).await? {
            Some(u) => nodes::sees(c.state, actor, Audience::Person(u.id))
                .await?
                .then(|| Node::User(User::from(u))),
            None => None,
        },
        NodeKind::ParentEntity => load(l.parent_entities(), id)
            .await?
            .map(|p| Node::ParentEntity(ParentEntity::from(p))),
        NodeKind::ParentEntityRole => match load(l.parent_entity_roles(), id).await? {
            Some(r) => {
                let audience = Audience::ParentOrPerson {
                    parent_entity_id: r.parent_entity_id,
                    person: r.user_id,
                    email: &r.email,
                };
                nodes::sees(c.state, actor, audience)
                    .await?
                    .then(|| Node::ParentEntityRole(ParentEntityRole::from(r)))
            }
            None => None,
        },
        NodeKind::Pool => load(l.pools(), id)
            .await?
            .map(|p| Node::Pool(Pool::from(p))),
        NodeKind::StakeholderGroup => load(l.stakeholder_groups(), id)
            .await?
            .map(|g| Node::StakeholderGroup(StakeholderGroup::from(g))),
        NodeKind::PoolApp => load(l.pool_apps(), id)
            .await?
            .map(|a| Node::PoolApp(PoolApp::from(a))),
        NodeKind::SlidingScale => load(l.sliding_scales(), id)
            .await?
            .map(|s| Node::SlidingScale(SlidingScale::from(s))),
        NodeKind::Formation => match actor {
            Some(actor) => l
                .formations_seen()
                .load_one((actor.user_id, id))
                .await
                .map_err(loader_error)?
                .map(|d| Node::Formation(Formation::new(d))),
            None => None,
        },
        NodeKind::Member => match load(l.members(), id).await? {
            Some(m) => {
                let pool = pool_of(c, m.pool_id).await?;
                nodes::sees(c.state, actor, Audience::InsideOrPerson(&pool, m.user_id))
                    .await?
                    .then(|| Node::Member(Member::from(m)))
            }
            None => None,
        },
        NodeKind::Invitation => match load(l.invitations(), id).await? {
            Some(i) => {
                let pool = pool_of(c, i.pool_id).await?;
                nodes::sees(c.state, actor, Audience::AdminsOrInvitee(&pool, &i.email))
                    .await?
                    .then(|| Node::Invitation(Invitation::from(i)))
            }
            None => None,
        },
        NodeKind::MembershipApplication => match load(l.applications(), id).await? {
            Some(a) => admins_or(c, actor, a.pool_id, a.user_id)
                .await?
                .then(|| Node::MembershipApplication(MembershipApplication::from(a))),
            None => None,
        },
        NodeKind::Contribution => match load(l.contributions(), id).await? {
            Some(x) => admins_or(c, actor, x.pool_id, x.user_id)
                .await?
                .then(|| Node::Contribution(Contribution::from(x))),
            None => None,
        },
        NodeKind::ApiToken => match load(l.api_tokens(), id).await? {
            Some(t) => nodes::sees(c.state, actor, Audience::ApiToken(&t))
                .await?
                .then(|| Node::ApiToken(ApiToken::from(t))),
            None => None,
        },
        NodeKind::WebhookEndpoint => match load(l.webhook_endpoints(), id).await? {
            Some(e) => nodes::sees(c.state, actor, Audience::Endpoint(&e))
                .await?
                .then(|| Node::WebhookEndpoint(WebhookEndpoint::from(e))),
            None => None,
        },
        NodeKind::WebhookDelivery => match load(l.webhook_deliveries(), id).await? {
            Some(d) => match load(l.webhook_endpoints(), d.endpoint_id).await? {
                Some(e) => nodes::sees(c.state, actor, Audience::Endpoint(&e))
                    .await?
                    .then(|| Node::WebhookDelivery(WebhookDelivery::from(d))),
                None => None,
            },
            None => None,
        },
        NodeKind::AuditEvent => match load(l.audit_events(), id).await? {
            Some(e) => nodes::sees(c.state, actor, Audience::AuditTrail(&e))
                .await?
                .then(|| Node::AuditEvent(AuditEvent::from(e))),
            None => None,
        },
        NodeKind::AppProvisioner => match load(l.app_provisioners(), id).await? {
            Some(p) => nodes::sees(c.state, actor, Audience::Stewards(p.parent_entity_id))
                .await?
                .then(|| Node::AppProvisioner(AppProvisioner::from(p))),
            None => None,
        },
        NodeKind::PaymentReconciliationFinding => match load(l.reconciliation_findings(), id)
            .await?
        {
            Some(f) => {
                let sees = match (f.pool_id, f.parent_entity_id) {
                    (Some(pool), _) => {
                        let pool = pool_of(c, pool).await?;
                        nodes::sees(c.state, actor, Audience::AdminsOrPerson(&pool, None)).await?
                    }
                    (None, Some(parent)) => {
                        nodes::sees(c.state, actor, Audience::Overseers(parent)).await?
                    }
                    (None, None) => false,
                };
                sees.then(|| {
                    Node::PaymentReconciliationFinding(PaymentReconciliationFinding::from(f))
                })
            }
            None => None,
        },
        NodeKind::Vote => match load(l.votes(), id).await? {
            Some(v) => match load(l.proposals(), v.proposal_id).await? {
                Some(p) => inside(c, actor, p.pool_id)
                    .await?
                    .then(|| Node::Vote(Vote::from(v))),
                None => None,
            },
            None => None,
        },
        NodeKind::Proposal => {
            in_pool(
                c,
                actor,
                l.proposals(),
                id,
                |p| p.pool_id,
                |p| Node::Proposal(Proposal::from(p)),
            )
            .await?
        }
        NodeKind::Delegation => {
            in_pool(
                c,
                actor,
                l.delegations(),
                id,
                |d| d.pool_id,
                |d| Node::Delegation(Delegation::from(d)),
            )
            .await?
        }
        NodeKind::SpinOut => {
            in_pool(
                c,
                actor,
                l.spin_outs(),
                id,
                |s| s.pool_id,
                |s| Node::SpinOut(SpinOut::from(s)),
            )
            .await?
        }
        NodeKind::Expense => {
            in_pool(
                c,
                actor,
                l.expenses(),
                id,
                |e| e.pool_id,
                |e| Node::Expense(Expense::from(e)),
            )
            .await?
        }
        NodeKind::LedgerEntry => {
            in_pool(
                c,
                actor,
                l.ledger_entries(),
                id,
                |e| e.pool_id,
                |e| Node::LedgerEntry(LedgerEntry::from(e)),
            )
            .await?
        }
        NodeKind::WorkContribution => {
            in_pool(
                c,
                actor,
                l.work_contributions(),
                id,
                |w| w.pool_id,
                |w| Node::WorkContribution(WorkContribution::from(w)),
            )
            .await?
        }
    })
}

/// A row of a pool (`pool_id` says which), for those who see inside it.
async fn in_pool<E>(
    c: &Ctx<'_>,
    actor: Option<&Actor>,
    loader: &Cached<ById<E>>,
    id: Uuid,
    pool_id: fn(&E::Model) -> Uuid,
    node: fn(E::Model) -> Node,
) -> AppResult<Option<Node>>
where
    E: Keyed,
    E::Model: Clone + Send + Sync + 'static,
{
    let Some(row) = load(loader, id).await? else {
        return Ok(None);
    };
    Ok(inside(c, actor, pool_id(&row)).await?.then(|| node(row)))
}

/// Whether `actor` is among the admins and overseers of the pool
/// `pool_id`, or is `person`.
async fn admins_or(
    c: &Ctx<'_>,
    actor: Option<&Actor>,
    pool_id: Uuid,
    person: Uuid,
) -> AppResult<bool> {
    let pool = pool_of(c, pool_id).await?;
    nodes::sees(
        c.state,
        actor,
        Audience::AdminsOrPerson(&pool, Some(person)),
    )
    .await
}

/// Whether `actor` sees inside the pool `pool_id`.
async fn inside(c: &Ctx<'_>, actor: Option<&Actor>, pool_id: Uuid) -> AppResult<bool> {
    let pool = pool_of(c, pool_id).await?;
    nodes::sees(c.state, actor, Audience::Inside(&pool)).await
}

async fn pool_of(c: &Ctx<'_>, id: Uuid) -> AppResult<pool::Model> {
    load(c.loaders.pools(), id)
        .await?
        .ok_or_else(|| crate::error::AppError::internal(anyhow::anyhow!("pool {id} missing")))
}

async fn load<E>(loader: &Cached<ById<E>>, id: Uuid) -> AppResult<Option<E::Model>>
where
    E: Keyed,
    E::Model: Clone + Send + Sync + 'static,
{
    loader.load_one(id).await.map_err(loader_error)
}
