//! A `DISSOLUTION` proposal: the members decide to dissolve the pool and
//! where its remaining funds go (the parent, another co-op, or the members
//! where no asset lock applies). Once it passes, the dissolution waits for
//! the parent's consent where its policy asks for it, then the pool winds
//! up (see [`wind_up`]); the rest of its life is `services::dissolutions`.

use std::collections::HashMap;

use chrono::{SubsecRound, Utc};
use entities::{
    membership::{self, MembershipStatus},
    parent_entity, pool,
    pool::PoolStatus,
    pool_dissolution::{self, DissolutionStatus, Model as Dissolution, Recipient},
    pool_distribution::{self, DistributionStatus},
    pool_life_pack::LifeStep,
    proposal::{self, Outcome, ProposalKind, ProposalStatus},
    user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    domain::{Check, Jurisdiction, MoneyTotal, SingleLineText},
    error::{AppError, AppResult, FieldError},
    services::{
        audit::{self, Action, Author, Change},
        contributions, ledger, life_packs, lock,
        membership::lock_pool,
        notifications::{self, StewardTask},
        pool_standing::status_name,
        provisioning,
        rules::governance_of,
    },
    state::AppState,
};

use super::{closing::withdraw_open, spin_out::refuse_while_spinning_out};

/// Where the choice is named in `createProposal`'s input.
pub const RECIPIENT_PATH: &str = "input.dissolution.recipient";
pub const COOP_PATH: &str = "input.dissolution.coop";

/// The co-op the remaining funds go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coop {
    pub name: String,
    pub registration_number: String,
    pub jurisdiction: String,
}

/// What a `DISSOLUTION` proposal decides.
#[derive(Clone, Debug)]
pub struct DissolutionChoice {
    pub recipient: Recipient,
    pub coop: Option<Coop>,
}

/// The recipient's name as stored on the proposal.
pub fn recipient_name(r: Recipient) -> &'static str {
    match r {
        Recipient::Parent => "PARENT",
        Recipient::Coop => "COOP",
        Recipient::Members => "MEMBERS",
    }
}

fn parse_recipient(stored: &str) -> Option<Recipient> {
    [Recipient::Parent, Recipient::Coop, Recipient::Members]
        .into_iter()
        .find(|r| recipient_name(*r) == stored)
}

/// The choice a proposal stored, if it is a dissolution.
pub fn choice_of(p: &proposal::Model) -> Option<DissolutionChoice> {
    let recipient = parse_recipient(p.dissolution_recipient.as_deref()?)?;
    let coop = match (
        &p.dissolution_coop_name,
        &p.dissolution_coop_number,
        &p.dissolution_coop_jurisdiction,
    ) {
        (Some(name), Some(number), Some(jurisdiction)) => Some(Coop {
            name: name.clone(),
            registration_number: number.clone(),
            jurisdiction: jurisdiction.clone(),
        }),
        _ => None,
    };
    Some(DissolutionChoice { recipient, coop })
}

/// Checks a `DISSOLUTION` proposal's choice against the pool's rules:
/// `VALIDATION` for funds to members under an asset lock, a co-op missing
/// or given where it does not belong, and each bad field of the co-op;
/// `CONFLICT` while another dissolution or a spin-out is under way.
/// Answers the choice as stored (trimmed).
pub async fn check(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    choice: DissolutionChoice,
) -> AppResult<DissolutionChoice> {
    let governance = governance_of(pool)?;
    let mut check = Check::default();
    if choice.recipient == Recipient::Members && governance.asset_lock {
        check.field::<()>(Err(FieldError::new(
            RECIPIENT_PATH,
            "the pool's rules lock its assets: on dissolution they go to the parent entity or to another co-op, never to the members",
        )));
    }
    let coop = match (choice.recipient, choice.coop) {
        (Recipient::Coop, Some(c)) => {
            let name = check.field(SingleLineText::<1, 200>::parse(
                &c.name,
                &format!("{COOP_PATH}.name"),
            ));
            let number = check.field(SingleLineText::<1, 64>::parse(
                &c.registration_number,
                &format!("{COOP_PATH}.registrationNumber"),
            ));
            let jurisdiction = check.field(Jurisdiction::parse(
                &c.jurisdiction,
                &format!("{COOP_PATH}.jurisdiction"),
            ));
            match (name, number, jurisdiction) {
                (Some(n), Some(r), Some(j)) => Some(Coop {
                    name: n.into_inner(),
                    registration_number: r.into_inner(),
                    jurisdiction: j.into_inner(),
                }),
                _ => None,
            }
        }
        (Recipient::Coop, None) => {
            check.field::<()>(Err(FieldError::new(
                COOP_PATH,
                "name the co-op the remaining funds go to",
            )));
            None
        }
        (_, Some(_)) => {
            check.field::<()>(Err(FieldError::new(
                COOP_PATH,
                "only a dissolution whose funds go to another co-op names one",
            )));
            None
        }
        (_, None) => None,
    };
    if !check.is_empty() {
        return Err(check.into_error());
    }
    // One at a time: two proposals made at once see each other.
    lock_pool(db, pool.id).await?;
    refuse_while_dissolving(db, pool.id).await?;
    refuse_while_spinning_out(db, pool.id).await?;
    Ok(DissolutionChoice {
        recipient: choice.recipient,
        coop,
    })
}

