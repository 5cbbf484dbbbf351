use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        ids::uuid,
        types::ParentEntity,
    },
    services::{self, pagination::PageRequest},
};

#[derive(Default)]
pub struct ParentEntityQuery;

#[Object]
impl ParentEntityQuery {
    /// A parent entity's public profile.
    async fn parent_entity(&self, ctx: &Context<'_>, id: ID) -> Result<ParentEntity> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(ParentEntity::from(
            services::parent_entities::get(c.state, id).await?,
        ))
    }

    /// A parent entity by its slug (`ParentEntity.slug`).
    async fn parent_entity_by_slug(&self, ctx: &Context<'_>, slug: String) -> Result<ParentEntity> {
        let c = Ctx::of(ctx)?;
        Ok(ParentEntity::from(
            services::parent_entities::by_slug(c.state, &slug).await?,
        ))
    }

    /// Every parent entity, oldest first: the directory founders choose from.
    /// `verified: true` lists only those a platform admin verified, `false`
    /// only the others; `jurisdiction` (ISO 3166-1 alpha-2) only those
    /// there; `search` (1 to 200 characters) only those whose name contains
    /// it, case aside (ASCII case only on SQLite), `%` and `_` as plain
    /// characters.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn parent_entities(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        jurisdiction: Option<String>,
        verified: Option<bool>,
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
    ) -> Result<Conn<ParentEntity>> {
        let c = Ctx::of(ctx)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let filter = services::parent_entities::DirectoryFilter {
            verified,
            search,
            jurisdiction,
        };
        let page = services::parent_entities::list(c.state, filter, page).await?;
        Ok(connection(page, |p| p.id, ParentEntity::from))
    }
}
