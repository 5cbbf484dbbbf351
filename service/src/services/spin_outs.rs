//! A pool spinning out into a legal entity of its own. The members decide
//! by a `SPIN_OUT` proposal choosing a standalone template (see
//! `proposals::spin_out`); then the spin-out awaits registration while the
//! pool goes on, and its incorporation pack (the rules adapted to the
//! template, the register, the opening balances and the audit pack) is
//! there for the founders to file. When an admin reports the new entity
//! registered, in one transaction: the funds leave the ledger as
//! `TRANSFER_OUT` entries, open proposals are withdrawn, and the pool is
//! `SPUN_OUT`, read-only for good. The new entity may then register on the
//! platform as a parent entity of its own (`registerParentEntity`).

use chrono::{SubsecRound, Utc};
use entities::{
    ledger_entry::{self, LedgerKind},
    membership::MemberRole,
    parent_entity, pool,
    pool::PoolStatus,
    pool_life_pack::LifeStep,
    pool_spin_out::{self, Model as SpinOut, SpinOutStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Query,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    auth::{Actor, access, permissions},
    catalogue::{LegalTemplate, VotingRule},
    domain::{MoneyTotal, SingleLineText},
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Author, Change},
        begin_write, contributions,
        exports::{
            pack::{self, SignedPack},
            time,
        },
        formations::{
            governance::render_rules, recommend::Recommendation, template_fit::weights_differ,
        },
        life_packs, lock,
        membership::{active_membership, find_pool, require_reader_as},
        pagination::{Page, PageArgs, paginate},
        parent_entities::{self, RegisterInput},
        pool_standing::status_name,
        proposals::{
            closing::withdraw_open,
            spin_out::{self, PoolFacts},
        },
        reports::sql::{Sql, money_sum, money_total},
        rules::governance_of,
    },
    state::AppState,
};

/// The incorporation pack's format.
pub const PACK_FORMAT: &str = "pools-incorporation-pack/1";

/// The ledger category of the transfers out.
pub const CATEGORY: &str = "spin-out";

/// The catalogue's standalone templates held against the pool as it
/// stands, those that fit first (for those who read the pool).
pub async fn options<'a>(
    state: &'a AppState,
    actor: &Actor,
    pool: &pool::Model,
) -> AppResult<Vec<Recommendation<'a>>> {
    require_reader_as(&state.db, pool, actor).await?;
    let facts = PoolFacts::of(&state.db, pool).await?;
    Ok(spin_out::options(&state.catalogue, &facts))
}

/// The pool's current or last spin-out, for those who read the pool.
pub async fn of_pool(
    state: &AppState,
    actor: &Actor,
    pool: &pool::Model,
) -> AppResult<Option<SpinOut>> {
    require_reader_as(&state.db, pool, actor).await?;
    Ok(pool_spin_out::Entity::find()
        .filter(pool_spin_out::Column::PoolId.eq(pool.id))
        .order_by_desc(pool_spin_out::Column::Id)
        .one(&state.db)
        .await?)
}

/// One spin-out, for those who may know it (see [`visible`]).
pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> AppResult<SpinOut> {
    let s = pool_spin_out::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| access::not_found("spin-out", id))?;
    visible(&state.db, actor, &s).await?;
    Ok(s)
}

/// The spin-out a parent entity was registered from, if any (no check:
/// for those who already read the parent).
pub async fn of_new_parent(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
) -> AppResult<Option<SpinOut>> {
    Ok(pool_spin_out::Entity::find()
        .filter(pool_spin_out::Column::ParentEntityId.eq(parent_entity_id))
        .one(db)
        .await?)
}

/// Who may know a spin-out exists: those who read its pool (its members
/// and its parent's stewards and auditors). Others get `NOT_FOUND`.
pub async fn visible(db: &impl ConnectionTrait, actor: &Actor, s: &SpinOut) -> AppResult<()> {
    let pool = find_pool(db, s.pool_id).await?;
    require_reader_as(db, &pool, actor)
        .await
        .map(|_| ())
        .map_err(|_| access::not_found("spin-out", s.id))
}

