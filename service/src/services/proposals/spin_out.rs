//! A `SPIN_OUT` proposal: the members choose a standalone legal template
//! from the catalogue and name the entity the pool becomes. The template
//! is held against the pool as it stands (its groups, active members and
//! governance) by the formation's own decision, `template_fit`; once the
//! proposal passes, a spin-out waits for the founders to report the new
//! entity registered (see `services::spin_outs`).

use chrono::Utc;
use entities::{
    membership::{self, MembershipStatus},
    parent_entity, pool,
    pool::PoolStatus,
    pool_spin_out::{self, SpinOutStatus},
    proposal::{self, Outcome, ProposalKind, ProposalStatus},
    stakeholder_group,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    catalogue::{Catalogue, LegalTemplate, TemplateKind},
    domain::SingleLineText,
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{self, Action, Author, Change},
        formations::{
            draft::{DraftGroup, FinancialProfile},
            recommend::{self, Recommendation},
            template_fit::{Facts, Parent},
        },
        membership::{find_pool, lock_pool},
        policy::ParentPolicy,
        rules::governance_of,
    },
};

/// Where the choice is named in `createProposal`'s input.
pub const TEMPLATE_PATH: &str = "input.spinOut.legalTemplateId";
pub const NAME_PATH: &str = "input.spinOut.entityName";

/// What a `SPIN_OUT` proposal chooses.
#[derive(Clone, Debug)]
pub struct SpinOutChoice {
    pub legal_template_id: String,
    pub entity_name: String,
}

/// The pool as a template is held against it.
pub struct PoolFacts {
    pub groups: Vec<DraftGroup>,
    pub members: usize,
    pub finances: FinancialProfile,
    /// Where the pool is: its parent's jurisdiction.
    pub jurisdiction: String,
}

impl PoolFacts {
    /// Reads the pool's current groups (those not retired), active members
    /// and governance.
    pub async fn of(db: &impl ConnectionTrait, pool: &pool::Model) -> AppResult<Self> {
        let governance = governance_of(pool)?;
        let groups = stakeholder_group::Entity::find()
            .filter(stakeholder_group::Column::PoolId.eq(pool.id))
            .filter(stakeholder_group::Column::RetiredAt.is_null())
            .all(db)
            .await?
            .into_iter()
            .map(|g| DraftGroup {
                key: g.key,
                name: g.name,
                kind: g.kind,
                voting_weight: g.voting_weight,
                share_price: g.share_price_minor,
                admission: g.admission,
            })
            .collect();
        let members = membership::Entity::find()
            .filter(membership::Column::PoolId.eq(pool.id))
            .filter(membership::Column::Status.eq(MembershipStatus::Active))
            .all(db)
            .await?
            .len();
        let parent = parent_entity::Entity::find_by_id(pool.parent_entity_id)
            .one(db)
            .await?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("pool without parent")))?;
        Ok(Self {
            groups,
            members,
            finances: FinancialProfile {
                distributes_surplus: governance.distributes_surplus,
                raises_share_capital: governance.raises_share_capital,
                accepts_investor_members: governance.accepts_investor_members,
                trades_with_public: governance.trades_with_public,
                currency: governance.currency,
            },
            jurisdiction: parent.jurisdiction,
        })
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            groups: Some(&self.groups),
            members: Some(self.members),
            finances: Some(&self.finances),
        }
    }
}

/// Whether a template is a legal entity of its own (not the pool inside
/// the parent).
pub fn standalone(t: &LegalTemplate) -> bool {
    t.kind == TemplateKind::Incorporated
}

/// The catalogue's standalone templates held against the pool, those that
/// fit first, then best fit. The parent's policy does not apply: the pool
/// leaves it. The jurisdiction does: the pool incorporates where it is.
pub fn options<'a>(catalogue: &'a Catalogue, facts: &PoolFacts) -> Vec<Recommendation<'a>> {
    let policy = leaving_policy();
    recommend::rank(
        &facts.facts(),
        catalogue.templates.iter().filter(|t| standalone(t)),
        &Parent {
            policy: &policy,
            jurisdiction: &facts.jurisdiction,
        },
    )
}

/// No template or app refused, no exception to the principles.
fn leaving_policy() -> ParentPolicy {
    ParentPolicy {
        allowed_template_ids: None,
        allowed_app_ids: None,
        allows_principle_exceptions: false,
        rules_changes: Default::default(),
    }
}

