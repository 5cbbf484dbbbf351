//! Expenses: submitted as proposals, paid by an admin once approved, and
//! written to the ledger when paid.

use chrono::{DateTime, SubsecRound, Utc};
use entities::{
    expense::{self, ExpenseStatus},
    ledger_entry::{self, LedgerKind},
    proposal::ProposalKind,
};
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::{Check, Currency, MinorAmount, MultiLineText, SingleLineText},
    error::{AppError, AppResult},
    services::{
        OnConflict,
        audit::{self, Action, Change},
        begin_write,
        ledger::parse_category,
        lock,
        membership::{
            find_pool, require_admin, require_another_admin, require_member, unless_inside,
        },
        proposals::{self, CreateInput},
    },
    state::AppState,
};

/// An expense's description: the proposal's body (at most 20,000
/// characters) holds it and a line with the amount and payee.
const MAX_DESCRIPTION_LEN: usize = 10_000;

pub struct SubmitInput {
    pub pool_id: Uuid,
    pub title: String,
    pub description: String,
    pub amount: i64,
    pub currency: String,
    pub payee: String,
    pub closes_at: Option<DateTime<Utc>>,
    pub category: Option<String>,
}

/// Submits an expense; it is put to the members as a proposal.
pub async fn submit(
    state: &AppState,
    actor: &Actor,
    input: SubmitInput,
) -> AppResult<expense::Model> {
    let txn = begin_write(&state.db).await?;
    let pool = find_pool(&txn, input.pool_id).await?;
    let member = require_member(&txn, &pool, actor.user_id).await?;
    crate::services::membership::sanctions::require_not_suspended(&txn, &member, "propose").await?;
    let mut check = Check::default();
    let currency = check.field(Currency::parse(&input.currency, "input.currency"));
    let payee = check.field(SingleLineText::<1, 200>::parse(&input.payee, "input.payee"));
    // Kept apart from the proposal's body, which adds the amount line, so
    // its limit leaves room for that line and its errors name this field.
    let description = check.field(MultiLineText::<0, MAX_DESCRIPTION_LEN>::parse(
        &input.description,
        "input.description",
    ));
    let amount = check.field(MinorAmount::parse_positive(input.amount, "input.amount"));
    let category = check.field(parse_category(
        input.category.as_deref(),
        "general",
        "input.category",
    ));
    let (Some(currency), Some(payee), Some(description), Some(amount), Some(category)) =
        (currency, payee, description, amount, category)
    else {
        return Err(check.into_error());
    };
    let (description, amount) = (description.into_inner(), amount.get());
    let body = format!(
        "{description}\n\nAmount: {} {} to {}.",
        crate::domain::format_minor(amount, currency.as_str()),
        currency.as_str(),
        payee.as_str()
    );
    let proposal = proposals::insert(
        &txn,
        &state.catalogue,
        &pool,
        &member,
        CreateInput {
            pool_id: pool.id,
            title: input.title.clone(),
            body,
            kind: ProposalKind::Expense,
            options: Vec::new(),
            closes_at: input.closes_at,
            quorum_percent: None,
            pass_threshold_percent: None,
            voting_rule: None,
            eligible_group_ids: None,
            rules_change: None,
            move_to: None,
            spin_out: None,
            dissolution: None,
            fund_application: None,
        },
    )
    .await?;
    let now = Utc::now();
    let expense = expense::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        proposal_id: Set(proposal.id),
        submitted_by_membership_id: Set(member.id),
        title: Set(proposal.title.clone()),
        description: Set(description),
        amount_minor: Set(amount),
        currency: Set(currency.into_inner()),
        payee: Set(payee.into_inner()),
        status: Set(ExpenseStatus::Proposed),
        paid_by_membership_id: Set(None),
        paid_at: Set(None),
        reference: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        category: Set(category),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ExpenseSubmitted, "Expense", expense.id)
            .in_pool(&pool)
            .created(&expense)
            .with("proposalId", proposal.id.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(expense)
}

/// Records an approved expense as paid (admins only, never the member who
/// submitted it) and writes its ledger entry.
pub async fn mark_paid(
    state: &AppState,
    actor: &Actor,
    expense_id: Uuid,
    reference: &str,
) -> AppResult<expense::Model> {
    let txn = begin_write(&state.db).await?;
    let expense = lock::<expense::Entity>(&txn, expense_id)
        .await?
        .ok_or_else(|| crate::auth::access::not_found("expense", expense_id))?;
    let pool = find_pool(&txn, expense.pool_id).await?;
    let admin = require_admin(&txn, &pool, actor.user_id).await;
    let admin = unless_inside(&txn, &pool, actor.user_id, "expense", expense_id, admin).await?;
    let reference = SingleLineText::<1, 200>::parse(reference, "input.reference")
        .map_err(|e| AppError::Validation(vec![e]))?;
    require_another_admin(
        &admin,
        expense.submitted_by_membership_id,
        "the member who submitted an expense cannot mark it paid; another admin must",
    )?;
    match expense.status {
        ExpenseStatus::Approved => {}
        ExpenseStatus::Paid => {
            return Err(AppError::Conflict("this expense is already paid".into()));
        }
        ExpenseStatus::Proposed => {
            return Err(AppError::Conflict(
                "this expense is still being voted on".into(),
            ));
        }
        ExpenseStatus::Rejected => {
            return Err(AppError::Conflict(
                "the members did not approve this expense".into(),
            ));
        }
    }
    // Stored with microseconds on both databases, so digested the same way.
    let now = Utc::now().trunc_subsecs(6);
    let reference = reference.into_inner();
    let entry = ledger_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool.id),
        kind: Set(LedgerKind::Expense),
        amount_minor: Set(-expense.amount_minor),
        currency: Set(expense.currency.clone()),
        reference: Set(reference.clone()),
        description: Set(format!("{} (paid to {})", expense.title, expense.payee)),
        expense_id: Set(Some(expense.id)),
        recorded_by: Set(Some(actor.user_id)),
        occurred_at: Set(now),
        created_at: Set(now),
        category: Set(expense.category.clone()),
    }
    .insert(&txn)
    .await
    .on_conflict(|| "this expense is already in the ledger".into())?;
    let before = expense.clone();
    let mut active: expense::ActiveModel = expense.into();
    active.status = Set(ExpenseStatus::Paid);
    active.paid_by_membership_id = Set(Some(admin.id));
    active.paid_at = Set(Some(now));
    active.reference = Set(Some(reference));
    active.updated_at = Set(now);
    let paid = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ExpensePaid, "Expense", paid.id)
            .in_pool(&pool)
            .diff(&before, &paid)
            .with("ledgerEntryId", entry.id.to_string())
            .books(&entry),
    )
    .await?;
    txn.commit().await?;
    Ok(paid)
}
