use async_graphql::{Context, ID, Object, Result};

use crate::{
    catalogue::AppCategory,
    domain::Jurisdiction,
    error::AppError,
    graphql::{
        connection::{Conn, connection, in_memory, nodes_select, page_complexity},
        context::Ctx,
        ids::uuid,
        loaders::prime_owned,
        types::{
            App, Formation, LegalTemplate, NameAvailability, Pool, Proposal,
            TemplateRecommendation, loader_error,
        },
    },
    services::{
        self,
        formations::{names, recommend::recommend},
        pagination::PageRequest,
        policy::ParentPolicy,
    },
};

#[derive(Default)]
pub struct FormationQuery;

#[Object]
impl FormationQuery {
    /// A formation you started, are listed in, or (once submitted) oversee.
    async fn formation(&self, ctx: &Context<'_>, id: ID) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(Formation::new(
            services::formations::get(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Formations you started or are listed in as a founding member, oldest first.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn my_formations(
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
        let page = PageRequest::parse(first, after, last, before)?;
        let page = services::formations::mine(c.state, c.actor().await?, page).await?;
        Formation::prime(ctx, &page.items).await?;
        Ok(connection(page, |d| d.formation.id, Formation::new))
    }

    /// Legal templates, optionally for one jurisdiction (the pool template,
    /// valid anywhere, is always included).
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn legal_templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO 3166-1 alpha-2 country code, such as DE.")] jurisdiction: Option<
            String,
        >,
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
    ) -> Result<Conn<LegalTemplate>> {
        let c = Ctx::of(ctx)?;
        let jurisdiction = jurisdiction
            .map(|j| {
                Jurisdiction::parse(&j, "jurisdiction").map_err(|e| AppError::Validation(vec![e]))
            })
            .transpose()?
            .map(Jurisdiction::into_inner);
        let items: Vec<_> = c
            .state
            .catalogue
            .templates
            .iter()
            .filter(|t| {
                jurisdiction
                    .as_deref()
                    .is_none_or(|j| t.fits_jurisdiction(j))
            })
            .cloned()
            .collect();
        Ok(in_memory(
            items,
            |t| t.id.as_str(),
            LegalTemplate::from,
            first,
            after,
            last,
            before,
        )?)
    }

    async fn legal_template(&self, ctx: &Context<'_>, id: ID) -> Result<LegalTemplate> {
        let c = Ctx::of(ctx)?;
        Ok(c.state
            .catalogue
            .template(id.as_str())
            .cloned()
            .map(LegalTemplate::from)
            .ok_or_else(|| {
                AppError::NotFound(format!("there is no legal template `{}`", id.as_str()))
            })?)
    }

    /// The templates the formation's parent allows, eligible ones first,
    /// then best fit, each with what fits and what does not. Eligibility is
    /// the same decision `chooseLegalTemplate` and `submitFormation` make.
    async fn recommended_templates(
        &self,
        ctx: &Context<'_>,
        formation_id: ID,
    ) -> Result<Vec<TemplateRecommendation>> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(formation_id)?;
        let draft = services::formations::get(c.state, c.actor().await?, id).await?;
        let parent =
            services::parent_entities::get(c.state, draft.formation.parent_entity_id).await?;
        let policy = ParentPolicy::of(&parent);
        Ok(
            recommend(&draft, &c.state.catalogue, &policy, &parent.jurisdiction)
                .into_iter()
                .map(TemplateRecommendation::from)
                .collect(),
        )
    }

    /// Whether a name is free under a parent entity; alternatives if not.
    async fn name_availability(
        &self,
        ctx: &Context<'_>,
        parent_entity_id: ID,
        #[graphql(
            desc = "A pool name: 3 to 80 characters of letters, digits, spaces and `- & ' . , ( ) !`, with at least one letter. One that breaks these rules answers `available: false` with the reason."
        )]
        name: String,
    ) -> Result<NameAvailability> {
        let c = Ctx::of(ctx)?;
        c.actor().await?;
        let parent_id = uuid!(parent_entity_id)?;
        let parent = services::parent_entities::get(c.state, parent_id).await?;
        Ok(
            names::availability(&c.state.db, parent.id, &parent.jurisdiction, &name, None)
                .await?
                .into(),
        )
    }

    /// The app catalogue, optionally one category.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn apps(
        &self,
        ctx: &Context<'_>,
        category: Option<AppCategory>,
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
    ) -> Result<Conn<App>> {
        let c = Ctx::of(ctx)?;
        let items: Vec<_> = c
            .state
            .catalogue
            .apps
            .iter()
            .filter(|a| category.is_none_or(|cat| a.manifest.category == cat))
            .map(|a| a.manifest.clone())
            .collect();
        Ok(in_memory(
            items,
            |a| a.id.as_str(),
            App::from,
            first,
            after,
            last,
            before,
        )?)
    }

    async fn app(&self, ctx: &Context<'_>, id: ID) -> Result<App> {
        let c = Ctx::of(ctx)?;
        Ok(c.state
            .catalogue
            .app(id.as_str())
            .map(|a| App::from(a.manifest.clone()))
            .ok_or_else(|| AppError::NotFound(format!("there is no app `{}`", id.as_str())))?)
    }

    /// A proposal, for the pool's members and the parent's overseers.
    async fn proposal(&self, ctx: &Context<'_>, id: ID) -> Result<Proposal> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        Ok(Proposal::from(
            services::proposals::get(c.state, c.actor().await?, id).await?,
        ))
    }

    /// A pool's public profile; its members are for insiders.
    async fn pool(&self, ctx: &Context<'_>, id: ID) -> Result<Pool> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(id)?;
        let pool = services::pools::get(c.state, id).await?;
        pool_page(ctx, &c, pool).await
    }

    /// A pool by its address: its parent's slug and its own
    /// (`ParentEntity.slug`, `Pool.slug`), as in `/p/<parentSlug>/<slug>`.
    async fn pool_by_slug(
        &self,
        ctx: &Context<'_>,
        parent_slug: String,
        slug: String,
    ) -> Result<Pool> {
        let c = Ctx::of(ctx)?;
        let pool = services::pools::by_slug(c.state, &parent_slug, &slug).await?;
        pool_page(ctx, &c, pool).await
    }
}

/// A pool as a page shows it. The groups, when the page shows them for the
/// pool or its members, are read before either asks: two fields asking the
/// loader at different moments could each cost a statement.
async fn pool_page(ctx: &Context<'_>, c: &Ctx<'_>, pool: entities::pool::Model) -> Result<Pool> {
    let look = ctx.look_ahead();
    if look.field("stakeholderGroups").exists()
        || nodes_select(look.field("members"), "stakeholderGroup")
    {
        prime_owned(c.loaders.groups_of_pool(), &[pool.id])
            .await
            .map_err(loader_error)?;
    }
    // What the page's rows link back to (`Member.pool`) is this pool.
    c.loaders.pools().feed_one(pool.id, pool.clone()).await;
    Ok(Pool::from(pool))
}
