//! Objects found by id alone (Relay's `node`): what kind of object an id
//! names, and who may see it. Ids are UUIDv7s, unique across tables, so
//! one statement over the tables tells the kind.

use std::collections::HashMap;

use entities::{
    access_token, app_provisioner, application, audit_event, contribution, delegation, expense,
    formation, invitation, ledger_entry, membership, parent_entity, parent_entity_role,
    payment_reconciliation_finding, pool, pool_app, pool_spin_out, proposal, sliding_scale,
    stakeholder_group, user, vote, webhook_delivery, webhook_endpoint, work_contribution,
};
use sea_orm::{
    ConnectionTrait, EntityTrait,
    sea_query::{Alias, Expr, Query, SelectStatement, UnionType},
};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    error::{AppError, AppResult},
    services::{
        membership::{require_admin_reader, require_reader_as},
        one_of,
    },
    state::AppState,
};

/// Most ids one `nodes` call resolves.
pub const MAX_IDS: usize = 100;

/// The kinds of object `node` resolves, by the table that holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    User,
    ParentEntity,
    ParentEntityRole,
    Formation,
    Pool,
    StakeholderGroup,
    PoolApp,
    SlidingScale,
    Member,
    Invitation,
    MembershipApplication,
    Proposal,
    Vote,
    Delegation,
    Expense,
    LedgerEntry,
    Contribution,
    ApiToken,
    WebhookEndpoint,
    WebhookDelivery,
    AuditEvent,
    AppProvisioner,
    PaymentReconciliationFinding,
    SpinOut,
    WorkContribution,
}

impl NodeKind {
    const ALL: [NodeKind; 25] = [
        NodeKind::User,
        NodeKind::ParentEntity,
        NodeKind::ParentEntityRole,
        NodeKind::Formation,
        NodeKind::Pool,
        NodeKind::StakeholderGroup,
        NodeKind::PoolApp,
        NodeKind::SlidingScale,
        NodeKind::Member,
        NodeKind::Invitation,
        NodeKind::MembershipApplication,
        NodeKind::Proposal,
        NodeKind::Vote,
        NodeKind::Delegation,
        NodeKind::Expense,
        NodeKind::LedgerEntry,
        NodeKind::Contribution,
        NodeKind::ApiToken,
        NodeKind::WebhookEndpoint,
        NodeKind::WebhookDelivery,
        NodeKind::AuditEvent,
        NodeKind::AppProvisioner,
        NodeKind::PaymentReconciliationFinding,
        NodeKind::SpinOut,
        NodeKind::WorkContribution,
    ];

