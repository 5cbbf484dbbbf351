//! One DataLoader per relation: each batches the keys of one request into a
//! single `IN (…)` query. New loaders per request: they cache within the
//! request (so a list can prime them) and never between callers.

mod by_id;
mod delegations;
mod formation_facts;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use entities::{
    access_token, app_provisioner, application, audit_event, contribution, delegation, expense,
    invitation, ledger_entry, membership, parent_entity, parent_entity_role,
    payment_reconciliation_finding, pool, pool_app, proposal, sliding_scale, stakeholder_group,
    user, vote, webhook_delivery, webhook_endpoint,
};

pub use by_id::{ById, ByParent, Keyed, Owned};
pub use delegations::DelegationsOf;
pub use formation_facts::{FormationFactsLoader, FormationsSeen};

use crate::state::AppState;

/// A loader that caches within one request.
pub type Cached<T> = DataLoader<T, HashMapCache>;

/// Loads the rows of every owner in `owners` at once and keeps them, an
/// owner without rows as an empty list: for a page whose items will each
/// ask for theirs. The batch is known already, so it skips the loader's
/// wait for more keys.
pub async fn prime_owned<L, T>(loader: &Cached<L>, owners: &[uuid::Uuid]) -> Result<(), L::Error>
where
    L: async_graphql::dataloader::Loader<uuid::Uuid, Value = Vec<T>>,
    T: Clone + Send + Sync + 'static,
{
    let mut found = loader.loader().load(owners).await?;
    let rows: Vec<_> = owners
        .iter()
        .map(|owner| (*owner, found.remove(owner).unwrap_or_default()))
        .collect();
    loader.feed_many(rows).await;
    Ok(())
}

pub struct Loaders {
    pub users: Cached<ById<user::Entity>>,
    pub api_tokens: Cached<ById<access_token::Entity>>,
    pub webhook_endpoints: Cached<ById<webhook_endpoint::Entity>>,
    pub webhook_deliveries: Cached<ById<webhook_delivery::Entity>>,
    pub audit_events: Cached<ById<audit_event::Entity>>,
    pub app_provisioners: Cached<ById<app_provisioner::Entity>>,
    pub reconciliation_findings: Cached<ById<payment_reconciliation_finding::Entity>>,
    pub parent_entities: Cached<ById<parent_entity::Entity>>,
    pub parent_entity_roles: Cached<ById<parent_entity_role::Entity>>,
    pub stakeholder_groups: Cached<ById<stakeholder_group::Entity>>,
    pub pools: Cached<ById<pool::Entity>>,
    pub members: Cached<ById<membership::Entity>>,
    pub proposals: Cached<ById<proposal::Entity>>,
    pub pool_apps: Cached<ById<pool_app::Entity>>,
    pub sliding_scales: Cached<ById<sliding_scale::Entity>>,
    pub invitations: Cached<ById<invitation::Entity>>,
    pub applications: Cached<ById<application::Entity>>,
    pub votes: Cached<ById<vote::Entity>>,
    pub delegations: Cached<ById<delegation::Entity>>,
    pub expenses: Cached<ById<expense::Entity>>,
    pub ledger_entries: Cached<ById<ledger_entry::Entity>>,
    pub contributions: Cached<ById<contribution::Entity>>,
    /// The expense a proposal decides, by proposal id.
    pub expense_of_proposal: Cached<ByParent<expense::Entity>>,
    /// A pool's stakeholder groups, by pool id.
    pub groups_of_pool: Cached<ByParent<stakeholder_group::Entity>>,
    /// A pool's apps, by pool id.
    pub apps_of_pool: Cached<ByParent<pool_app::Entity>>,
    /// A pool's sliding scales (current and past), by pool id.
    pub scales_of_pool: Cached<ByParent<sliding_scale::Entity>>,
    /// Live delegations a member gave, by their membership id.
    pub delegations_given: Cached<DelegationsOf>,
    /// Live delegations a member holds, by their membership id.
    pub delegations_received: Cached<DelegationsOf>,
    /// Live delegations for one proposal, by proposal id.
    pub delegations_for_proposal: Cached<DelegationsOf>,
    /// What evaluating a formation needs, by formation id.
    pub formation_facts: Cached<FormationFactsLoader>,
    /// Formations by (viewer, formation id), only those the viewer sees.
    pub formations_seen: Cached<FormationsSeen>,
}

/// A loader that keeps what it loaded for the rest of the request.
fn cached<L>(loader: L) -> Cached<L> {
    DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
}

impl Loaders {
    pub fn new(state: &AppState) -> Self {
        let db = &state.db;
        Self {
            users: cached(ById::new(db)),
            api_tokens: cached(ById::new(db)),
            webhook_endpoints: cached(ById::new(db)),
            webhook_deliveries: cached(ById::new(db)),
            audit_events: cached(ById::new(db)),
            app_provisioners: cached(ById::new(db)),
            reconciliation_findings: cached(ById::new(db)),
            parent_entities: cached(ById::new(db)),
            parent_entity_roles: cached(ById::new(db)),
            stakeholder_groups: cached(ById::new(db)),
            pools: cached(ById::new(db)),
            members: cached(ById::new(db)),
            proposals: cached(ById::new(db)),
            pool_apps: cached(ById::new(db)),
            sliding_scales: cached(ById::new(db)),
            invitations: cached(ById::new(db)),
            applications: cached(ById::new(db)),
            votes: cached(ById::new(db)),
            delegations: cached(ById::new(db)),
            expenses: cached(ById::new(db)),
            ledger_entries: cached(ById::new(db)),
            contributions: cached(ById::new(db)),
            expense_of_proposal: cached(ByParent::new(db)),
            groups_of_pool: cached(ByParent::new(db)),
            apps_of_pool: cached(ByParent::new(db)),
            scales_of_pool: cached(ByParent::new(db)),
            delegations_given: cached(DelegationsOf::given(db)),
            delegations_received: cached(DelegationsOf::received(db)),
            delegations_for_proposal: cached(DelegationsOf::for_proposal(db)),
            formation_facts: cached(FormationFactsLoader(state.clone())),
            formations_seen: cached(FormationsSeen(state.clone())),
        }
    }
}

macro_rules! keyed {
    ($($entity:ident),*) => {$(
        impl Keyed for $entity::Entity {
            const ID: Self::Column = $entity::Column::Id;
            fn id(model: &Self::Model) -> uuid::Uuid {
                model.id
            }
        }
    )*};
}

keyed!(
    user,
    audit_event,
    app_provisioner,
    payment_reconciliation_finding,
    access_token,
    webhook_endpoint,
    webhook_delivery,
    parent_entity,
    parent_entity_role,
    stakeholder_group,
    pool,
    membership,
    proposal,
    pool_app,
    sliding_scale,
    invitation,
    application,
    vote,
    delegation,
    expense,
    ledger_entry,
    contribution
);

impl Owned for stakeholder_group::Entity {
    const OWNER: Self::Column = stakeholder_group::Column::PoolId;
    const ORDER: Self::Column = stakeholder_group::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.pool_id
    }
}

impl Owned for pool_app::Entity {
    const OWNER: Self::Column = pool_app::Column::PoolId;
    const ORDER: Self::Column = pool_app::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.pool_id
    }
}

impl Owned for expense::Entity {
    const OWNER: Self::Column = expense::Column::ProposalId;
    const ORDER: Self::Column = expense::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.proposal_id
    }
}

impl Owned for sliding_scale::Entity {
    const OWNER: Self::Column = sliding_scale::Column::PoolId;
    const ORDER: Self::Column = sliding_scale::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.pool_id
    }
}
