//! The step mutations. Each validates its own input and refuses the call on
//! any error, leaving the stored draft as it was; what depends on other steps
//! is reported as a problem of the formation instead.

use std::collections::HashSet;

use chrono::Utc;
use entities::{
    formation::{self, FormationStatus},
    formation_founding_member,
    membership::MemberRole,
    parent_entity,
    stakeholder_group::{Admission, StakeholderKind},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth::{Actor, access},
    domain::{Check, Currency, Email, PoolName, SingleLineText},
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{self, Action, Change},
        parent_entities,
        policy::ParentPolicy,
    },
    state::AppState,
};

pub(super) use super::group_fields::group_key;
use super::{
    draft::{DraftGroup, FinancialProfile, encode},
    group_fields::{self, MAX_GROUPS},
    names,
    template_fit::{self, Parent},
};

const MAX_FOUNDING_MEMBERS: usize = 200;

pub async fn start(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    working_name: &str,
) -> AppResult<formation::Model> {
    parent_entities::get(state, parent_entity_id).await?;
    crate::auth::permissions::refuse_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let working_name =
        SingleLineText::<1, 100>::parse(working_name, "input.workingName").map_err(one)?;
    let now = Utc::now();
    let txn = crate::services::begin_write(&state.db).await?;
    let formation = formation::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(parent_entity_id),
        founder_id: Set(actor.user_id),
        working_name: Set(working_name.into_inner()),
        status: Set(FormationStatus::Draft),
        stakeholder_groups: Set(None),
        founding_members_set: Set(false),
        financial_profile: Set(None),
        legal_template_id: Set(None),
        name: Set(None),
        slug: Set(None),
        name_key: Set(None),
        app_ids: Set(None),
        app_configs: Set(Value::Object(Default::default())),
        submitted_at: Set(None),
        decided_at: Set(None),
        decided_by: Set(None),
        rejection_reason: Set(None),
        pool_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::FormationStarted, "Formation", formation.id)
            .in_parent(parent_entity_id)
            .created(&formation),
    )
    .await?;
    txn.commit().await?;
    Ok(formation)
}

pub struct GroupInput {
    pub key: String,
    pub name: String,
    pub kind: StakeholderKind,
    pub voting_weight: i32,
    pub share_price: Option<i64>,
    pub admission: Admission,
}

pub async fn set_stakeholder_groups(
    state: &AppState,
    actor: &Actor,
    edit: Edit,
    groups: Vec<GroupInput>,
) -> AppResult<formation::Model> {
    may_edit(&state.db, actor, edit.id).await?;
    let mut check = Check::default();
    if groups.is_empty() || groups.len() > MAX_GROUPS {
        check.field::<()>(Err(FieldError::new(
            "input.groups",
            format!("give between 1 and {MAX_GROUPS} stakeholder groups"),
        )));
    }
    let mut keys = HashSet::new();
    let mut parsed = Vec::new();
    for (i, g) in groups.into_iter().enumerate() {
        let key = check.field(group_key(&g.key, &format!("input.groups[{i}].key")));
        if let Some(k) = &key
            && !keys.insert(k.clone())
        {
            check.field::<()>(Err(FieldError::new(
                format!("input.groups[{i}].key"),
                format!("the key `{k}` is used twice"),
            )));
        }
        let name = check.field(SingleLineText::<1, 100>::parse(
            &g.name,
            &format!("input.groups[{i}].name"),
        ));
        let weight = check.field(group_fields::voting_weight(
            g.voting_weight,
            &format!("input.groups[{i}].votingWeight"),
        ));
        let price = check.field(group_fields::share_price(
            g.share_price,
            &format!("input.groups[{i}].sharePrice"),
        ));
        if let (Some(key), Some(name), Some(voting_weight), Some(share_price)) =
            (key, name, weight, price)
        {
            parsed.push(DraftGroup {
                key,
                name: name.into_inner(),
                kind: g.kind,
                voting_weight,
                share_price,
                admission: g.admission,
            });
        }
    }
    if !check.is_empty() {
        return Err(check.into_error());
    }
    update(
        state,
        actor,
        edit,
        Action::FormationStakeholderGroupsSet,
        |_, f| {
            f.stakeholder_groups = Set(Some(encode(&parsed)?));
            Ok(())
        },
    )
    .await
}