    /// The tag the lookup selects: the GraphQL type's name.
    fn tag(self) -> &'static str {
        match self {
            NodeKind::User => "User",
            NodeKind::ParentEntity => "ParentEntity",
            NodeKind::ParentEntityRole => "ParentEntityRole",
            NodeKind::Formation => "Formation",
            NodeKind::Pool => "Pool",
            NodeKind::StakeholderGroup => "StakeholderGroup",
            NodeKind::PoolApp => "PoolApp",
            NodeKind::SlidingScale => "SlidingScale",
            NodeKind::Member => "Member",
            NodeKind::Invitation => "Invitation",
            NodeKind::MembershipApplication => "MembershipApplication",
            NodeKind::Proposal => "Proposal",
            NodeKind::Vote => "Vote",
            NodeKind::Delegation => "Delegation",
            NodeKind::Expense => "Expense",
            NodeKind::LedgerEntry => "LedgerEntry",
            NodeKind::Contribution => "Contribution",
            NodeKind::ApiToken => "ApiToken",
            NodeKind::WebhookEndpoint => "WebhookEndpoint",
            NodeKind::WebhookDelivery => "WebhookDelivery",
            NodeKind::AuditEvent => "AuditEvent",
            NodeKind::AppProvisioner => "AppProvisioner",
            NodeKind::PaymentReconciliationFinding => "PaymentReconciliationFinding",
            NodeKind::SpinOut => "SpinOut",
            NodeKind::WorkContribution => "WorkContribution",
        }
    }

    /// `SELECT id, '<tag>' AS kind FROM <table> WHERE id IN (ids)`.
    fn lookup(self, db: &impl ConnectionTrait, ids: &[Uuid]) -> SelectStatement {
        fn from<E: EntityTrait>(
            db: &impl ConnectionTrait,
            column: E::Column,
            tag: &'static str,
            ids: &[Uuid],
        ) -> SelectStatement {
            Query::select()
                .column(column)
                .expr_as(Expr::val(tag), Alias::new("kind"))
                .from(E::default())
                .and_where(one_of(db.get_database_backend(), column, ids))
                .to_owned()
        }
        let tag = self.tag();
        match self {
            NodeKind::User => from::<user::Entity>(db, user::Column::Id, tag, ids),
            NodeKind::ParentEntity => {
                from::<parent_entity::Entity>(db, parent_entity::Column::Id, tag, ids)
            }
            NodeKind::ParentEntityRole => {
                from::<parent_entity_role::Entity>(db, parent_entity_role::Column::Id, tag, ids)
            }
            NodeKind::Formation => from::<formation::Entity>(db, formation::Column::Id, tag, ids),
            NodeKind::Pool => from::<pool::Entity>(db, pool::Column::Id, tag, ids),
            NodeKind::StakeholderGroup => {
                from::<stakeholder_group::Entity>(db, stakeholder_group::Column::Id, tag, ids)
            }
            NodeKind::PoolApp => from::<pool_app::Entity>(db, pool_app::Column::Id, tag, ids),
            NodeKind::SlidingScale => {
                from::<sliding_scale::Entity>(db, sliding_scale::Column::Id, tag, ids)
            }
            NodeKind::Member => from::<membership::Entity>(db, membership::Column::Id, tag, ids),
            NodeKind::Invitation => {
                from::<invitation::Entity>(db, invitation::Column::Id, tag, ids)
            }
            NodeKind::MembershipApplication => {
                from::<application::Entity>(db, application::Column::Id, tag, ids)
            }
            NodeKind::Proposal => from::<proposal::Entity>(db, proposal::Column::Id, tag, ids),
            NodeKind::Vote => from::<vote::Entity>(db, vote::Column::Id, tag, ids),
            NodeKind::Delegation => {
                from::<delegation::Entity>(db, delegation::Column::Id, tag, ids)
            }
            NodeKind::Expense => from::<expense::Entity>(db, expense::Column::Id, tag, ids),
            NodeKind::LedgerEntry => {
                from::<ledger_entry::Entity>(db, ledger_entry::Column::Id, tag, ids)
            }
            NodeKind::Contribution => {
                from::<contribution::Entity>(db, contribution::Column::Id, tag, ids)
            }
            NodeKind::ApiToken => {
                from::<access_token::Entity>(db, access_token::Column::Id, tag, ids)
            }
            NodeKind::WebhookEndpoint => {
                from::<webhook_endpoint::Entity>(db, webhook_endpoint::Column::Id, tag, ids)
            }
            NodeKind::WebhookDelivery => {
                from::<webhook_delivery::Entity>(db, webhook_delivery::Column::Id, tag, ids)
            }
            NodeKind::AuditEvent => {
                from::<audit_event::Entity>(db, audit_event::Column::Id, tag, ids)
            }
            NodeKind::AppProvisioner => {
                from::<app_provisioner::Entity>(db, app_provisioner::Column::Id, tag, ids)
            }
            NodeKind::PaymentReconciliationFinding => {
                from::<payment_reconciliation_finding::Entity>(
                    db,
                    payment_reconciliation_finding::Column::Id,
                    tag,
                    ids,
                )
            }
            NodeKind::SpinOut => {
                from::<pool_spin_out::Entity>(db, pool_spin_out::Column::Id, tag, ids)
            }
            NodeKind::WorkContribution => {
                from::<work_contribution::Entity>(db, work_contribution::Column::Id, tag, ids)
            }
        }
    }
}

/// What each of `ids` names, in the order given: its UUID and kind, or
/// `None` for one that is not an id of this API or names nothing. One
/// statement (a UNION ALL over the tables) for all of them; at most
/// [`MAX_IDS`].
pub async fn find(state: &AppState, ids: &[&str]) -> AppResult<Vec<Option<(Uuid, NodeKind)>>> {
    if ids.len() > MAX_IDS {
        return Err(AppError::invalid(
            "ids",
            format!("give at most {MAX_IDS} ids"),
        ));
    }
    let parsed: Vec<Option<Uuid>> = ids.iter().map(|id| Uuid::parse_str(id).ok()).collect();
    let known: Vec<Uuid> = parsed.iter().flatten().copied().collect();
    let kinds = kinds(&state.db, &known).await?;
    Ok(parsed
        .into_iter()
        .map(|id| id.and_then(|id| kinds.get(&id).map(|kind| (id, *kind))))
        .collect())
}

