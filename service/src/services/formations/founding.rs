//! What approving a formation writes: the pool, its stakeholder groups, the
//! founding memberships and the app selections, all in the caller's
//! transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{
    formation, formation_founding_member,
    membership::{self, JoinedVia, MemberRole, MembershipStatus},
    parent_entity,
    pool::{self, PoolStatus},
    pool_app::{self, ProvisioningState},
    pool_rules_version, stakeholder_group, user,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    catalogue::{LegalTemplate, apps::ADMIN_ROLE, apps::App},
    error::{AppError, AppResult},
    services::OnConflict,
    state::AppState,
};

use super::{
    draft::{Draft, DraftGroup, FinancialProfile, RoleMapping, encode},
    governance::{Governance, render_rules},
};

/// The parts of a complete formation that become a pool. They are all read
/// before anything is written, so an incomplete formation changes nothing.
pub(super) struct Founding<'a> {
    draft: &'a Draft,
    template: &'a LegalTemplate,
    groups: &'a [DraftGroup],
    members: &'a [formation_founding_member::Model],
    finances: &'a FinancialProfile,
    name: String,
    name_key: String,
    slug: String,
}

impl<'a> Founding<'a> {
    pub(super) fn read(state: &'a AppState, draft: &'a Draft) -> AppResult<Self> {
        let f = &draft.formation;
        let template = f
            .legal_template_id
            .as_deref()
            .and_then(|id| state.catalogue.template(id))
            .ok_or_else(|| incomplete(f, "a template"))?;
        let groups = draft
            .groups
            .as_deref()
            .ok_or_else(|| incomplete(f, "groups"))?;
        let members = draft
            .members
            .as_deref()
            .ok_or_else(|| incomplete(f, "members"))?;
        let finances = draft
            .finances
            .as_ref()
            .ok_or_else(|| incomplete(f, "finances"))?;
        let (name, name_key, slug) = match (&f.name, &f.name_key, &f.slug) {
            (Some(n), Some(k), Some(s)) => (n.clone(), k.clone(), s.clone()),
            _ => return Err(incomplete(f, "a name")),
        };
        Ok(Self {
            draft,
            template,
            groups,
            members,
            finances,
            name,
            name_key,
            slug,
        })
    }