pub struct MemberInput {
    pub email: String,
    pub display_name: String,
    pub stakeholder_group_key: String,
    pub role: MemberRole,
}

pub async fn set_founding_members(
    state: &AppState,
    actor: &Actor,
    edit: Edit,
    members: Vec<MemberInput>,
) -> AppResult<formation::Model> {
    may_edit(&state.db, actor, edit.id).await?;
    let mut check = Check::default();
    if members.is_empty() || members.len() > MAX_FOUNDING_MEMBERS {
        check.field::<()>(Err(FieldError::new(
            "input.members",
            format!("give between 1 and {MAX_FOUNDING_MEMBERS} founding members"),
        )));
    }
    let mut emails = HashSet::new();
    let mut rows = Vec::new();
    for (i, m) in members.into_iter().enumerate() {
        let email = check.field(Email::parse(&m.email, &format!("input.members[{i}].email")));
        if let Some(e) = &email
            && !emails.insert(e.as_str().to_owned())
        {
            check.field::<()>(Err(FieldError::new(
                format!("input.members[{i}].email"),
                format!("{e} is listed twice"),
            )));
        }
        let name = check.field(SingleLineText::<1, 100>::parse(
            &m.display_name,
            &format!("input.members[{i}].displayName"),
        ));
        let key = check.field(group_key(
            &m.stakeholder_group_key,
            &format!("input.members[{i}].stakeholderGroupKey"),
        ));
        if let (Some(email), Some(name), Some(key)) = (email, name, key) {
            rows.push((i, email, name.into_inner(), key, m.role));
        }
    }
    if !check.is_empty() {
        return Err(check.into_error());
    }
    let id = edit.id;
    let txn = crate::services::begin_write(&state.db).await?;
    let locked = lock_editable(&txn, actor, edit).await?;
    let before = locked.formation;
    let model = write(&txn, &before, |f| {
        f.founding_members_set = Set(true);
        Ok(())
    })
    .await?;
    let listed: Vec<Value> = rows
        .iter()
        .map(|(_, email, name, key, role)| {
            serde_json::json!({ "email": email.as_str(), "displayName": name, "stakeholderGroupKey": key, "role": role })
        })
        .collect();
    // The list is replaced as a whole; these draft rows are not the register.
    formation_founding_member::Entity::delete_many()
        .filter(formation_founding_member::Column::FormationId.eq(id))
        .exec(&txn)
        .await?;
    let models = rows.into_iter().map(|(i, email, display_name, key, role)| {
        formation_founding_member::ActiveModel {
            id: Set(Uuid::now_v7()),
            formation_id: Set(id),
            position: Set(i as i32),
            email: Set(email.as_str().to_owned()),
            display_name: Set(display_name),
            stakeholder_group_key: Set(key),
            role: Set(role),
        }
    });
    formation_founding_member::Entity::insert_many(models)
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::FormationFoundingMembersSet, "Formation", id)
            .in_parent(model.parent_entity_id)
            .diff(&before, &model)
            .with("foundingMembers", listed),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

pub struct FinancialInput {
    pub distributes_surplus: bool,
    pub raises_share_capital: bool,
    pub accepts_investor_members: bool,
    pub trades_with_public: bool,
    pub currency: String,
}

pub async fn set_financial_profile(
    state: &AppState,
    actor: &Actor,
    edit: Edit,
    input: FinancialInput,
) -> AppResult<formation::Model> {
    may_edit(&state.db, actor, edit.id).await?;
    let currency = Currency::parse(&input.currency, "input.currency").map_err(one)?;
    let profile = FinancialProfile {
        distributes_surplus: input.distributes_surplus,
        raises_share_capital: input.raises_share_capital,
        accepts_investor_members: input.accepts_investor_members,
        trades_with_public: input.trades_with_public,
        currency: currency.into_inner(),
    };
    update(
        state,
        actor,
        edit,
        Action::FormationFinancialProfileSet,
        |_, f| {
            f.financial_profile = Set(Some(encode(&profile)?));
            Ok(())
        },
    )
    .await
}

