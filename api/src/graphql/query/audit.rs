use async_graphql::{Context, ID, Object, Result};

use crate::{
    graphql::{
        connection::{Conn, connection, page_complexity},
        context::Ctx,
        ids::uuid,
        types::{AuditCheckpointInput, AuditEvent, AuditEventsInput, AuditTrailVerification},
    },
    services::{
        audit::chain::Checkpoint,
        audit_trail::{self, AuditFilter},
        pagination::PageRequest,
    },
};

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit trail of a parent entity (its stewards and auditors) or of
    /// one pool (also its admins), oldest first; `last` gives the newest.
    #[graphql(complexity = "page_complexity(first, last, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        input: AuditEventsInput,
        #[graphql(
            desc = "Rows from the start, or after `after`: 1 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor from this list (an edge's `cursor`); the page starts after it."
        )]
        after: Option<String>,
        #[graphql(desc = "Rows from the end, or before `before`: 1 to 100; not with `first`.")]
        last: Option<i32>,
        #[graphql(desc = "A cursor from this list (an edge's `cursor`); the page ends before it.")]
        before: Option<String>,
    ) -> Result<Conn<AuditEvent>> {
        let c = Ctx::of(ctx)?;
        let filter = AuditFilter::try_from(input)?;
        let page = PageRequest::parse(first, after, last, before)?;
        let page = audit_trail::list(c.state, c.actor().await?, filter, page).await?;
        Ok(connection(page, |e| e.id, AuditEvent::from))
    }

    /// Walks a parent entity's audit chain and reports the first broken
    /// link (stewards and auditors). From its start, or `since` a
    /// checkpoint an earlier verification returned: a long chain is then
    /// verified in parts, each walk checking only what came after.
    ///
    /// Its pools' ledgers are checked against the events that recorded
    /// them beside it, every entry at its row, up to 100,000 entries an
    /// answer; `ledgerAfter` (a `ledger.resumeAfter` from an earlier answer)
    /// goes on with the pools after that one.
    async fn verify_audit_trail(
        &self,
        ctx: &Context<'_>,
        parent_entity_id: ID,
        since: Option<AuditCheckpointInput>,
        ledger_after: Option<ID>,
    ) -> Result<AuditTrailVerification> {
        let c = Ctx::of(ctx)?;
        let id = uuid!(parent_entity_id)?;
        let ledger_after = uuid!(ledger_after)?;
        let since = since.map(|s| Checkpoint {
            seq: s.seq,
            hash: s.hash,
        });
        Ok(
            audit_trail::verify(c.state, c.actor().await?, id, since, ledger_after)
                .await?
                .into(),
        )
    }
}
