//! What a formation still lacks: each step's open problems, and the ICA
//! principles its configuration would break. Pure functions of the draft.

use entities::{membership::MemberRole, stakeholder_group::StakeholderKind};

use crate::{
    catalogue::Catalogue,
    error::{AppError, FieldError},
    services::policy::ParentPolicy,
};

use super::{
    contradictions,
    draft::Draft,
    principles::{PrincipleViolation, principle_violations},
    template_fit::{self, Parent},
};

/// The six steps, in the order a founder walks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum FormationStep {
    Stakeholders,
    Finances,
    LegalTemplate,
    Name,
    Apps,
    AppSettings,
}

pub const STEPS: [FormationStep; 6] = [
    FormationStep::Stakeholders,
    FormationStep::Finances,
    FormationStep::LegalTemplate,
    FormationStep::Name,
    FormationStep::Apps,
    FormationStep::AppSettings,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum ProblemCode {
    /// Not answered yet.
    Missing,
    /// Refers to something that does not exist (a group key, an app).
    InvalidReference,
    /// Fewer than the template requires.
    TooFew,
    /// The parent entity's policy does not allow it.
    NotAllowed,
    /// The chosen legal template does not allow this choice.
    TemplateConflict,
    /// The name is taken or reserved.
    NameUnavailable,
    /// App settings do not match the app's schema.
    InvalidSettings,
    /// Breaks a co-operative principle, which the parent does not allow.
    PrincipleViolation,
    /// Two steps say opposite things (an investors group while no investor
    /// members are accepted, share capital without a share price, …);
    /// reported on both, fixed in either.
    Contradiction,
}

impl ProblemCode {
    /// The name the API gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::Missing => "MISSING",
            ProblemCode::InvalidReference => "INVALID_REFERENCE",
            ProblemCode::TooFew => "TOO_FEW",
            ProblemCode::NotAllowed => "NOT_ALLOWED",
            ProblemCode::TemplateConflict => "TEMPLATE_CONFLICT",
            ProblemCode::NameUnavailable => "NAME_UNAVAILABLE",
            ProblemCode::InvalidSettings => "INVALID_SETTINGS",
            ProblemCode::PrincipleViolation => "PRINCIPLE_VIOLATION",
            ProblemCode::Contradiction => "CONTRADICTION",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub step: FormationStep,
    /// Where in the formation, such as `foundingMembers[2].stakeholderGroupKey`.
    pub path: String,
    pub code: ProblemCode,
    pub message: String,
}

/// A call refused for these problems: `VALIDATION`, a field per problem
/// with its step, path and code.
pub fn refusal<'a>(problems: impl IntoIterator<Item = &'a Problem>) -> AppError {
    AppError::Validation(
        problems
            .into_iter()
            .map(|p| {
                FieldError::problem(
                    p.path.clone(),
                    p.code.as_str(),
                    format!("{:?}: {}", p.step, p.message),
                )
            })
            .collect(),
    )
}

pub struct Evaluation {
    pub problems: Vec<Problem>,
    pub violations: Vec<PrincipleViolation>,
}

impl Evaluation {
    pub fn step_complete(&self, step: FormationStep) -> bool {
        !self.problems.iter().any(|p| p.step == step)
    }

    pub fn progress_percent(&self) -> i32 {
        let done = STEPS.iter().filter(|s| self.step_complete(**s)).count();
        (done * 100 / STEPS.len()) as i32
    }
}

/// What the evaluation needs besides the draft.
pub struct Facts<'a> {
    pub catalogue: &'a Catalogue,
    pub policy: &'a ParentPolicy,
    pub parent_jurisdiction: &'a str,
    pub founder_email: &'a str,
    /// `Err(reason)` when the chosen name is no longer available.
    pub name_available: Result<(), String>,
}

pub fn evaluate(draft: &Draft, facts: &Facts<'_>) -> Evaluation {
    let mut problems = Vec::new();
    let mut add = |step, path: &str, code, message: String| {
        problems.push(Problem {
            step,
            path: path.to_owned(),
            code,
            message,
        })
    };
    use FormationStep as S;
    use ProblemCode as C;

    stakeholders(draft, facts, &mut add);
    finances(draft, &mut add);
    contradictions::check(draft, &mut add);
    legal_template(draft, facts, &mut add);
    name(draft, facts, &mut add);
    apps(draft, facts, &mut add);

    let violations = principle_violations(draft, facts);
    for v in violations.iter().filter(|v| v.blocking) {
        problems.push(Problem {
            step: S::Stakeholders,
            path: "stakeholderGroups".into(),
            code: C::PrincipleViolation,
            message: v.reason.clone(),
        });
    }
    Evaluation {
        problems,
        violations,
    }
}

