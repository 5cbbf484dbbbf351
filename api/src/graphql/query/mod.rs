//! The query root, merged from one object per domain.

mod accounts;
mod formations;
mod parent_entities;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct Query(
    accounts::AccountQuery,
    parent_entities::ParentEntityQuery,
    formations::FormationQuery,
);