/// Chooses a template that fits the formation as it stands; one that does
/// not is refused with every misfit, as `recommendedTemplates` lists them.
pub async fn choose_legal_template(
    state: &AppState,
    actor: &Actor,
    edit: Edit,
    template_id: &str,
) -> AppResult<formation::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let Locked { formation, parent } = lock_editable(&txn, actor, edit).await?;
    let template = state.catalogue.template(template_id).ok_or_else(|| {
        AppError::invalid(
            "input.templateId",
            format!("there is no legal template `{template_id}`"),
        )
    })?;
    let draft = super::load_draft_from(&txn, formation.clone()).await?;
    let policy = ParentPolicy::of(&parent);
    let misfits = template_fit::misfits(
        &draft,
        template,
        &Parent {
            policy: &policy,
            jurisdiction: &parent.jurisdiction,
        },
    );
    if !misfits.is_empty() {
        return Err(AppError::Validation(
            misfits
                .into_iter()
                .map(|m| FieldError::problem("input.templateId", m.code.as_str(), m.message))
                .collect(),
        ));
    }
    let after = write(&txn, &formation, |f| {
        f.legal_template_id = Set(Some(template.id.clone()));
        Ok(())
    })
    .await?;
    record_edit(
        &txn,
        actor,
        Action::FormationLegalTemplateChosen,
        &formation,
        &after,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

pub async fn name_formation(
    state: &AppState,
    actor: &Actor,
    edit: Edit,
    raw: &str,
) -> AppResult<formation::Model> {
    may_edit(&state.db, actor, edit.id).await?;
    let name = PoolName::parse(raw, "input.name").map_err(one)?;
    let txn = crate::services::begin_write(&state.db).await?;
    let Locked { formation, parent } = lock_editable(&txn, actor, edit).await?;
    // Checked under the lock, against the names in use as this write sees them.
    if names::unavailable_reason(&txn, parent.id, &name, Some(formation.id))
        .await?
        .is_some()
    {
        let check = names::availability(
            &txn,
            parent.id,
            &parent.jurisdiction,
            raw,
            Some(formation.id),
        )
        .await?;
        let mut message = check.reason.unwrap_or_default();
        if !check.suggestions.is_empty() {
            message.push_str(&format!(
                "; free alternatives: {}",
                check.suggestions.join(", ")
            ));
        }
        return Err(AppError::invalid("input.name", message));
    }
    let after = write(&txn, &formation, |f| {
        f.name = Set(Some(name.as_str().to_owned()));
        f.name_key = Set(Some(name.key().to_owned()));
        f.slug = Set(Some(name.slug().to_owned()));
        Ok(())
    })
    .await?;
    record_edit(&txn, actor, Action::FormationNamed, &formation, &after).await?;
    txn.commit().await?;
    Ok(after)
}

/// The formation a step edits, and the version the client last saw, if it
/// says: a stale one is refused, so a second browser tab cannot silently
/// overwrite the first.
#[derive(Clone, Copy, Debug)]
pub struct Edit {
    pub id: Uuid,
    pub expected_version: Option<i32>,
}

/// A formation locked for editing in the current transaction, and its parent.
pub(super) struct Locked {
    pub formation: formation::Model,
    pub parent: parent_entity::Model,
}

/// Applies `change` to the formation, locked, if the caller may edit it,
/// and records `action` in the audit trail.
pub(super) async fn update(
    state: &AppState,
    actor: &Actor,
    edit: Edit,
    action: Action,
    change: impl FnOnce(&Locked, &mut formation::ActiveModel) -> AppResult<()>,
) -> AppResult<formation::Model> {
    let txn = crate::services::begin_write(&state.db).await?;
    let locked = lock_editable(&txn, actor, edit).await?;
    let after = write(&txn, &locked.formation, |f| change(&locked, f)).await?;
    record_edit(&txn, actor, action, &locked.formation, &after).await?;
    txn.commit().await?;
    Ok(after)
}

/// Locks the formation for this transaction and checks, on what the lock
/// holds, that the caller may edit it at the version they expect.
pub(super) async fn lock_editable(
    txn: &DatabaseTransaction,
    actor: &Actor,
    edit: Edit,
) -> AppResult<Locked> {
    let formation = find_locked(txn, edit.id).await?;
    editable_by(txn, actor, &formation).await?;
    if let Some(expected) = edit.expected_version
        && expected != formation.version
    {
        return Err(AppError::stale("formation", formation.version));
    }
    let parent = parent_entity::Entity::find_by_id(formation.parent_entity_id)
        .one(txn)
        .await?
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "formation {} has no parent entity",
                formation.id
            ))
        })?;
    Ok(Locked { formation, parent })
}