/// 1. Stakeholder groups and founding members.
fn stakeholders(
    draft: &Draft,
    facts: &Facts<'_>,
    add: &mut impl FnMut(FormationStep, &str, ProblemCode, String),
) {
    use FormationStep as S;
    use ProblemCode as C;
    if draft.groups.is_none() {
        add(
            S::Stakeholders,
            "stakeholderGroups",
            C::Missing,
            "define at least one stakeholder group".into(),
        );
    }
    match &draft.members {
        None => add(
            S::Stakeholders,
            "foundingMembers",
            C::Missing,
            "list the founding members, yourself included".into(),
        ),
        Some(members) => {
            for (i, m) in members.iter().enumerate() {
                if draft.groups.is_some() && draft.group(&m.stakeholder_group_key).is_none() {
                    add(
                        S::Stakeholders,
                        &format!("foundingMembers[{i}].stakeholderGroupKey"),
                        C::InvalidReference,
                        format!(
                            "there is no stakeholder group with key `{}`",
                            m.stakeholder_group_key
                        ),
                    );
                }
            }
            match members.iter().find(|m| m.email == facts.founder_email) {
                None => add(
                    S::Stakeholders,
                    "foundingMembers",
                    C::Missing,
                    format!(
                        "add yourself ({}) as a founding member",
                        facts.founder_email
                    ),
                ),
                Some(m) if m.role != MemberRole::Admin => add(
                    S::Stakeholders,
                    "foundingMembers",
                    C::Missing,
                    "you found the pool and become its first admin: give yourself the role ADMIN"
                        .into(),
                ),
                Some(_) => {}
            }
        }
    }
}

/// 2. Finances.
fn finances(draft: &Draft, add: &mut impl FnMut(FormationStep, &str, ProblemCode, String)) {
    use FormationStep as S;
    use ProblemCode as C;
    if draft.finances.is_none() {
        add(
            S::Finances,
            "financialProfile",
            C::Missing,
            "answer the financial questions and choose a currency".into(),
        );
    }
}

/// 3. Legal template, and whether the other choices fit it.
fn legal_template(
    draft: &Draft,
    facts: &Facts<'_>,
    add: &mut impl FnMut(FormationStep, &str, ProblemCode, String),
) {
    use FormationStep as S;
    use ProblemCode as C;
    match draft.formation.legal_template_id.as_deref() {
        None => add(
            S::LegalTemplate,
            "legalTemplateId",
            C::Missing,
            "choose a legal template".into(),
        ),
        Some(id) => match facts.catalogue.template(id) {
            None => add(
                S::LegalTemplate,
                "legalTemplateId",
                C::InvalidReference,
                format!("template `{id}` is no longer in the catalogue; choose another"),
            ),
            Some(t) => {
                let parent = Parent {
                    policy: facts.policy,
                    jurisdiction: facts.parent_jurisdiction,
                };
                for p in template_fit::misfits(draft, t, &parent)
                    .iter()
                    .flat_map(|m| m.problems())
                {
                    add(p.step, &p.path, p.code, p.message);
                }
            }
        },
    }
}

/// 4. Name.
fn name(
    draft: &Draft,
    facts: &Facts<'_>,
    add: &mut impl FnMut(FormationStep, &str, ProblemCode, String),
) {
    use FormationStep as S;
    use ProblemCode as C;
    if draft.formation.name.is_none() {
        add(S::Name, "name", C::Missing, "name the organisation".into());
    } else if let Err(reason) = &facts.name_available {
        add(S::Name, "name", C::NameUnavailable, reason.clone());
    }
}

/// 5 and 6. Apps and their settings.
fn apps(
    draft: &Draft,
    facts: &Facts<'_>,
    add: &mut impl FnMut(FormationStep, &str, ProblemCode, String),
) {
    use FormationStep as S;
    use ProblemCode as C;
    match &draft.app_ids {
        None => {
            add(
                S::Apps,
                "appIds",
                C::Missing,
                "choose the apps the pool needs (or none)".into(),
            );
            add(
                S::AppSettings,
                "appIds",
                C::Missing,
                "choose the apps before configuring them".into(),
            );
        }
        Some(ids) => {
            for (i, id) in ids.iter().enumerate() {
                let Some(app) = facts.catalogue.app(id) else {
                    add(
                        S::Apps,
                        &format!("appIds[{i}]"),
                        C::InvalidReference,
                        format!("app `{id}` is not in the catalogue"),
                    );
                    continue;
                };
                if !facts.policy.allows_app(id) {
                    add(
                        S::Apps,
                        &format!("appIds[{i}]"),
                        C::NotAllowed,
                        format!("the parent entity does not allow {}", app.manifest.name),
                    );
                }
                let Some(config) = draft.app_configs.get(id) else {
                    continue;
                };
                if let Err(errors) = app.validate_settings(&config.settings) {
                    for e in errors {
                        add(
                            S::AppSettings,
                            &format!("appSettings.{id}.{}", e.path),
                            C::InvalidSettings,
                            e.message,
                        );
                    }
                }
                for key in config.role_mapping.groups.keys() {
                    if draft.groups.is_some() && draft.group(key).is_none() {
                        add(
                            S::AppSettings,
                            &format!("appSettings.{id}.roleMapping.{key}"),
                            C::InvalidReference,
                            format!("there is no stakeholder group with key `{key}`"),
                        );
                    }
                }
            }
        }
    }
}

pub fn kind_name(kind: StakeholderKind) -> &'static str {
    match kind {
        StakeholderKind::Workers => "WORKERS",
        StakeholderKind::Users => "USERS",
        StakeholderKind::Producers => "PRODUCERS",
        StakeholderKind::Investors => "INVESTORS",
        StakeholderKind::Supporters => "SUPPORTERS",
        StakeholderKind::Custodians => "CUSTODIANS",
        StakeholderKind::Other => "OTHER",
    }
}
