use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::parent_entity;
use tokio::sync::OnceCell;

use crate::{
    error::AppError,
    graphql::{
        context::Ctx,
        scalars::Json,
        types::{
            Admission, App, LegalTemplate, MemberRole, ParentEntity, Pool, StakeholderKind, User,
            loader_error,
        },
    },
    services::formations::{
        apps::{self, RoleAssignment},
        draft::Draft,
        evaluate::{Evaluation, FormationStep, ProblemCode, STEPS},
        evaluate_with,
        governance::{Governance, render_rules},
        principles::IcaPrinciple,
        steps::{FinancialInput, GroupInput, MemberInput},
    },
};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entities::formation::FormationStatus")]
pub enum FormationStatus {
    /// Being filled in; resumable from any device.
    Draft,
    /// Awaiting the parent's decision.
    Submitted,
    /// The pool exists.
    Approved,
    /// The parent said no, with a reason; editing reopens it as a draft.
    Rejected,
    /// The founder withdrew it; editing reopens it as a draft.
    Withdrawn,
}

// A resumable draft of a new pool under a parent entity.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Formation {
    pub(crate) id: ID,
    status: FormationStatus,
    /// 1 when started, +1 on every change; send it back as `expectedVersion`
    /// with a step so that an edit made on an older copy is refused.
    version: i32,
    working_name: String,
    /// Step 1. `null` until set.
    stakeholder_groups: Option<Vec<FormationStakeholderGroup>>,
    /// Step 1. `null` until set.
    founding_members: Option<Vec<FoundingMember>>,
    /// Step 2. `null` until set.
    financial_profile: Option<FinancialProfile>,
    /// Step 4. `null` until named.
    name: Option<String>,
    slug: Option<String>,
    submitted_at: Option<DateTime<Utc>>,
    decided_at: Option<DateTime<Utc>>,
    rejection_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[graphql(skip)]
    draft: Draft,
    #[graphql(skip)]
    evaluation: OnceCell<(parent_entity::Model, Evaluation)>,
}

impl Formation {
    pub fn new(draft: Draft) -> Self {
        let f = &draft.formation;
        Self {
            id: f.id.into(),
            status: f.status.into(),
            version: f.version,
            working_name: f.working_name.clone(),
            stakeholder_groups: draft.groups.as_ref().map(|groups| {
                groups
                    .iter()
                    .map(|g| FormationStakeholderGroup {
                        key: g.key.clone(),
                        name: g.name.clone(),
                        kind: g.kind.into(),
                        voting_weight: g.voting_weight,
                        share_price: g.share_price,
                        admission: g.admission.into(),
                    })
                    .collect()
            }),
            founding_members: draft.members.as_ref().map(|members| {
                members
                    .iter()
                    .map(|m| FoundingMember {
                        email: m.email.clone(),
                        display_name: m.display_name.clone(),
                        stakeholder_group_key: m.stakeholder_group_key.clone(),
                        role: m.role.into(),
                    })
                    .collect()
            }),
            financial_profile: draft.finances.as_ref().map(|f| FinancialProfile {
                distributes_surplus: f.distributes_surplus,
                raises_share_capital: f.raises_share_capital,
                accepts_investor_members: f.accepts_investor_members,
                trades_with_public: f.trades_with_public,
                currency: f.currency.clone(),
            }),
            name: f.name.clone(),
            slug: f.slug.clone(),
            submitted_at: f.submitted_at,
            decided_at: f.decided_at,
            rejection_reason: f.rejection_reason.clone(),
            created_at: f.created_at,
            updated_at: f.updated_at,
            draft,
            evaluation: OnceCell::new(),
        }
    }