/// `CONFLICT` while a `DISSOLUTION` proposal is open or a dissolution
/// waits for consent or winds up: then no move, spin-out or second
/// dissolution may start.
pub async fn refuse_while_dissolving(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<()> {
    if under_way(db, pool_id).await?.is_some() {
        return Err(AppError::Conflict(
            "the pool is being dissolved: its members decided it".into(),
        ));
    }
    let open = proposal::Entity::find()
        .filter(proposal::Column::PoolId.eq(pool_id))
        .filter(proposal::Column::Kind.eq(ProposalKind::Dissolution))
        .filter(proposal::Column::Status.eq(ProposalStatus::Open))
        .one(db)
        .await?;
    if open.is_some() {
        return Err(AppError::Conflict(
            "a dissolution proposal is already open in this pool".into(),
        ));
    }
    Ok(())
}

/// The pool's dissolution waiting for consent or winding up, if any.
pub async fn under_way(db: &impl ConnectionTrait, pool_id: Uuid) -> AppResult<Option<Dissolution>> {
    Ok(pool_dissolution::Entity::find()
        .filter(pool_dissolution::Column::PoolId.eq(pool_id))
        .filter(pool_dissolution::Column::Status.is_in([
            DissolutionStatus::AwaitingConsent,
            DissolutionStatus::WindingUp,
        ]))
        .one(db)
        .await?)
}

/// When a `DISSOLUTION` proposal passes (in the transaction that counts
/// it): the dissolution waits for the parent's consent where its policy
/// asks for it, and winds the pool up at once otherwise. A pool that is no
/// longer active, or already dissolving, starts nothing.
pub async fn on_closed(
    txn: &DatabaseTransaction,
    state: &AppState,
    by: &Author,
    p: &proposal::Model,
    outcome: Outcome,
) -> AppResult<()> {
    let (ProposalKind::Dissolution, Outcome::Passed, Some(choice)) =
        (p.kind, outcome, choice_of(p))
    else {
        return Ok(());
    };
    let pool = lock::<pool::Entity>(txn, p.pool_id)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("proposal without pool")))?;
    if pool.status != PoolStatus::Active || under_way(txn, pool.id).await?.is_some() {
        return Ok(());
    }
    let parent = parent_entity::Entity::find_by_id(pool.parent_entity_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("pool without parent")))?;
    let needs_consent = parent.dissolutions_need_consent;
    // The rules may have locked the assets while the members voted: then
    // the funds cannot go as they chose, and the dissolution is refused
    // by the rules themselves.
    let locked_out = choice.recipient == Recipient::Members && governance_of(&pool)?.asset_lock;
    let coop = choice.coop.clone();
    let d = pool_dissolution::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        proposal_id: Set(p.id),
        parent_entity_id: Set(pool.parent_entity_id),
        status: Set(if locked_out {
            DissolutionStatus::Refused
        } else {
            DissolutionStatus::AwaitingConsent
        }),
        recipient: Set(choice.recipient),
        coop_name: Set(coop.as_ref().map(|c| c.name.clone())),
        coop_registration_number: Set(coop.as_ref().map(|c| c.registration_number.clone())),
        coop_jurisdiction: Set(coop.as_ref().map(|c| c.jurisdiction.clone())),
        needs_consent: Set(needs_consent),
        decided_by: Set(None),
        decided_at: Set(None),
        refusal_reason: Set(locked_out.then(|| {
            "the pool's rules came to lock its assets while the members voted, so they cannot go to the members".to_owned()
        })),
        final_balances: Set(None),
        started_at: Set(None),
        completed_by: Set(None),
        completed_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    audit::record(
        txn,
        by.clone(),
        Change::new(Action::PoolDissolutionDecided, "Pool", pool.id)
            .in_pool(&pool)
            .with("dissolutionId", d.id.to_string())
            .with("proposalId", p.id.to_string())
            .with("recipient", recipient_name(d.recipient))
            .with("needsConsent", needs_consent),
    )
    .await?;
    if locked_out {
        return Ok(());
    }
    if needs_consent {
        notifications::stewards_asked(
            txn,
            parent.id,
            StewardTask::Dissolution {
                dissolution_id: d.id,
            },
        )
        .await?;
        return Ok(());
    }
    wind_up(txn, state, by, d).await?;
    Ok(())
}