    /// Writes the pool `pool_id` and everything in it.
    pub(super) async fn write(
        &self,
        state: &AppState,
        txn: &DatabaseTransaction,
        parent: &parent_entity::Model,
        pool_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<pool::Model> {
        let pool = self.insert_pool(txn, parent, pool_id, now).await?;
        let group_ids = self.insert_groups(txn, pool_id, now).await?;
        self.insert_memberships(txn, &group_ids, pool_id, now)
            .await?;
        self.invite_founding_members(state, txn, pool_id, now)
            .await?;
        self.insert_apps(state, txn, pool_id, now).await?;
        Ok(pool)
    }

    fn formation(&self) -> &formation::Model {
        &self.draft.formation
    }

    async fn insert_pool(
        &self,
        txn: &DatabaseTransaction,
        parent: &parent_entity::Model,
        pool_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<pool::Model> {
        let name = &self.name;
        let governance = Governance::derive(self.template, self.groups, self.finances);
        let pool = pool::ActiveModel {
            id: Set(pool_id),
            parent_entity_id: Set(parent.id),
            formation_id: Set(self.formation().id),
            name: Set(name.clone()),
            slug: Set(self.slug.clone()),
            name_key: Set(self.name_key.clone()),
            status: Set(PoolStatus::Active),
            legal_template_id: Set(self.template.id.clone()),
            legal_template_version: Set(self.template.version),
            currency: Set(self.finances.currency.clone()),
            rules_document: Set(render_rules(name, &parent.name, self.template, &governance)),
            governance: Set(encode(&governance)?),
            created_at: Set(now),
            updated_at: Set(now),
            status_reason: Set(None),
            status_changed_at: Set(None),
        }
        .insert(txn)
        .await
        .on_conflict(|| {
            format!(
                "`{name}` is already used by another pool of this parent entity; rename the formation"
            )
        })?;
        // The founding rules are version 1 of the pool's rules.
        pool_rules_version::ActiveModel {
            id: Set(Uuid::now_v7()),
            pool_id: Set(pool.id),
            version: Set(1),
            document: Set(pool.rules_document.clone()),
            governance: Set(pool.governance.clone()),
            adopted_at: Set(now),
            proposal_id: Set(None),
            diff: Set(None),
        }
        .insert(txn)
        .await?;
        Ok(pool)
    }

    /// Inserts the stakeholder groups and returns their ids by key.
    async fn insert_groups(
        &self,
        txn: &DatabaseTransaction,
        pool_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<HashMap<&'a str, Uuid>> {
        let group_ids: HashMap<&str, Uuid> = self
            .groups
            .iter()
            .map(|g| (g.key.as_str(), Uuid::now_v7()))
            .collect();
        stakeholder_group::Entity::insert_many(self.groups.iter().map(|g| {
            stakeholder_group::ActiveModel {
                id: Set(group_ids[g.key.as_str()]),
                pool_id: Set(pool_id),
                key: Set(g.key.clone()),
                name: Set(g.name.clone()),
                kind: Set(g.kind),
                voting_weight: Set(g.voting_weight),
                share_price_minor: Set(g.share_price),
                admission: Set(g.admission),
                created_at: Set(now),
                retired_at: Set(None),
            }
        }))
        .exec(txn)
        .await?;
        Ok(group_ids)
    }

    async fn insert_memberships(
        &self,
        txn: &DatabaseTransaction,
        group_ids: &HashMap<&str, Uuid>,
        pool_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        // Founding members who already have accounts are linked now.
        let accounts: HashMap<String, Uuid> = user::Entity::find()
            .filter(user::Column::Email.is_in(self.members.iter().map(|m| m.email.clone())))
            .all(txn)
            .await?
            .into_iter()
            .map(|u| (u.email, u.id))
            .collect();
        let mut memberships = Vec::with_capacity(self.members.len());
        for m in self.members {
            let group_id = *group_ids
                .get(m.stakeholder_group_key.as_str())
                .ok_or_else(|| incomplete(self.formation(), "a valid group for every member"))?;
            let user_id = accounts.get(&m.email).copied();
            memberships.push(self.founding_membership(m, user_id, group_id, pool_id, now));
        }
        membership::Entity::insert_many(memberships)
            .exec(txn)
            .await?;
        Ok(())
    }

    /// An invitation, with its email, for every founding member but the
    /// founder, from the founder.
    async fn invite_founding_members(
        &self,
        state: &AppState,
        txn: &DatabaseTransaction,
        pool_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let invited = membership::Entity::find()
            .filter(membership::Column::PoolId.eq(pool_id))
            .filter(membership::Column::Status.eq(MembershipStatus::Invited))
            .all(txn)
            .await?;
        for m in invited {
            let email = crate::domain::Email::parse(&m.email, "email")
                .map_err(|e| AppError::internal(anyhow::anyhow!("stored email: {}", e.message)))?;
            crate::services::membership::invitations::issue(
                state,
                txn,
                &m,
                &email,
                self.formation().founder_id,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// The founder joins as an active admin; everyone else is invited with
    /// the role the founder chose.
    fn founding_membership(
        &self,
        m: &formation_founding_member::Model,
        user_id: Option<Uuid>,
        group_id: Uuid,
        pool_id: Uuid,
        now: DateTime<Utc>,
    ) -> membership::ActiveModel {
        let is_founder = user_id == Some(self.formation().founder_id);
        membership::ActiveModel {
            id: Set(Uuid::now_v7()),
            pool_id: Set(pool_id),
            user_id: Set(user_id),
            email: Set(m.email.clone()),
            display_name: Set(m.display_name.clone()),
            stakeholder_group_id: Set(group_id),
            role: Set(if is_founder {
                MemberRole::Admin
            } else {
                m.role
            }),
            status: Set(if is_founder {
                MembershipStatus::Active
            } else {
                MembershipStatus::Invited
            }),
            joined_via: Set(JoinedVia::Founding),
            joined_at: Set(is_founder.then_some(now)),
            ..crate::services::membership::starting(now)
        }
    }

    /// Inserts the selected apps and asks for them to be provisioned.
    async fn insert_apps(
        &self,
        state: &AppState,
        txn: &DatabaseTransaction,
        pool_id: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let app_ids = self.draft.app_ids.as_deref().unwrap_or_default();
        if app_ids.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(app_ids.len());
        for app_id in app_ids {
            let app = state
                .catalogue
                .app(app_id)
                .ok_or_else(|| incomplete(self.formation(), "a catalogued app"))?;
            let (settings, mapping) = self.app_config(app, app_id)?;
            rows.push(pool_app::ActiveModel {
                id: Set(Uuid::now_v7()),
                pool_id: Set(pool_id),
                app_id: Set(app_id.clone()),
                app_version: Set(app.manifest.version.clone()),
                settings: Set(settings),
                role_mapping: Set(encode(&mapping)?),
                provisioning_state: Set(ProvisioningState::Requested),
                created_at: Set(now),
                updated_at: Set(now),
                url: Set(None),
                handover: Set(None),
                status_message: Set(None),
            });
        }
        pool_app::Entity::insert_many(rows).exec(txn).await?;
        crate::services::provisioning::request_for_pool(txn, pool_id).await?;
        Ok(())
    }

    /// An app's settings and role mapping: the founder's (the settings
    /// checked again) or the app's defaults.
    fn app_config(&self, app: &App, app_id: &str) -> AppResult<(Value, RoleMapping)> {
        let (settings, mut mapping) = match self.draft.app_configs.get(app_id) {
            Some(config) => (
                app.validate_settings(&config.settings)
                    .map_err(|_| incomplete(self.formation(), "valid app settings"))?,
                config.role_mapping.clone(),
            ),
            None => (
                app.default_settings(),
                RoleMapping {
                    admins: ADMIN_ROLE.to_owned(),
                    groups: Default::default(),
                },
            ),
        };
        // Every group gets a role: the founder's choice or the app's default.
        for g in self.groups {
            mapping
                .groups
                .entry(g.key.clone())
                .or_insert_with(|| app.manifest.default_member_role.clone());
        }
        Ok((settings, mapping))
    }
}

/// A formation that passed evaluation lacks a part: a bug, not the caller's
/// mistake, so it is an internal error.
fn incomplete(formation: &formation::Model, what: &str) -> AppError {
    AppError::internal(anyhow::anyhow!(
        "complete formation {} lacks {what}",
        formation.id
    ))
}