    /// Loads what a page of formations needs in one batch per relation when
    /// the query asks for it, so the nodes find it cached.
    pub async fn prime(ctx: &Context<'_>, drafts: &[Draft]) -> Result<()> {
        let c = Ctx::of(ctx)?;
        let node = ctx.look_ahead().field("edges").field("node");
        let evaluated = [
            "parentEntity",
            "steps",
            "problems",
            "progressPercent",
            "principleViolations",
            "rulesDocument",
        ];
        if evaluated.iter().any(|f| node.field(f).exists()) {
            let ids: Vec<_> = drafts.iter().map(|d| d.formation.id).collect();
            c.loaders
                .formation_facts()
                .load_many(ids)
                .await
                .map_err(loader_error)?;
        }
        if node.field("founder").exists() {
            let ids: Vec<_> = drafts.iter().map(|d| d.formation.founder_id).collect();
            c.loaders
                .users()
                .load_many(ids)
                .await
                .map_err(loader_error)?;
        }
        Ok(())
    }

    /// Evaluated once per object; the facts of every formation in the
    /// response load together.
    async fn evaluated(&self, ctx: &Context<'_>) -> Result<&(parent_entity::Model, Evaluation)> {
        let c = Ctx::of(ctx)?;
        Ok(self
            .evaluation
            .get_or_try_init(|| async {
                let facts = c
                    .loaders
                    .formation_facts()
                    .load_one(self.draft.formation.id)
                    .await
                    .map_err(loader_error)?
                    .ok_or_else(|| {
                        AppError::internal(anyhow::anyhow!("no facts for a formation"))
                    })?;
                let evaluation = evaluate_with(c.state, &self.draft, &facts);
                Ok::<_, AppError>((facts.parent, evaluation))
            })
            .await?)
    }
}