/// Checks a `SPIN_OUT` proposal's choice against the pool as it stands:
/// `VALIDATION` names an unknown, not standalone or unfitting template
/// (each misfit) and a bad name; `CONFLICT` when a spin-out is already
/// under way. (A pending move may stay pending: it cannot complete while
/// the pool awaits its new entity's registration.) Answers the template and the name as stored.
pub async fn check(
    db: &impl ConnectionTrait,
    catalogue: &Catalogue,
    pool: &pool::Model,
    choice: &SpinOutChoice,
) -> AppResult<(String, String)> {
    let name = SingleLineText::<1, 200>::parse(&choice.entity_name, NAME_PATH);
    let mut refused = Vec::new();
    match catalogue.template(choice.legal_template_id.trim()) {
        None => refused.push(FieldError::new(
            TEMPLATE_PATH,
            format!("there is no legal template `{}`", choice.legal_template_id),
        )),
        Some(t) if !standalone(t) => refused.push(FieldError::new(
            TEMPLATE_PATH,
            format!(
                "`{}` is not a legal entity of its own: choose a template the pool can incorporate under",
                t.name
            ),
        )),
        Some(t) => {
            let facts = PoolFacts::of(db, pool).await?;
            let assessed = recommend::rank(
                &facts.facts(),
                std::iter::once(t),
                &Parent {
                    policy: &leaving_policy(),
                    jurisdiction: &facts.jurisdiction,
                },
            );
            for r in &assessed {
                for m in &r.found {
                    refused.push(FieldError::problem(
                        TEMPLATE_PATH,
                        m.code.as_str(),
                        m.message.clone(),
                    ));
                }
            }
        }
    }
    let template_id = choice.legal_template_id.trim().to_owned();
    // The template's field comes first, as in the input.
    let name = match name {
        Ok(name) if refused.is_empty() => name,
        Ok(_) => return Err(AppError::Validation(refused)),
        Err(e) => {
            refused.push(e);
            return Err(AppError::Validation(refused));
        }
    };
    refuse_while_spinning_out(db, pool.id).await?;
    Ok((template_id, name.into_inner()))
}

/// `CONFLICT` while a `SPIN_OUT` proposal is open or a spin-out awaits
/// registration: then no move or second spin-out may start.
pub async fn refuse_while_spinning_out(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<()> {
    if awaiting(db, pool_id).await?.is_some() {
        return Err(AppError::Conflict(
            "the pool is spinning out: its new entity awaits registration".into(),
        ));
    }
    let open = proposal::Entity::find()
        .filter(proposal::Column::PoolId.eq(pool_id))
        .filter(proposal::Column::Kind.eq(ProposalKind::SpinOut))
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .one(db)
        .await?;
    if open.is_some() {
        return Err(AppError::Conflict(
            "a spin-out proposal is already open in this pool".into(),
        ));
    }
    Ok(())
}

/// The pool's spin-out awaiting registration, if any.
pub async fn awaiting(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
) -> AppResult<Option<pool_spin_out::Model>> {
    Ok(pool_spin_out::Entity::find()
        .filter(pool_spin_out::Column::PoolId.eq(pool_id))
        .filter(pool_spin_out::Column::Status.eq(SpinOutStatus::AwaitingRegistration))
        .one(db)
        .await?)
}

/// When a `SPIN_OUT` proposal passes, the spin-out waits for the new
/// entity's registration (in the transaction that counts it). The pool
/// goes on meanwhile.
pub async fn on_closed(
    db: &impl ConnectionTrait,
    catalogue: &Catalogue,
    by: &Author,
    p: &proposal::Model,
    outcome: Outcome,
) -> AppResult<()> {
    let (ProposalKind::SpinOut, Outcome::Passed, Some(template_id), Some(name)) = (
        p.kind,
        outcome,
        p.spin_out_template_id.as_deref(),
        p.spin_out_entity_name.as_deref(),
    ) else {
        return Ok(());
    };
    lock_pool(db, p.pool_id).await?;
    let pool = find_pool(db, p.pool_id).await?;
    // Only one at a time; and a pool no longer active starts nothing.
    if pool.status != PoolStatus::Active || awaiting(db, pool.id).await?.is_some() {
        return Ok(());
    }
    let version = catalogue.template(template_id).map_or(0, |t| t.version);
    let s = pool_spin_out::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        proposal_id: Set(p.id),
        status: Set(SpinOutStatus::AwaitingRegistration),
        legal_template_id: Set(template_id.to_owned()),
        legal_template_version: Set(version),
        entity_name: Set(name.to_owned()),
        registration_number: Set(None),
        registered_name: Set(None),
        registered_at: Set(None),
        registered_by: Set(None),
        parent_entity_id: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        by.clone(),
        Change::new(Action::PoolSpinOutStarted, "Pool", pool.id)
            .in_pool(&pool)
            .with("spinOutId", s.id.to_string())
            .with("proposalId", p.id.to_string())
            .with("legalTemplateId", s.legal_template_id.clone())
            .with("entityName", s.entity_name.clone()),
    )
    .await?;
    Ok(())
}
