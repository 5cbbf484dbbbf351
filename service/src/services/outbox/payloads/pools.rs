//! The payloads of formations, pools, their members and their apps, each
//! shaped as its GraphQL type (`Formation`, `Pool`, `Member`, `PoolApp`).

use entities::{
    formation::{self, FormationStatus},
    formation_founding_member,
    membership::{self, JoinedVia, MemberRole, MembershipStatus},
    parent_entity,
    pool::{self, PoolStatus},
    pool_app::{self, ProvisioningState},
    stakeholder_group::{self, Admission, StakeholderKind},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{Money, Ref, Time, stored, time};
use crate::{catalogue::VotingRule, error::AppResult};

/// `Formation`, without the fields the catalogue computes (`apps`,
/// `steps`, `problems`, `progressPercent`, `principleViolations`,
/// `rulesDocument`): the pool it became carries the outcome.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FormationData {
    id: Uuid,
    status: FormationStatus,
    version: i32,
    working_name: String,
    stakeholder_groups: Option<Vec<FormationStakeholderGroup>>,
    founding_members: Option<Vec<FoundingMember>>,
    financial_profile: Option<FinancialProfile>,
    name: Option<String>,
    slug: Option<String>,
    submitted_at: Option<Time>,
    decided_at: Option<Time>,
    rejection_reason: Option<String>,
    created_at: Time,
    updated_at: Time,
    parent_entity: Ref,
    founder: Ref,
    legal_template: Option<Ref<String>>,
    pool: Option<Ref>,
}

/// `FormationStakeholderGroup`, stored in this shape.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FormationStakeholderGroup {
    key: String,
    name: String,
    kind: StakeholderKind,
    voting_weight: i32,
    share_price: Option<i64>,
    admission: Admission,
}

/// `FoundingMember`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FoundingMember {
    email: String,
    display_name: String,
    stakeholder_group_key: String,
    role: MemberRole,
}

/// `FinancialProfile`, stored in this shape.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FinancialProfile {
    distributes_surplus: bool,
    raises_share_capital: bool,
    accepts_investor_members: bool,
    trades_with_public: bool,
    currency: String,
}

impl FormationData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(f) = formation::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        let founding_members = if f.founding_members_set {
            let rows = formation_founding_member::Entity::find()
                .filter(formation_founding_member::Column::FormationId.eq(id))
                .order_by_asc(formation_founding_member::Column::Position)
                .all(db)
                .await?;
            Some(
                rows.into_iter()
                    .map(|m| FoundingMember {
                        email: m.email,
                        display_name: m.display_name,
                        stakeholder_group_key: m.stakeholder_group_key,
                        role: m.role,
                    })
                    .collect(),
            )
        } else {
            None
        };
        Ok(Some(Self {
            id: f.id,
            status: f.status,
            version: f.version,
            working_name: f.working_name,
            stakeholder_groups: f
                .stakeholder_groups
                .map(|g| stored("stakeholder groups", g))
                .transpose()?,
            founding_members,
            financial_profile: f
                .financial_profile
                .map(|p| stored("financial profile", p))
                .transpose()?,
            name: f.name,
            slug: f.slug,
            submitted_at: time(f.submitted_at),
            decided_at: time(f.decided_at),
            rejection_reason: f.rejection_reason,
            created_at: Time(f.created_at),
            updated_at: Time(f.updated_at),
            parent_entity: Ref::to(f.parent_entity_id),
            founder: Ref::to(f.founder_id),
            legal_template: f.legal_template_id.map(Ref::to),
            pool: f.pool_id.map(Ref::to),
        }))
    }
}

/// `Pool`, with its stakeholder groups in full (they are part of what a
/// new pool is); without the fields that take arguments, depend on who
/// asks, or are read on demand (apps, ledger, scales, solidarity,
/// reconciliation).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolData {
    id: Uuid,
    slug: String,
    name: String,
    status: PoolStatus,
    status_reason: Option<String>,
    status_changed_at: Option<Time>,
    currency: String,
    created_at: Time,
    parent_entity: Ref,
    parent_verified: bool,
    legal_template: Ref<String>,
    stakeholder_groups: Vec<StakeholderGroup>,
    rules_document: String,
    governance: PoolGovernance,
}