/// Writes `change` onto the locked formation `before`, one version on.
pub(super) async fn write(
    txn: &DatabaseTransaction,
    before: &formation::Model,
    change: impl FnOnce(&mut formation::ActiveModel) -> AppResult<()>,
) -> AppResult<formation::Model> {
    let mut active: formation::ActiveModel = before.clone().into();
    change(&mut active)?;
    // Editing a rejected or withdrawn formation reopens it as a draft; the
    // lock guarantees this is still the status `require_editable` saw.
    if before.status != FormationStatus::Draft {
        active.status = Set(FormationStatus::Draft);
    }
    active.version = Set(before.version + 1);
    active.updated_at = Set(Utc::now());
    Ok(active.update(txn).await?)
}

async fn record_edit(
    txn: &DatabaseTransaction,
    actor: &Actor,
    action: Action,
    before: &formation::Model,
    after: &formation::Model,
) -> AppResult<()> {
    audit::record(
        txn,
        actor,
        Change::new(action, "Formation", after.id)
            .in_parent(after.parent_entity_id)
            .diff(before, after),
    )
    .await?;
    Ok(())
}

/// The formation, locked until the transaction ends (see `services::lock`).
pub(super) async fn find_locked(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> AppResult<formation::Model> {
    crate::services::lock::<formation::Entity>(txn, id)
        .await?
        .ok_or_else(|| access::not_found("formation", id))
}

pub(super) async fn find(db: &impl ConnectionTrait, id: Uuid) -> AppResult<formation::Model> {
    formation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| access::not_found("formation", id))
}

/// Whether the caller may edit the formation, asked before its input is
/// read (permission comes before validation, see `auth::access`). The
/// change asks again under the row's lock.
pub(super) async fn may_edit(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<()> {
    let formation = find(db, id).await?;
    editable_by(db, actor, &formation).await
}

/// [`require_editable`], refused as `auth::access` says: those who may not
/// see the formation are told it does not exist.
pub(super) async fn editable_by(
    db: &impl ConnectionTrait,
    actor: &Actor,
    formation: &formation::Model,
) -> AppResult<()> {
    super::unless_seen(db, actor, formation, require_editable(actor, formation)).await
}

/// Only the founder edits, and only while the formation is not under
/// decision or decided.
pub(super) fn require_editable(actor: &Actor, formation: &formation::Model) -> AppResult<()> {
    if formation.founder_id != actor.user_id {
        return Err(AppError::Forbidden(
            "only the founder who started this formation may change it".into(),
        ));
    }
    match formation.status {
        FormationStatus::Draft | FormationStatus::Rejected | FormationStatus::Withdrawn => Ok(()),
        FormationStatus::Submitted => Err(AppError::Conflict(
            "the formation is submitted and awaits the parent's decision; withdraw it to change it"
                .into(),
        )),
        FormationStatus::Approved => Err(AppError::Conflict(
            "the formation is approved; change the pool instead".into(),
        )),
    }
}

fn one(e: FieldError) -> AppError {
    AppError::Validation(vec![e])
}