/// The spin-outs of a parent entity's pools, oldest first, for its
/// stewards and auditors.
pub async fn of_parent(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    page: PageArgs,
) -> AppResult<Page<SpinOut>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let page = page.parse()?;
    let pools = Query::select()
        .column(pool::Column::Id)
        .from(pool::Entity)
        .and_where(pool::Column::ParentEntityId.eq(parent_entity_id))
        .to_owned();
    let select =
        pool_spin_out::Entity::find().filter(pool_spin_out::Column::PoolId.in_subquery(pools));
    paginate(&state.db, select, pool_spin_out::Column::Id, page).await
}

/// What the founders report once the new entity is registered.
pub struct RegisteredInput {
    pub spin_out_id: Uuid,
    pub registration_number: String,
    pub registered_name: Option<String>,
}

/// An admin of the pool reports the new entity registered: in one
/// transaction under the pool's lock, the funds leave the ledger, open
/// proposals are withdrawn, and the pool is `SPUN_OUT`.
pub async fn report_registered(
    state: &AppState,
    actor: &Actor,
    input: RegisteredInput,
) -> AppResult<SpinOut> {
    let txn = begin_write(&state.db).await?;
    let s = lock::<pool_spin_out::Entity>(&txn, input.spin_out_id)
        .await?
        .ok_or_else(|| access::not_found("spin-out", input.spin_out_id))?;
    visible(&txn, actor, &s).await?;
    require_founder(&txn, actor, &s).await?;
    let number =
        SingleLineText::<1, 64>::parse(&input.registration_number, "input.registrationNumber")
            .map_err(|e| AppError::Validation(vec![e]))?
            .into_inner();
    let name = match input.registered_name.as_deref() {
        Some(raw) => SingleLineText::<1, 200>::parse(raw, "input.registeredName")
            .map_err(|e| AppError::Validation(vec![e]))?
            .into_inner(),
        None => s.entity_name.clone(),
    };
    if s.status != SpinOutStatus::AwaitingRegistration {
        return Err(AppError::Conflict(
            "this spin-out has already been reported registered".into(),
        ));
    }
    let pool = lock::<pool::Entity>(&txn, s.pool_id)
        .await?
        .ok_or_else(|| access::not_found("pool", s.pool_id))?;
    if pool.status != PoolStatus::Active {
        return Err(AppError::Conflict(format!(
            "the pool is {}, so it cannot spin out now",
            status_name(pool.status)
        )));
    }
    let by = Author::from(actor);
    let entries = transfer_out(&txn, actor, &pool, &name, &number).await?;
    withdraw_open(&txn, &state.catalogue, &by, &pool).await?;
    let now = Utc::now();
    let before = pool.clone();
    let mut active: pool::ActiveModel = pool.into();
    active.status = Set(PoolStatus::SpunOut);
    active.status_reason = Set(Some(format!(
        "spun out into {name}, registration number {number}"
    )));
    active.status_changed_at = Set(Some(now));
    active.updated_at = Set(now);
    let after = active.update(&txn).await?;
    let mut done: pool_spin_out::ActiveModel = s.into();
    done.status = Set(SpinOutStatus::Registered);
    done.registration_number = Set(Some(number.clone()));
    done.registered_name = Set(Some(name));
    done.registered_at = Set(Some(now));
    done.registered_by = Set(Some(actor.user_id));
    let s = done.update(&txn).await?;
    // The step's one audit event: the pool spun out, with the transfers it
    // booked bound into it.
    let mut change = Change::new(Action::PoolSpunOut, "Pool", after.id)
        .in_pool(&after)
        .diff(&before, &after)
        .with("spinOutId", s.id.to_string())
        .with("registrationNumber", number);
    for entry in &entries {
        change = change.books(entry);
    }
    let event = audit::record(&txn, actor, change).await?;
    life_packs::seal(
        &txn,
        state,
        &after,
        after.parent_entity_id,
        LifeStep::SpunOut,
        &event,
    )
    .await?;
    // Collection ends with the pool: at Stripe by jobs, after the commit.
    contributions::collection::cancel_in_pool(&txn, after.id).await?;
    txn.commit().await?;
    Ok(s)
}

/// Only the pool's admins (its founders) speak for the new entity.
async fn require_founder(db: &impl ConnectionTrait, actor: &Actor, s: &SpinOut) -> AppResult<()> {
    let admin = active_membership(db, s.pool_id, actor.user_id)
        .await?
        .is_some_and(|m| m.role == MemberRole::Admin);
    if !admin {
        return Err(AppError::Forbidden(
            "only the pool's admins may act for the entity it spins out into".into(),
        ));
    }
    Ok(())
}

