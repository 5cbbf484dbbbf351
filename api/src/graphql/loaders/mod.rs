//! One DataLoader per relation: each batches the keys of one request into a
//! single `IN (…)` query. New loaders per request: they cache within the
//! request (so a list can prime them) and never between callers.

mod by_id;
mod delegations;
mod formation_facts;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use entities::{
    access_token, app_provisioner, application, asset, audit_event, contribution, delegation,
    expense, fund_application, invitation, lease, ledger_entry, member_suspension, membership,
    parent_entity, parent_entity_role, payment_reconciliation_finding, pool, pool_app,
    pool_spin_out, proposal, sliding_scale, stakeholder_group, user, vote, webhook_delivery,
    webhook_endpoint, work_contribution, work_contribution_confirmation,
};

pub use by_id::{ById, ByParent, Keyed, Owned};
pub use delegations::DelegationsOf;
pub use formation_facts::{FormationFactsLoader, FormationsSeen};

use std::sync::OnceLock;

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

/// Declares the loaders: each is made the first time a field asks for it,
/// so a request pays only for the relations its query touches.
macro_rules! loaders {
    ($($(#[$doc:meta])* $name:ident: $loader:ty = |$state:ident| $make:expr,)*) => {
        pub struct Loaders {
            state: AppState,
            $($name: OnceLock<Cached<$loader>>,)*
        }

        impl Loaders {
            pub fn new(state: &AppState) -> Self {
                Self {
                    state: state.clone(),
                    $($name: OnceLock::new(),)*
                }
            }

            $(
                $(#[$doc])*
                pub fn $name(&self) -> &Cached<$loader> {
                    self.$name.get_or_init(|| {
                        let $state = &self.state;
                        cached($make)
                    })
                }
            )*
        }
    };
}

/// A loader that keeps what it loaded for the rest of the request.
fn cached<L>(loader: L) -> Cached<L> {
    DataLoader::with_cache(loader, crate::trace_context::spawn, HashMapCache::default())
}

loaders! {
    users: ById<user::Entity> = |s| ById::new(&s.db),
    api_tokens: ById<access_token::Entity> = |s| ById::new(&s.db),
    webhook_endpoints: ById<webhook_endpoint::Entity> = |s| ById::new(&s.db),
    webhook_deliveries: ById<webhook_delivery::Entity> = |s| ById::new(&s.db),
    audit_events: ById<audit_event::Entity> = |s| ById::new(&s.db),
    app_provisioners: ById<app_provisioner::Entity> = |s| ById::new(&s.db),
    reconciliation_findings: ById<payment_reconciliation_finding::Entity> = |s| ById::new(&s.db),
    parent_entities: ById<parent_entity::Entity> = |s| ById::new(&s.db),
    parent_entity_roles: ById<parent_entity_role::Entity> = |s| ById::new(&s.db),
    stakeholder_groups: ById<stakeholder_group::Entity> = |s| ById::new(&s.db),
    pools: ById<pool::Entity> = |s| ById::new(&s.db),
    members: ById<membership::Entity> = |s| ById::new(&s.db),
    proposals: ById<proposal::Entity> = |s| ById::new(&s.db),
    pool_apps: ById<pool_app::Entity> = |s| ById::new(&s.db),
    sliding_scales: ById<sliding_scale::Entity> = |s| ById::new(&s.db),
    invitations: ById<invitation::Entity> = |s| ById::new(&s.db),
    applications: ById<application::Entity> = |s| ById::new(&s.db),
    votes: ById<vote::Entity> = |s| ById::new(&s.db),
    delegations: ById<delegation::Entity> = |s| ById::new(&s.db),
    expenses: ById<expense::Entity> = |s| ById::new(&s.db),
    ledger_entries: ById<ledger_entry::Entity> = |s| ById::new(&s.db),
    contributions: ById<contribution::Entity> = |s| ById::new(&s.db),
    spin_outs: ById<pool_spin_out::Entity> = |s| ById::new(&s.db),
    work_contributions: ById<work_contribution::Entity> = |s| ById::new(&s.db),
    assets: ById<asset::Entity> = |s| ById::new(&s.db),
    leases: ById<lease::Entity> = |s| ById::new(&s.db),
    fund_applications: ById<fund_application::Entity> = |s| ById::new(&s.db),
    /// The confirmations a contribution of work, care or kind has, by its id.
    confirmations_of_work_contribution: ByParent<work_contribution_confirmation::Entity> = |s| ByParent::new(&s.db),
    /// The expense a proposal decides, by proposal id.
    expense_of_proposal: ByParent<expense::Entity> = |s| ByParent::new(&s.db),
    /// A pool's stakeholder groups, by pool id.
    groups_of_pool: ByParent<stakeholder_group::Entity> = |s| ByParent::new(&s.db),
    /// A pool's apps, by pool id.
    apps_of_pool: ByParent<pool_app::Entity> = |s| ByParent::new(&s.db),
    /// A member's suspensions (in force and past), by membership id.
    suspensions_of_member: ByParent<member_suspension::Entity> = |s| ByParent::new(&s.db),
    /// A pool's sliding scales (current and past), by pool id.
    scales_of_pool: ByParent<sliding_scale::Entity> = |s| ByParent::new(&s.db),
    /// Live delegations a member gave, by their membership id.
    delegations_given: DelegationsOf = |s| DelegationsOf::given(&s.db),
    /// Live delegations a member holds, by their membership id.
    delegations_received: DelegationsOf = |s| DelegationsOf::received(&s.db),
    /// Live delegations for one proposal, by proposal id.
    delegations_for_proposal: DelegationsOf = |s| DelegationsOf::for_proposal(&s.db),
    /// What evaluating a formation needs, by formation id.
    formation_facts: FormationFactsLoader = |s| FormationFactsLoader(s.clone()),
    /// Formations by (viewer, formation id), only those the viewer sees.
    formations_seen: FormationsSeen = |s| FormationsSeen(s.clone()),
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
    asset,
    lease,
    fund_application,
    pool_spin_out,
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
    contribution,
    work_contribution
);

impl Owned for work_contribution_confirmation::Entity {
    const OWNER: Self::Column = work_contribution_confirmation::Column::WorkContributionId;
    const ORDER: Self::Column = work_contribution_confirmation::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.work_contribution_id
    }
}

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

impl Owned for member_suspension::Entity {
    const OWNER: Self::Column = member_suspension::Column::MembershipId;
    const ORDER: Self::Column = member_suspension::Column::Id;
    fn owner(model: &Self::Model) -> uuid::Uuid {
        model.membership_id
    }
}
