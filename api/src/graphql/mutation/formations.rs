use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        context::Ctx,
        ids::uuid,
        types::{
            ChooseLegalTemplateInput, ConfigureAppInput, Formation, NameFormationInput, Pool,
            RejectFormationInput, SelectAppsInput, SetFinancialProfileInput,
            SetFoundingMembersInput, SetStakeholderGroupsInput, StartFormationInput,
        },
    },
    services::formations::{
        apps::{self, ConfigureAppInput as Configure},
        lifecycle, load_draft,
        steps::{self, Edit, FinancialInput, GroupInput, MemberInput},
    },
    state::AppState,
};

#[derive(Default)]
pub struct FormationMutation;

/// The formation as stored after a change.
async fn reload(state: &AppState, id: uuid::Uuid) -> Result<Formation> {
    Ok(Formation::new(load_draft(&state.db, id).await?))
}

/// The formation a step edits, at the version the client saw (if given).
fn edit_of(id: uuid::Uuid, expected_version: Option<i32>) -> Edit {
    Edit {
        id,
        expected_version,
    }
}

#[Object]
impl FormationMutation {
    /// Starts a formation of a new pool under a parent entity.
    async fn start_formation(
        &self,
        ctx: &Context<'_>,
        input: StartFormationInput,
    ) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let parent = uuid!(input.parent_entity_id)?;
        let f = steps::start(c.state, c.actor().await?, parent, &input.working_name).await?;
        reload(c.state, f.id).await
    }

    /// Step 1: the stakeholder groups (replaces the previous list).
    async fn set_stakeholder_groups(
        &self,
        ctx: &Context<'_>,
        input: SetStakeholderGroupsInput,
    ) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let edit = edit_of(uuid!(input.formation_id)?, input.expected_version);
        let groups = input.groups.into_iter().map(GroupInput::from).collect();
        steps::set_stakeholder_groups(c.state, c.actor().await?, edit, groups).await?;
        reload(c.state, edit.id).await
    }

    /// Step 1: the founding members, yourself included (replaces the previous list).
    async fn set_founding_members(
        &self,
        ctx: &Context<'_>,
        input: SetFoundingMembersInput,
    ) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let edit = edit_of(uuid!(input.formation_id)?, input.expected_version);
        let members = input.members.into_iter().map(MemberInput::from).collect();
        steps::set_founding_members(c.state, c.actor().await?, edit, members).await?;
        reload(c.state, edit.id).await
    }

    /// Step 2: the financial choices.
    async fn set_financial_profile(
        &self,
        ctx: &Context<'_>,
        input: SetFinancialProfileInput,
    ) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let edit = edit_of(uuid!(input.formation_id)?, input.expected_version);
        let finances = FinancialInput::from(input);
        steps::set_financial_profile(c.state, c.actor().await?, edit, finances).await?;
        reload(c.state, edit.id).await
    }

    /// Step 3: the legal template. One that does not fit the formation as
    /// it stands (`recommendedTemplates` says it is not eligible) is refused
    /// with `VALIDATION`: a field on `input.templateId` per misfit, with the
    /// misfit's `problem` code (`TEMPLATE_CONFLICT`, `TOO_FEW`, `NOT_ALLOWED`
    /// for the parent's policy, `PRINCIPLE_VIOLATION`).
    async fn choose_legal_template(
        &self,
        ctx: &Context<'_>,
        input: ChooseLegalTemplateInput,
    ) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let edit = edit_of(uuid!(input.formation_id)?, input.expected_version);
        steps::choose_legal_template(c.state, c.actor().await?, edit, input.template_id.as_str())
            .await?;
        reload(c.state, edit.id).await
    }

    /// Step 4: the organisation's name; its slug is derived.
    async fn name_formation(
        &self,
        ctx: &Context<'_>,
        input: NameFormationInput,
    ) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let edit = edit_of(uuid!(input.formation_id)?, input.expected_version);
        steps::name_formation(c.state, c.actor().await?, edit, &input.name).await?;
        reload(c.state, edit.id).await
    }

    /// Step 5: the apps (replaces the previous selection; settings of apps
    /// left out are kept in case they come back).
    async fn select_apps(&self, ctx: &Context<'_>, input: SelectAppsInput) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let edit = edit_of(uuid!(input.formation_id)?, input.expected_version);
        let ids = input.app_ids.into_iter().map(|a| a.0).collect();
        apps::select_apps(c.state, c.actor().await?, edit, ids).await?;
        reload(c.state, edit.id).await
    }

    /// Step 6: one app's settings and role mapping.
    async fn configure_app(
        &self,
        ctx: &Context<'_>,
        input: ConfigureAppInput,
    ) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let edit = edit_of(uuid!(input.formation_id)?, input.expected_version);
        let configure = Configure::from(input);
        apps::configure_app(c.state, c.actor().await?, edit, configure).await?;
        reload(c.state, edit.id).await
    }

    /// Asks the parent for approval; refused while incomplete with
    /// `VALIDATION`, a field per open problem carrying its `path` in the
    /// formation and its `problem` code. A parent with automatic approval
    /// approves at once.
    async fn submit_formation(&self, ctx: &Context<'_>, formation_id: ID) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(formation_id)?;
        lifecycle::submit(c.state, c.actor().await?, id).await?;
        reload(c.state, id).await
    }

    /// Withdraws a draft or submitted formation; editing it later reopens it.
    async fn withdraw_formation(&self, ctx: &Context<'_>, formation_id: ID) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(formation_id)?;
        lifecycle::withdraw(c.state, c.actor().await?, id).await?;
        reload(c.state, id).await
    }

    /// Approves a submitted formation and creates its pool. Stewards of the parent only.
    async fn approve_formation(&self, ctx: &Context<'_>, formation_id: ID) -> Result<Pool> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(formation_id)?;
        Ok(Pool::from(
            lifecycle::approve(c.state, c.actor().await?, id).await?,
        ))
    }

    /// Rejects a submitted formation with a reason. Stewards of the parent only.
    async fn reject_formation(
        &self,
        ctx: &Context<'_>,
        input: RejectFormationInput,
    ) -> Result<Formation> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(input.formation_id)?;
        lifecycle::reject(c.state, c.actor().await?, id, &input.reason).await?;
        reload(c.state, id).await
    }
}