/// The pool winds up, in the caller's transaction: it is `DISSOLVING`, its
/// open proposals are withdrawn, its contributions canceled (at Stripe by
/// jobs), its apps deprovisioned (by signed requests to their operators,
/// retried), its final accounts drawn up and its remaining funds
/// distributed to the recipient, each distribution waiting for a steward
/// to confirm it paid. `CONFLICT` when the pool is no longer active.
pub async fn wind_up(
    txn: &DatabaseTransaction,
    state: &AppState,
    by: &Author,
    d: Dissolution,
) -> AppResult<Dissolution> {
    let pool = lock::<pool::Entity>(txn, d.pool_id)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("dissolution without pool")))?;
    if pool.status != PoolStatus::Active {
        return Err(AppError::Conflict(format!(
            "the pool is {}, so it cannot be wound up now",
            status_name(pool.status)
        )));
    }
    let now = Utc::now();
    let before = pool.clone();
    let mut active: pool::ActiveModel = pool.into();
    active.status = Set(PoolStatus::Dissolving);
    active.status_reason = Set(Some("its members decided to dissolve it".into()));
    active.status_changed_at = Set(Some(now));
    active.updated_at = Set(now);
    let after = active.update(txn).await?;
    let withdrawn = withdraw_open(txn, &state.catalogue, by, &after).await?;
    let canceled = contributions::collection::cancel_in_pool(txn, after.id).await?;
    let deprovisioned = provisioning::deprovision_pool(txn, after.id).await?;
    let balances = ledger::balances_of(txn, after.id).await?;
    let distributions = draw_distributions(txn, &after, &d, &balances).await?;
    let final_balances: Vec<Value> = balances
        .iter()
        .map(
            |(currency, total)| json!({ "currency": currency, "amountMinor": total.0.to_string() }),
        )
        .collect();
    let mut winding: pool_dissolution::ActiveModel = d.into();
    winding.status = Set(DissolutionStatus::WindingUp);
    winding.final_balances = Set(Some(Value::from(final_balances)));
    winding.started_at = Set(Some(now));
    let d = winding.update(txn).await?;
    let event = audit::record(
        txn,
        by.clone(),
        Change::new(Action::PoolDissolving, "Pool", after.id)
            .in_pool(&after)
            .diff(&before, &after)
            .with("dissolutionId", d.id.to_string())
            .with("recipient", recipient_name(d.recipient))
            .with("proposalsWithdrawn", withdrawn as i64)
            .with("contributionsCanceled", canceled as i64)
            .with("appsDeprovisioned", deprovisioned as i64)
            .with("distributions", distributions as i64),
    )
    .await?;
    life_packs::seal(
        txn,
        state,
        &after,
        after.parent_entity_id,
        LifeStep::Dissolving,
        &event,
    )
    .await?;
    let members: Vec<Uuid> = active_members(txn, after.id)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    notifications::pool_dissolving(txn, after.id, &members).await?;
    Ok(d)
}

