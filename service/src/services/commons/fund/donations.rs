//! Donations into the commons fund, recorded by the parent's stewards.

use chrono::{DateTime, Utc};
use entities::{ledger_entry::LedgerKind, parent_ledger_entry};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::{Check, Currency, MinorAmount, MultiLineText, SingleLineText},
    error::{AppResult, FieldError},
    services::{
        audit::{self, Action, Change},
        begin_write,
        commons::ledger::{Movement, book},
        parent_entities::lock_parent,
    },
    state::AppState,
};

pub struct DonationInput {
    pub parent_entity_id: Uuid,
    pub amount: i64,
    pub currency: String,
    /// Who gave it, as they wish to be named.
    pub donor: String,
    pub description: String,
    /// When it was received; now when not given, never in the future.
    pub received_at: Option<DateTime<Utc>>,
}

/// A steward records a donation received into the fund.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    input: DonationInput,
) -> AppResult<parent_ledger_entry::Model> {
    let txn = begin_write(&state.db).await?;
    lock_parent(&txn, input.parent_entity_id).await?;
    permissions::require_steward(&txn, input.parent_entity_id, actor.user_id).await?;
    let mut check = Check::default();
    let amount = check.field(MinorAmount::parse_positive(input.amount, "input.amount"));
    let currency = check.field(Currency::parse(&input.currency, "input.currency"));
    let donor = check.field(SingleLineText::<1, 200>::parse(&input.donor, "input.donor"));
    let description = check.field(MultiLineText::<0, 2000>::parse(
        &input.description,
        "input.description",
    ));
    let now = Utc::now();
    if input.received_at.is_some_and(|t| t > now) {
        check.field::<()>(Err(FieldError::new(
            "input.receivedAt",
            "must not be in the future",
        )));
    }
    let (Some(amount), Some(currency), Some(donor), Some(description)) =
        (amount, currency, donor, description)
    else {
        return Err(check.into_error());
    };
    if !check.is_empty() {
        return Err(check.into_error());
    }
    let description = description.into_inner();
    let booked = book(
        &txn,
        Movement {
            parent_entity_id: input.parent_entity_id,
            pool: None,
            kind: LedgerKind::Donation,
            amount_minor: amount.get(),
            currency: currency.as_str().to_owned(),
            category: "donations".into(),
            reference: format!("donation from {}", donor.as_str()),
            description: if description.is_empty() {
                format!("Donation from {}", donor.as_str())
            } else {
                description
            },
            recorded_by: Some(actor.user_id),
            occurred_at: input.received_at.unwrap_or(now),
        },
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(
            Action::FundDonationRecorded,
            "ParentLedgerEntry",
            booked.parent.id,
        )
        .in_parent(input.parent_entity_id)
        .created(&booked.parent),
    )
    .await?;
    txn.commit().await?;
    Ok(booked.parent)
}