/// `StakeholderGroup`, without its sliding scale.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StakeholderGroup {
    id: Uuid,
    key: String,
    name: String,
    kind: StakeholderKind,
    voting_weight: i32,
    share_price: Option<Money>,
    admission: Admission,
}

/// `PoolGovernance`, read from the pool's stored governance (which holds
/// more: the groups and finances it was derived from).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoolGovernance {
    voting_rule: VotingRule,
    default_quorum_percent: i32,
    default_pass_threshold_percent: i32,
    rules_change_threshold_percent: i32,
    distributes_surplus: bool,
    asset_lock: bool,
}

impl PoolData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(p) = pool::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        let parent = parent_entity::Entity::find_by_id(p.parent_entity_id)
            .one(db)
            .await?;
        let groups = stakeholder_group::Entity::find()
            .filter(stakeholder_group::Column::PoolId.eq(id))
            .order_by_asc(stakeholder_group::Column::Id)
            .all(db)
            .await?;
        let currency = p.currency.clone();
        Ok(Some(Self {
            id: p.id,
            slug: p.slug,
            name: p.name,
            status: p.status,
            status_reason: p.status_reason.clone(),
            status_changed_at: p.status_changed_at.map(Time),
            currency: p.currency,
            created_at: Time(p.created_at),
            parent_entity: Ref::to(p.parent_entity_id),
            parent_verified: parent.is_some_and(|e| e.verified_at.is_some()),
            legal_template: Ref::to(p.legal_template_id),
            stakeholder_groups: groups
                .into_iter()
                .map(|g| StakeholderGroup {
                    id: g.id,
                    key: g.key,
                    name: g.name,
                    kind: g.kind,
                    voting_weight: g.voting_weight,
                    share_price: g.share_price_minor.map(|amount| Money {
                        amount,
                        currency: currency.clone(),
                    }),
                    admission: g.admission,
                })
                .collect(),
            rules_document: p.rules_document,
            governance: stored("governance", p.governance)?,
        }))
    }
}

/// `Member`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberData {
    id: Uuid,
    email: String,
    display_name: String,
    role: MemberRole,
    status: MembershipStatus,
    joined_via: JoinedVia,
    joined_at: Option<Time>,
    left_at: Option<Time>,
    shares_held: i64,
    end_reason: Option<String>,
    user: Option<Ref>,
    stakeholder_group: Ref,
}

impl MemberData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(m) = membership::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: m.id,
            email: m.email,
            display_name: m.display_name,
            role: m.role,
            status: m.status,
            joined_via: m.joined_via,
            joined_at: time(m.joined_at),
            left_at: time(m.left_at),
            shares_held: m.shares_held,
            end_reason: m.end_reason,
            user: m.user_id.map(Ref::to),
            stakeholder_group: Ref::to(m.stakeholder_group_id),
        }))
    }
}

/// `PoolApp`. The hand-over is in it: the endpoints' owners (the pool's
/// admins, the parent's stewards) may read it through the API too.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolAppData {
    id: Uuid,
    app_id: String,
    app_version: String,
    settings: Value,
    role_mapping: Value,
    provisioning_state: ProvisioningState,
    url: Option<String>,
    status_message: Option<String>,
    app: Ref<String>,
    handover: Option<Value>,
}

impl PoolAppData {
    pub async fn read(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<Self>> {
        let Some(a) = pool_app::Entity::find_by_id(id).one(db).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: a.id,
            app: Ref::to(a.app_id.clone()),
            app_id: a.app_id,
            app_version: a.app_version,
            settings: a.settings,
            role_mapping: a.role_mapping,
            provisioning_state: a.provisioning_state,
            url: a.url,
            status_message: a.status_message,
            // Read as `PoolApp.handover` reads it.
            handover: a
                .handover
                .map(|h| serde_json::from_str(&h).unwrap_or_default()),
        }))
    }
}