async fn active_members(
    db: &impl ConnectionTrait,
    pool_id: Uuid,
) -> AppResult<Vec<membership::Model>> {
    Ok(membership::Entity::find()
        .filter(membership::Column::PoolId.eq(pool_id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .order_by_asc(membership::Column::Id)
        .all(db)
        .await?)
}

/// One distribution per currency with funds left (per member and currency
/// for `MEMBERS`, in equal shares, the indivisible minor units to the
/// earliest members). A deficit distributes nothing: it shows in the final
/// accounts. Answers how many were drawn up.
async fn draw_distributions(
    db: &impl ConnectionTrait,
    pool: &pool::Model,
    d: &Dissolution,
    balances: &[(String, MoneyTotal)],
) -> AppResult<usize> {
    // Stored with microseconds on both databases.
    let now = Utc::now().trunc_subsecs(6);
    let recipients: Vec<(String, Option<Uuid>)> = match d.recipient {
        Recipient::Parent => {
            let parent = parent_entity::Entity::find_by_id(pool.parent_entity_id)
                .one(db)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("pool without parent")))?;
            vec![(parent.name, None)]
        }
        Recipient::Coop => vec![(d.coop_name.clone().unwrap_or_default(), None)],
        Recipient::Members => {
            let members = active_members(db, pool.id).await?;
            // Every name in one query, however many members.
            let names: HashMap<Uuid, String> = user::Entity::find()
                .filter(user::Column::Id.is_in(members.iter().filter_map(|m| m.user_id)))
                .all(db)
                .await?
                .into_iter()
                .map(|u| (u.id, u.display_name))
                .collect();
            members
                .iter()
                .map(|m| {
                    let name = m.user_id.and_then(|id| names.get(&id).cloned());
                    (name.unwrap_or_else(|| "a member".into()), Some(m.id))
                })
                .collect()
        }
    };
    let mut drawn = 0;
    for (currency, total) in balances {
        if total.0 <= 0 || recipients.is_empty() {
            continue;
        }
        for ((name, membership_id), amount) in
            recipients.iter().zip(shares(total.0, recipients.len()))
        {
            if amount == 0 {
                continue;
            }
            let amount = i64::try_from(amount).map_err(|_| {
                AppError::Conflict(format!(
                    "the pool's {currency} balance is too large to distribute in one payment"
                ))
            })?;
            pool_distribution::ActiveModel {
                id: Set(Uuid::now_v7()),
                dissolution_id: Set(d.id),
                pool_id: Set(pool.id),
                currency: Set(currency.clone()),
                amount_minor: Set(amount),
                recipient_kind: Set(d.recipient),
                recipient_name: Set(name.clone()),
                membership_id: Set(*membership_id),
                status: Set(DistributionStatus::Pending),
                reference: Set(None),
                ledger_entry_id: Set(None),
                paid_by: Set(None),
                paid_at: Set(None),
                created_at: Set(now),
            }
            .insert(db)
            .await?;
            drawn += 1;
        }
    }
    Ok(drawn)
}

/// `total` split into `n` shares as equal as minor units allow, the
/// larger ones first; they add up to `total`.
pub fn shares(total: i128, n: usize) -> Vec<i128> {
    let Ok(count) = i128::try_from(n) else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    let (each, rest) = (total / count, total % count);
    (0..count).map(|i| each + i128::from(i < rest)).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::shares;

    #[test]
    fn the_indivisible_units_go_to_the_first() {
        assert_eq!(shares(10, 3), vec![4, 3, 3]);
        assert_eq!(shares(2, 3), vec![1, 1, 0]);
        assert_eq!(shares(9, 3), vec![3, 3, 3]);
        assert!(shares(5, 0).is_empty());
    }

    proptest! {
        #[test]
        fn shares_add_up_and_differ_by_one_at_most(total in 0i128..1_000_000_000_000, n in 1usize..500) {
            let s = shares(total, n);
            prop_assert_eq!(s.len(), n);
            prop_assert_eq!(s.iter().sum::<i128>(), total);
            let (min, max) = (s.iter().min().copied().unwrap_or(0), s.iter().max().copied().unwrap_or(0));
            prop_assert!(max - min <= 1);
        }
    }
}