async fn kinds(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<HashMap<Uuid, NodeKind>> {
    let mut all = NodeKind::ALL.iter();
    let (false, Some(first)) = (ids.is_empty(), all.next()) else {
        return Ok(HashMap::new());
    };
    let mut union = first.lookup(db, ids);
    for kind in all {
        union.union(UnionType::All, kind.lookup(db, ids));
    }
    let by_tag: HashMap<&str, NodeKind> = NodeKind::ALL.iter().map(|k| (k.tag(), *k)).collect();
    let mut found = HashMap::new();
    for row in db.query_all(&union).await? {
        let id: Uuid = row.try_get("", "id")?;
        let tag: String = row.try_get("", "kind")?;
        if let Some(kind) = by_tag.get(tag.as_str()) {
            found.insert(id, *kind);
        }
    }
    Ok(found)
}

/// Who sees an object found by id, by its kind: the rule its own query
/// field (or the list that shows it) applies.
pub enum Audience<'a> {
    /// Everyone: parent entities, pools and what a pool shows the public
    /// (its groups, apps and scales).
    Public,
    /// The pool's members and the parent's stewards and auditors.
    Inside(&'a pool::Model),
    /// Those inside the pool, and the person the object is (their own
    /// membership, kept after they left).
    InsideOrPerson(&'a pool::Model, Option<Uuid>),
    /// The pool's admins and the parent's stewards and auditors, and the
    /// person the object is about (an applicant, a contributor).
    AdminsOrPerson(&'a pool::Model, Option<Uuid>),
    /// The pool's admins and the parent's overseers, and whoever signs in
    /// with the email an invitation was sent to.
    AdminsOrInvitee(&'a pool::Model, &'a str),
    /// The parent's stewards and auditors, and the person a role at it is
    /// held by or was offered to (by email).
    ParentOrPerson {
        parent_entity_id: Uuid,
        person: Option<Uuid>,
        email: &'a str,
    },
    /// The person alone.
    Person(Uuid),
    /// The owner of an API token, signed in with a session.
    ApiToken(&'a access_token::Model),
    /// Those who read a webhook endpoint: for a parent's, its stewards and
    /// auditors; for a pool's, its admins and the parent's overseers.
    Endpoint(&'a webhook_endpoint::Model),
    /// Those who read the trail an audit event is in: the parent's
    /// stewards and auditors, and for a pool's event its admins.
    AuditTrail(&'a audit_event::Model),
    /// The parent's stewards (an app's provisioner, which they set).
    Stewards(Uuid),
    /// The parent's stewards and auditors (its own reconciliation
    /// findings).
    Overseers(Uuid),
}

/// Whether `actor` (`None`: an anonymous caller) sees an object meant for
/// `audience`. A refusal is `false`, never an error: `node` answers null
/// alike for what does not exist and what the caller may not see.
pub async fn sees(
    state: &AppState,
    actor: Option<&Actor>,
    audience: Audience<'_>,
) -> AppResult<bool> {
    let Some(actor) = actor else {
        return Ok(matches!(audience, Audience::Public));
    };
    let refused_is_false = |checked: AppResult<()>| match checked {
        Ok(()) => Ok(true),
        Err(AppError::Forbidden(_)) => Ok(false),
        Err(other) => Err(other),
    };
    let db = &state.db;
    let admins = "only the pool's admins see this";
    match audience {
        Audience::Public => Ok(true),
        Audience::Person(person) => Ok(person == actor.user_id),
        Audience::ApiToken(token) => Ok(crate::services::api_tokens::sees(actor, token)),
        Audience::Endpoint(endpoint) => {
            crate::services::webhooks::sees_endpoint(db, actor, endpoint).await
        }
        Audience::InsideOrPerson(_, Some(person)) if person == actor.user_id => Ok(true),
        Audience::Inside(pool) | Audience::InsideOrPerson(pool, _) => {
            refused_is_false(require_reader_as(db, pool, actor).await.map(|_| ()))
        }
        Audience::AdminsOrPerson(_, Some(person)) if person == actor.user_id => Ok(true),
        Audience::AdminsOrPerson(pool, _) => {
            refused_is_false(require_admin_reader(db, pool, actor.user_id, admins).await)
        }
        Audience::ParentOrPerson {
            person: Some(person),
            ..
        } if person == actor.user_id => Ok(true),
        Audience::ParentOrPerson {
            parent_entity_id,
            email,
            ..
        } => {
            if permissions::parent_role(db, parent_entity_id, actor.user_id)
                .await?
                .is_some()
            {
                return Ok(true);
            }
            Ok(crate::services::accounts::me(state, actor).await?.email == email)
        }
        Audience::Stewards(parent) => {
            refused_is_false(permissions::require_steward(db, parent, actor.user_id).await)
        }
        Audience::Overseers(parent) => refused_is_false(
            permissions::require_steward_or_auditor(db, parent, actor.user_id)
                .await
                .map(|_| ()),
        ),
        Audience::AuditTrail(event) => {
            let reads = |parent, pool| async move {
                match crate::services::audit_trail::authorize(db, actor, parent, pool).await {
                    Ok(_) => Ok(true),
                    Err(AppError::Forbidden(_) | AppError::NotFound(_)) => Ok(false),
                    Err(other) => Err(other),
                }
            };
            if let Some(parent) = event.parent_entity_id
                && reads(Some(parent), None).await?
            {
                return Ok(true);
            }
            match event.pool_id {
                Some(pool) => reads(None, Some(pool)).await,
                None => Ok(false),
            }
        }
        Audience::AdminsOrInvitee(pool, email) => {
            let own = crate::services::accounts::me(state, actor).await?;
            if own.email == email {
                return Ok(true);
            }
            refused_is_false(require_admin_reader(db, pool, actor.user_id, admins).await)
        }
    }
}