/// One entry per currency with a balance, of the opposite amount, so that
/// every balance is zero afterwards.
async fn transfer_out(
    db: &impl ConnectionTrait,
    actor: &Actor,
    pool: &pool::Model,
    name: &str,
    number: &str,
) -> AppResult<Vec<ledger_entry::Model>> {
    // Stored with microseconds on both databases, so digested the same way.
    let now = Utc::now().trunc_subsecs(6);
    let mut entries = Vec::new();
    for (currency, total) in balances(db, pool.id, false).await? {
        if total.0 == 0 {
            continue;
        }
        let amount = total
            .0
            .checked_neg()
            .and_then(|a| i64::try_from(a).ok())
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "the pool's {currency} balance is too large to transfer in one entry"
                ))
            })?;
        let entry = ledger_entry::ActiveModel {
            id: Set(Uuid::now_v7()),
            pool_id: Set(pool.id),
            kind: Set(LedgerKind::TransferOut),
            amount_minor: Set(amount),
            currency: Set(currency),
            reference: Set(number.to_owned()),
            description: Set(format!(
                "transferred to {name} (registration number {number}) as the pool spun out"
            )),
            expense_id: Set(None),
            recorded_by: Set(Some(actor.user_id)),
            occurred_at: Set(now),
            created_at: Set(now),
            category: Set(CATEGORY.to_owned()),
        }
        .insert(db)
        .await?;
        entries.push(entry);
    }
    Ok(entries)
}

/// Balance per currency, summed without overflow; without the transfers
/// out when `before_transfers` (what the new entity opens with).
async fn balances(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
    before_transfers: bool,
) -> AppResult<Vec<(String, MoneyTotal)>> {
    let mut q = Sql::default();
    let pool_param = q.bind(pool_id);
    let kind_filter = if before_transfers {
        let kind = q.bind("TRANSFER_OUT");
        format!(" AND kind <> {kind}")
    } else {
        String::new()
    };
    q.push(&format!(
        "SELECT currency, {balance} FROM ledger_entries WHERE pool_id = {pool_param}{kind_filter}
         GROUP BY currency ORDER BY currency",
        balance = money_sum("amount_minor", "balance"),
    ));
    let rows = q.all(db).await?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get("", "currency")?, money_total(r, "balance")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

/// What the new entity opens with, per currency: the pool's balances as of
/// now (once registered, what was transferred to it).
pub async fn opening_balances(
    state: &AppState,
    actor: &Actor,
    s: &SpinOut,
) -> AppResult<Vec<(String, MoneyTotal)>> {
    visible(&state.db, actor, s).await?;
    opening(&state.db, s).await
}

async fn opening(db: &impl ConnectionTrait, s: &SpinOut) -> AppResult<Vec<(String, MoneyTotal)>> {
    Ok(balances(db, s.pool_id, true)
        .await?
        .into_iter()
        .filter(|(_, total)| total.0 != 0)
        .collect())
}

/// The pool's rules with its current governance, under the chosen
/// standalone template and the new entity's name.
pub async fn adapted_rules(state: &AppState, actor: &Actor, s: &SpinOut) -> AppResult<String> {
    visible(&state.db, actor, s).await?;
    let (_, rules) = adapted(state, &state.db, s).await?;
    Ok(rules)
}

async fn adapted<'a>(
    state: &'a AppState,
    db: &impl ConnectionTrait,
    s: &SpinOut,
) -> AppResult<(&'a LegalTemplate, String)> {
    let template = state.catalogue.template(&s.legal_template_id).ok_or_else(|| {
        AppError::Conflict(format!(
            "the legal template `{}` is no longer in the catalogue, so the rules cannot be adapted to it",
            s.legal_template_id
        ))
    })?;
    let pool = find_pool(db, s.pool_id).await?;
    let parent = parent_entity::Entity::find_by_id(pool.parent_entity_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("pool without parent")))?;
    let facts = PoolFacts::of(db, &pool).await?;
    let mut governance = governance_of(&pool)?;
    // What the template decides, as a formation under it would have it.
    governance.asset_lock = template.asset_lock.unwrap_or(false);
    governance.voting_rule = if weights_differ(&facts.groups) {
        VotingRule::WeightedByGroup
    } else {
        template.voting_rule.unwrap_or(VotingRule::OneMemberOneVote)
    };
    let name = s.registered_name.as_deref().unwrap_or(&s.entity_name);
    Ok((
        template,
        render_rules(name, &parent.name, template, &governance),
    ))
}