// The evaluation, the catalogue and relations, after the plain fields.
#[ComplexObject]
impl Formation {
    async fn parent_entity(&self, ctx: &Context<'_>) -> Result<ParentEntity> {
        Ok(ParentEntity::from(self.evaluated(ctx).await?.0.clone()))
    }
    async fn founder(&self, ctx: &Context<'_>) -> Result<User> {
        let c = Ctx::of(ctx)?;
        let user = c
            .loaders
            .users()
            .load_one(self.draft.formation.founder_id)
            .await
            .map_err(loader_error)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("formation without founder")))?;
        Ok(User::from(user))
    }
    /// Step 3. `null` until chosen.
    async fn legal_template(&self, ctx: &Context<'_>) -> Result<Option<LegalTemplate>> {
        let c = Ctx::of(ctx)?;
        Ok(self
            .draft
            .formation
            .legal_template_id
            .as_deref()
            .and_then(|id| c.state.catalogue.template(id))
            .cloned()
            .map(LegalTemplate::from))
    }
    /// Steps 5 and 6: the chosen apps with their settings (defaults filled
    /// in). `null` until chosen.
    async fn apps(&self, ctx: &Context<'_>) -> Result<Option<Vec<FormationApp>>> {
        let c = Ctx::of(ctx)?;
        let Some(ids) = &self.draft.app_ids else {
            return Ok(None);
        };
        Ok(Some(
            ids.iter()
                .filter_map(|id| c.state.catalogue.app(id))
                .map(|app| {
                    let config = self.draft.app_configs.get(&app.manifest.id);
                    FormationApp {
                        app: App::from(app.manifest.clone()),
                        configured: config.is_some(),
                        settings: Json(
                            config.map_or_else(|| app.default_settings(), |c| c.settings.clone()),
                        ),
                        admin_role: config
                            .map_or_else(|| "admin".to_owned(), |c| c.role_mapping.admins.clone()),
                        role_mapping: config
                            .map(|c| {
                                c.role_mapping
                                    .groups
                                    .iter()
                                    .map(|(k, r)| AppRoleAssignment {
                                        stakeholder_group_key: k.clone(),
                                        app_role: r.clone(),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect(),
        ))
    }
    /// Each step's completeness and open problems, in order.
    async fn steps(&self, ctx: &Context<'_>) -> Result<Vec<FormationStepStatus>> {
        let (_, evaluation) = self.evaluated(ctx).await?;
        Ok(STEPS
            .iter()
            .map(|step| FormationStepStatus {
                step: *step,
                complete: evaluation.step_complete(*step),
                problems: evaluation
                    .problems
                    .iter()
                    .filter(|p| p.step == *step)
                    .map(FormationProblem::from)
                    .collect(),
            })
            .collect())
    }
    /// Every open problem; submission needs none.
    async fn problems(&self, ctx: &Context<'_>) -> Result<Vec<FormationProblem>> {
        let (_, evaluation) = self.evaluated(ctx).await?;
        Ok(evaluation
            .problems
            .iter()
            .map(FormationProblem::from)
            .collect())
    }
    /// Share of the six steps complete, 0 to 100.
    async fn progress_percent(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.evaluated(ctx).await?.1.progress_percent())
    }
    /// Co-operative principles the configuration would break.
    async fn principle_violations(&self, ctx: &Context<'_>) -> Result<Vec<PrincipleViolation>> {
        let (_, evaluation) = self.evaluated(ctx).await?;
        Ok(evaluation
            .violations
            .iter()
            .map(|v| PrincipleViolation {
                principle: v.principle,
                reason: v.reason.clone(),
                blocking: v.blocking,
            })
            .collect())
    }
    /// The rules document (Markdown) the choices so far produce; `null` until
    /// groups, finances and a template are set.
    async fn rules_document(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let c = Ctx::of(ctx)?;
        let d = &self.draft;
        let template = d
            .formation
            .legal_template_id
            .as_deref()
            .and_then(|id| c.state.catalogue.template(id));
        let (Some(template), Some(groups), Some(finances)) = (template, &d.groups, &d.finances)
        else {
            return Ok(None);
        };
        let (parent, _) = self.evaluated(ctx).await?;
        let name = d
            .formation
            .name
            .as_deref()
            .unwrap_or(&d.formation.working_name);
        Ok(Some(render_rules(
            name,
            &parent.name,
            template,
            &Governance::derive(template, groups, finances),
        )))
    }
    /// The pool, once approved.
    async fn pool(&self, ctx: &Context<'_>) -> Result<Option<Pool>> {
        let Some(pool_id) = self.draft.formation.pool_id else {
            return Ok(None);
        };
        let c = Ctx::of(ctx)?;
        Ok(c.loaders
            .pools()
            .load_one(pool_id)
            .await
            .map_err(loader_error)?
            .map(Pool::from))
    }
}

#[derive(SimpleObject)]
pub struct FormationStakeholderGroup {
    pub key: String,
    pub name: String,
    pub kind: StakeholderKind,
    pub voting_weight: i32,
    /// Minor units of the formation's currency.
    pub share_price: Option<i64>,
    pub admission: Admission,
}

#[derive(SimpleObject)]
pub struct FoundingMember {
    pub email: String,
    pub display_name: String,
    pub stakeholder_group_key: String,
    pub role: MemberRole,
}

#[derive(SimpleObject)]
pub struct FinancialProfile {
    pub distributes_surplus: bool,
    pub raises_share_capital: bool,
    pub accepts_investor_members: bool,
    pub trades_with_public: bool,
    pub currency: String,
}

#[derive(SimpleObject)]
pub struct FormationApp {
    pub app: App,
    /// Whether the founder configured it; otherwise the defaults apply.
    pub configured: bool,
    pub settings: Json,
    /// The app role pool admins get.
    pub admin_role: String,
    /// App roles chosen per stakeholder group; groups not listed get the app's default member role.
    pub role_mapping: Vec<AppRoleAssignment>,
}

#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "AppRoleAssignmentInput")]
pub struct AppRoleAssignment {
    /// The `key` of one of the formation's stakeholder groups.
    pub stakeholder_group_key: String,
    /// One of the app's `roles`.
    pub app_role: String,
}

#[derive(SimpleObject)]
pub struct FormationStepStatus {
    pub step: FormationStep,
    pub complete: bool,
    pub problems: Vec<FormationProblem>,
}

/// Something a founder still has to fix, with where and why.
#[derive(SimpleObject)]
pub struct FormationProblem {
    pub step: FormationStep,
    /// Such as `foundingMembers[2].stakeholderGroupKey`.
    pub path: String,
    pub code: ProblemCode,
    pub message: String,
}

impl From<&crate::services::formations::evaluate::Problem> for FormationProblem {
    fn from(p: &crate::services::formations::evaluate::Problem) -> Self {
        Self {
            step: p.step,
            path: p.path.clone(),
            code: p.code,
            message: p.message.clone(),
        }
    }
}

#[derive(SimpleObject)]
pub struct PrincipleViolation {
    pub principle: IcaPrinciple,
    pub reason: String,
    /// Blocks submission; otherwise a warning (a pool inside a parent that allows exceptions).
    pub blocking: bool,
}

#[derive(InputObject)]
pub struct StartFormationInput {
    pub parent_entity_id: ID,
    /// A name to work with until the pool is named (step 4): 1 to 100
    /// characters on one line.
    pub working_name: String,
}

#[derive(InputObject)]
pub struct StakeholderGroupInput {
    /// Short stable key, such as `workers`: 1 to 40 lower-case letters,
    /// digits, `-` or `_`, starting with a letter; each key once.
    pub key: String,
    /// 1 to 100 characters on one line.
    pub name: String,
    pub kind: StakeholderKind,
    /// 0 (non-voting) to 100; 1 for every group gives one member one vote.
    #[graphql(default = 1)]
    pub voting_weight: i32,
    /// Minor units of the formation's currency, 0 to 100000000000 (10^11);
    /// `null` when the group holds no shares.
    pub share_price: Option<i64>,
    #[graphql(default_with = "Admission::Application")]
    pub admission: Admission,
}

#[derive(InputObject)]
pub struct SetStakeholderGroupsInput {
    pub formation_id: ID,
    /// The `version` of the formation this edit was made on; if it has
    /// changed since, the edit is refused with `CONFLICT` and
    /// `extensions.currentVersion`. Leave it out to edit whatever the
    /// current version is.
    pub expected_version: Option<i32>,
    /// The whole list, 1 to 12 groups; it replaces the previous one.
    pub groups: Vec<StakeholderGroupInput>,
}

#[derive(InputObject)]
pub struct FoundingMemberInput {
    /// An email address of at most 320 characters; each one once.
    pub email: String,
    /// 1 to 100 characters on one line.
    pub display_name: String,
    /// The `key` of one of the formation's stakeholder groups.
    pub stakeholder_group_key: String,
    #[graphql(default_with = "MemberRole::Member")]
    pub role: MemberRole,
}

#[derive(InputObject)]
pub struct SetFoundingMembersInput {
    pub formation_id: ID,
    /// The `version` of the formation this edit was made on; if it has
    /// changed since, the edit is refused with `CONFLICT` and
    /// `extensions.currentVersion`. Leave it out to edit whatever the
    /// current version is.
    pub expected_version: Option<i32>,
    /// The whole list, yourself included, 1 to 200 members; it replaces the
    /// previous one.
    pub members: Vec<FoundingMemberInput>,
}

#[derive(InputObject)]
pub struct SetFinancialProfileInput {
    pub formation_id: ID,
    /// The `version` of the formation this edit was made on; if it has
    /// changed since, the edit is refused with `CONFLICT` and
    /// `extensions.currentVersion`. Leave it out to edit whatever the
    /// current version is.
    pub expected_version: Option<i32>,
    pub distributes_surplus: bool,
    pub raises_share_capital: bool,
    pub accepts_investor_members: bool,
    pub trades_with_public: bool,
    /// ISO 4217 code, such as EUR.
    pub currency: String,
}

#[derive(InputObject)]
pub struct ChooseLegalTemplateInput {
    pub formation_id: ID,
    /// The `version` of the formation this edit was made on; if it has
    /// changed since, the edit is refused with `CONFLICT` and
    /// `extensions.currentVersion`. Leave it out to edit whatever the
    /// current version is.
    pub expected_version: Option<i32>,
    pub template_id: ID,
}

#[derive(InputObject)]
pub struct NameFormationInput {
    pub formation_id: ID,
    /// The `version` of the formation this edit was made on; if it has
    /// changed since, the edit is refused with `CONFLICT` and
    /// `extensions.currentVersion`. Leave it out to edit whatever the
    /// current version is.
    pub expected_version: Option<i32>,
    /// The pool's name: 3 to 80 characters of letters, digits, spaces and
    /// `- & ' . , ( ) !`, with at least one letter, and not a reserved word
    /// such as `admin` or `pool`. It must be free under the parent entity,
    /// ignoring case, accents and punctuation (see `nameAvailability`).
    pub name: String,
}

#[derive(InputObject)]
pub struct SelectAppsInput {
    pub formation_id: ID,
    /// The `version` of the formation this edit was made on; if it has
    /// changed since, the edit is refused with `CONFLICT` and
    /// `extensions.currentVersion`. Leave it out to edit whatever the
    /// current version is.
    pub expected_version: Option<i32>,
    /// The whole selection, at most 20 catalogue apps; an empty list means no
    /// apps.
    pub app_ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct ConfigureAppInput {
    pub formation_id: ID,
    /// The `version` of the formation this edit was made on; if it has
    /// changed since, the edit is refused with `CONFLICT` and
    /// `extensions.currentVersion`. Leave it out to edit whatever the
    /// current version is.
    pub expected_version: Option<i32>,
    pub app_id: ID,
    /// Validated against the app's `settingsSchema`; missing settings take
    /// their defaults. At most 16384 bytes as JSON, with no NUL character in
    /// any string or key.
    pub settings: Json,
    /// The app role of pool admins, one of the app's `roles`; `admin` if not
    /// given.
    pub admin_role: Option<String>,
    /// App roles per stakeholder group, each one of the app's `roles`; others
    /// get the app's default member role.
    pub role_mapping: Option<Vec<AppRoleAssignment>>,
}

#[derive(InputObject)]
pub struct RejectFormationInput {
    pub formation_id: ID,
    /// Told to the founder: 1 to 2000 characters.
    pub reason: String,
}

impl From<StakeholderGroupInput> for GroupInput {
    fn from(g: StakeholderGroupInput) -> Self {
        Self {
            key: g.key,
            name: g.name,
            kind: g.kind.into(),
            voting_weight: g.voting_weight,
            share_price: g.share_price,
            admission: g.admission.into(),
        }
    }
}

impl From<FoundingMemberInput> for MemberInput {
    fn from(m: FoundingMemberInput) -> Self {
        Self {
            email: m.email,
            display_name: m.display_name,
            stakeholder_group_key: m.stakeholder_group_key,
            role: m.role.into(),
        }
    }
}

// The step's own fields; the formation and its version make the `Edit`.
impl From<SetFinancialProfileInput> for FinancialInput {
    fn from(input: SetFinancialProfileInput) -> Self {
        Self {
            distributes_surplus: input.distributes_surplus,
            raises_share_capital: input.raises_share_capital,
            accepts_investor_members: input.accepts_investor_members,
            trades_with_public: input.trades_with_public,
            currency: input.currency,
        }
    }
}

impl From<AppRoleAssignment> for RoleAssignment {
    fn from(a: AppRoleAssignment) -> Self {
        Self {
            stakeholder_group_key: a.stakeholder_group_key,
            app_role: a.app_role,
        }
    }
}

// The step's own fields; the formation and its version make the `Edit`.
impl From<ConfigureAppInput> for apps::ConfigureAppInput {
    fn from(input: ConfigureAppInput) -> Self {
        Self {
            app_id: input.app_id.0,
            settings: input.settings.0,
            admin_role: input.admin_role,
            role_mapping: input
                .role_mapping
                .map(|m| m.into_iter().map(RoleAssignment::from).collect()),
        }
    }
}
