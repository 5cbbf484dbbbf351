//! The query root, merged from one object per domain.

mod accounts;
mod audit;
mod commons;
mod events;
mod formations;
mod nodes;
mod parent_entities;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(
    accounts::AccountQuery,
    audit::AuditQuery,
    events::EventQuery,
    parent_entities::ParentEntityQuery,
    formations::FormationQuery,
    nodes::NodeQuery,
    commons::CommonsQuery,
);