/// The incorporation pack, signed with the platform's key exactly as the
/// audit pack is (the pool's admins and the parent's stewards and
/// auditors).
pub async fn incorporation_pack(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> AppResult<SignedPack> {
    let s = get(state, actor, id).await?;
    let audit_pack = pack::build(state, actor, s.pool_id).await?;
    let (template, rules) = adapted(state, &state.db, &s).await?;
    let register = pack::register_rows(&state.db, s.pool_id).await?;
    let balances: Vec<Value> = opening(&state.db, &s)
        .await?
        .into_iter()
        .map(
            |(currency, total)| json!({ "currency": currency, "amountMinor": total.0.to_string() }),
        )
        .collect();
    let document = json!({
        "format": PACK_FORMAT,
        "generatedAt": time(Some(Utc::now())),
        // Signed as the audit pack is, and said the same way.
        "signing": audit_pack["signing"].clone(),
        "spinOut": {
            "id": s.id, "poolId": s.pool_id, "proposalId": s.proposal_id, "status": s.status,
            "entityName": s.entity_name, "registrationNumber": s.registration_number,
            "registeredName": s.registered_name, "registeredAt": time(s.registered_at),
            "createdAt": time(Some(s.created_at)),
        },
        "legalTemplate": {
            "id": template.id, "version": s.legal_template_version, "name": template.name,
            "legalForm": template.legal_form, "jurisdiction": template.jurisdiction,
            "registeringAuthority": template.registering_authority,
            "citation": template.citation,
        },
        "rules": rules,
        "memberRegister": register,
        "openingBalances": balances,
        "auditPack": audit_pack,
    });
    pack::sign(state, &document)
}

/// Before a parent entity registers from a spin-out: only an admin of its
/// pool (`FORBIDDEN`; `NOT_FOUND` for who may not know it), and only once
/// registered and not yet linked (`CONFLICT`). Answers the spin-out.
async fn may_register_parent(
    db: &impl ConnectionTrait,
    actor: &Actor,
    s: Option<SpinOut>,
    id: Uuid,
) -> AppResult<SpinOut> {
    let s = s.ok_or_else(|| access::not_found("spin-out", id))?;
    visible(db, actor, &s).await?;
    require_founder(db, actor, &s).await?;
    if s.status != SpinOutStatus::Registered {
        return Err(AppError::Conflict(
            "the new entity registers on the platform once the spin-out is reported registered"
                .into(),
        ));
    }
    if s.parent_entity_id.is_some() {
        return Err(AppError::Conflict(
            "a parent entity has already registered from this spin-out".into(),
        ));
    }
    Ok(s)
}

/// The entity a pool spun out into registers on the platform as a parent
/// entity (an admin of the pool, who becomes its first steward), with the
/// registration number reported, and is linked to the spin-out. Who may is
/// decided before the input is read, and again under the spin-out's lock:
/// of two at once, one links.
pub async fn register_parent(
    state: &AppState,
    actor: &Actor,
    spin_out_id: Uuid,
    input: RegisterInput,
) -> AppResult<parent_entity::Model> {
    let found = pool_spin_out::Entity::find_by_id(spin_out_id)
        .one(&state.db)
        .await?;
    let s = may_register_parent(&state.db, actor, found, spin_out_id).await?;
    let reported = s.registration_number.clone().unwrap_or_default();
    parent_entities::register_linked(
        state,
        actor,
        input,
        Some(&reported),
        async |txn, parent_entity_id| {
            let locked = lock::<pool_spin_out::Entity>(txn, spin_out_id).await?;
            let s = may_register_parent(txn, actor, locked, spin_out_id).await?;
            let mut active: pool_spin_out::ActiveModel = s.into();
            active.parent_entity_id = Set(Some(parent_entity_id));
            let s = active.update(txn).await?;
            Ok(Some(("spunOutFrom", s.id.to_string())))
        },
    )
    .await
}
