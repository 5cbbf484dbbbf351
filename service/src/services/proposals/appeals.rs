//! A suspended member's appeal: put to the members as a proposal, which
//! lifts the suspension if it passes (see `membership::sanctions`).

use entities::{membership::MembershipStatus, proposal};
use uuid::Uuid;

use crate::{
    auth::Actor,
    domain::MultiLineText,
    error::{AppError, AppResult},
    services::{
        audit::{self, Action, Change},
        begin_write,
        membership::{find_membership, find_pool, lock_pool, sanctions, unless_inside},
    },
    state::AppState,
};

use super::{CreateInput, insert};

/// The suspended member appeals once, with a statement to the members.
pub async fn appeal(
    state: &AppState,
    actor: &Actor,
    suspension_id: Uuid,
    statement: &str,
) -> AppResult<proposal::Model> {
    let txn = begin_write(&state.db).await?;
    let suspension = sanctions::find(&txn, suspension_id).await?;
    let pool = find_pool(&txn, suspension.pool_id).await?;
    let member = find_membership(&txn, suspension.membership_id).await?;
    let own = if member.user_id == Some(actor.user_id) && member.status == MembershipStatus::Active
    {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only the suspended member may appeal their suspension".into(),
        ))
    };
    unless_inside(&txn, &pool, actor.user_id, "suspension", suspension.id, own).await?;
    let statement = MultiLineText::<1, 10_000>::parse(statement, "statement")
        .map_err(|e| AppError::Validation(vec![e]))?;
    lock_pool(&txn, pool.id).await?;
    if !suspension.in_force(chrono::Utc::now()) {
        return Err(AppError::Conflict(
            "this suspension has already ended".into(),
        ));
    }
    let body = format!(
        "{}\n\nThe suspension, until {}, was for this reason: {}\n\nAgreeing lifts the suspension now.",
        statement.as_str(),
        suspension.ends_at.to_rfc3339(),
        suspension.reason
    );
    let proposal = insert(
        &txn,
        &state.catalogue,
        &pool,
        &member,
        CreateInput {
            pool_id: pool.id,
            title: format!("Appeal: lift the suspension of {}", member.display_name),
            body,
            kind: entities::proposal::ProposalKind::Appeal,
            options: Vec::new(),
            closes_at: None,
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
    sanctions::record_appeal(&txn, &suspension, proposal.id).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::MemberAppealed, "Member", member.id)
            .in_pool(&pool)
            .with("suspensionId", suspension.id.to_string())
            .with("proposalId", proposal.id.to_string()),
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ProposalCreated, "Proposal", proposal.id)
            .in_pool(&pool)
            .created(&proposal),
    )
    .await?;
    txn.commit().await?;
    Ok(proposal)
}
