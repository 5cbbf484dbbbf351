//! Parent entities: registering one, its policy, its directory; who
//! stewards and audits it (`roles`, `invitations`) and whether a platform
//! admin vouches for it (`verification`).

mod invitations;
mod roles;
mod verification;

pub use invitations::{accept_role, decline_role, invitations_of_user};
pub use roles::{
    RoleInput, end_for_deleted_account, grant_role, revoke_role, roles, roles_of_user,
};
pub use verification::{revoke_verification, verify};

use chrono::Utc;
use entities::{
    parent_entity::{self, ApprovalPolicy},
    parent_entity_role::RoleKind,
    user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend,
    DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set, Statement,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::{
        Check, Jurisdiction, MinorAmount, SingleLineText, first_free, like_literal,
        registration_key, slugify,
    },
    error::{AppError, AppResult, FieldError},
    services::audit::{self, Action, Change},
    services::{
        OnConflict,
        pagination::{Page, PageRequest, paginate},
        policy::RulesChangePolicy,
    },
    state::AppState,
};

pub struct RegisterInput {
    pub name: String,
    pub jurisdiction: String,
    pub legal_form: String,
    pub registration_number: String,
    pub approval_policy: ApprovalPolicy,
}

/// Registers a parent entity; the caller becomes its first steward.
pub async fn register(
    state: &AppState,
    actor: &Actor,
    input: RegisterInput,
) -> AppResult<parent_entity::Model> {
    register_linked(state, actor, input, None, async |_, _| Ok(None)).await
}

/// A fact about where a registered entity comes from, for its audit event.
pub type Origin = Option<(&'static str, String)>;

/// [`register`] for an entity that comes from another object (a pool that
/// spun out): its registration number must be `reported`, and `link`
/// runs in the registration's transaction once the entity exists, saying
/// where it comes from.
pub async fn register_linked(
    state: &AppState,
    actor: &Actor,
    input: RegisterInput,
    reported: Option<&str>,
    link: impl AsyncFnOnce(&DatabaseTransaction, Uuid) -> AppResult<Origin>,
) -> AppResult<parent_entity::Model> {
    let mut check = Check::default();
    let name = check.field(SingleLineText::<2, 200>::parse(&input.name, "input.name"));
    let jurisdiction = check.field(Jurisdiction::parse(
        &input.jurisdiction,
        "input.jurisdiction",
    ));
    let legal_form = check.field(SingleLineText::<2, 200>::parse(
        &input.legal_form,
        "input.legalForm",
    ));
    let registration_number = check.field(SingleLineText::<1, 100>::parse(
        &input.registration_number,
        "input.registrationNumber",
    ));
    let key = registration_number
        .as_ref()
        .and_then(|n| check.field(registration_key(n.as_str(), "input.registrationNumber")));
    // The entity takes the number its founders reported.
    let key = match (reported, key) {
        (Some(reported), Some(given)) => {
            let same = registration_key(reported, "input.registrationNumber").ok();
            check.field(if same.as_ref() == Some(&given) {
                Ok(given)
            } else {
                Err(FieldError::new(
                    "input.registrationNumber",
                    format!("must be the number reported for the spin-out: {reported}"),
                ))
            })
        }
        (_, key) => key,
    };
    let (Some(name), Some(jurisdiction), Some(legal_form), Some(registration_number), Some(key)) =
        (name, jurisdiction, legal_form, registration_number, key)
    else {
        return Err(check.into_error());
    };
    let jurisdiction = jurisdiction.into_inner();
    let registration_number = registration_number.into_inner();
    let now = Utc::now();
    let txn = crate::services::begin_write(&state.db).await?;
    verification::refuse_number_of_verified(
        &txn,
        &jurisdiction,
        &key,
        None,
        || {
            format!(
                "input.registrationNumber: {registration_number} in {jurisdiction} is the number of a verified parent entity; register under your own number, or ask the platform to review that entity's verification"
            )
        },
    )
    .await?;
    let first_steward = user::Entity::find_by_id(actor.user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("actor {} has no account", actor.user_id))
        })?;
    let slug = free_slug(&txn, name.as_str()).await?;
    let entity = parent_entity::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug),
        name: Set(name.into_inner()),
        jurisdiction: Set(jurisdiction.clone()),
        legal_form: Set(legal_form.into_inner()),
        registration_number: Set(registration_number.clone()),
        approval_policy: Set(input.approval_policy),
        created_by: Set(actor.user_id),
        created_at: Set(now),
        updated_at: Set(now),
        allowed_template_ids: Set(None),
        allowed_app_ids: Set(None),
        allows_principle_exceptions: Set(false),
        rules_change_policy: Set(None),
        dissolutions_need_consent: Set(false),
        assembly_weighting: Set(parent_entity::AssemblyWeighting::OnePoolOneVote),
        expense_approval_above_minor: Set(None),
        expense_min_approvals: Set(None),
        parent_share_basis_points: Set(0),
        registration_key: Set(Some(key)),
        verified_at: Set(None),
        verified_by: Set(None),
    }
    .insert(&txn)
    .await
    .on_conflict(|| {
        format!(
            "a parent entity with registration number {registration_number} in {jurisdiction} is already registered"
        )
    })?;
    let steward = roles::insert_first_steward(&txn, entity.id, &first_steward).await?;
    let mut change = Change::new(Action::ParentEntityRegistered, "ParentEntity", entity.id)
        .in_parent(entity.id)
        .created(&entity)
        .with("firstStewardRoleId", steward.id.to_string());
    if let Some((name, value)) = link(&txn, entity.id).await? {
        change = change.with(name, value);
    }
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    Ok(entity)
}

pub struct PolicyInput {
    pub parent_entity_id: Uuid,
    pub allowed_template_ids: Option<Vec<String>>,
    pub allowed_app_ids: Option<Vec<String>>,
    pub allows_principle_exceptions: bool,
    pub expense_approval_above: Option<i64>,
    pub expense_min_approvals: Option<i32>,
    pub parent_share_basis_points: i32,
    pub rules_change_policy: RulesChangePolicy,
    pub dissolutions_need_consent: bool,
    pub assembly_weighting: parent_entity::AssemblyWeighting,
}

/// Sets the parent's policy for its pools. Stewards only; every id must be in
/// the catalogue.
pub async fn set_policy(
    state: &AppState,
    actor: &Actor,
    input: PolicyInput,
) -> AppResult<parent_entity::Model> {
    let mut errors = Vec::new();
    for (i, id) in input.allowed_template_ids.iter().flatten().enumerate() {
        if state.catalogue.template(id).is_none() {
            errors.push(FieldError::new(
                format!("input.allowedTemplateIds[{i}]"),
                format!("there is no legal template `{id}`"),
            ));
        }
    }
    for (i, id) in input.allowed_app_ids.iter().flatten().enumerate() {
        if state.catalogue.app(id).is_none() {
            errors.push(FieldError::new(
                format!("input.allowedAppIds[{i}]"),
                format!("there is no app `{id}`"),
            ));
        }
    }
    if let Some(Err(e)) = input
        .expense_approval_above
        .map(|a| MinorAmount::parse_non_negative(a, "input.expenseApprovalAbove"))
    {
        errors.push(e);
    }
    if input
        .expense_min_approvals
        .is_some_and(|n| !(1..=1000).contains(&n))
    {
        errors.push(FieldError::new(
            "input.expenseMinApprovals",
            "must be between 1 and 1000",
        ));
    }
    if input.expense_approval_above.is_some() != input.expense_min_approvals.is_some() {
        errors.push(FieldError::new(
            "input.expenseMinApprovals",
            "give both expenseApprovalAbove and expenseMinApprovals, or neither",
        ));
    }
    if !(0..=10_000).contains(&input.parent_share_basis_points) {
        errors.push(FieldError::new(
            "input.parentShareBasisPoints",
            "must be between 0 and 10000 (100 %)",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let txn = crate::services::begin_write(&state.db).await?;
    lock_parent(&txn, input.parent_entity_id).await?;
    permissions::require_steward(&txn, input.parent_entity_id, actor.user_id).await?;
    let parent = parent_entity::Entity::find_by_id(input.parent_entity_id)
        .one(&txn)
        .await?
        .ok_or_else(|| not_found(input.parent_entity_id))?;
    let before = parent.clone();
    let mut active: parent_entity::ActiveModel = parent.into();
    active.allowed_template_ids = Set(input.allowed_template_ids.map(serde_json::Value::from));
    active.allowed_app_ids = Set(input.allowed_app_ids.map(serde_json::Value::from));
    active.allows_principle_exceptions = Set(input.allows_principle_exceptions);
    active.expense_approval_above_minor = Set(input.expense_approval_above);
    active.expense_min_approvals = Set(input.expense_min_approvals);
    active.parent_share_basis_points = Set(input.parent_share_basis_points);
    active.rules_change_policy = Set(input.rules_change_policy.to_json());
    active.dissolutions_need_consent = Set(input.dissolutions_need_consent);
    active.assembly_weighting = Set(input.assembly_weighting);
    active.updated_at = Set(Utc::now());
    let parent = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new(Action::ParentEntityPolicyChanged, "ParentEntity", parent.id)
            .in_parent(parent.id)
            .diff(&before, &parent),
    )
    .await?;
    txn.commit().await?;
    Ok(parent)
}

pub async fn get(state: &AppState, id: Uuid) -> AppResult<parent_entity::Model> {
    parent_entity::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| not_found(id))
}

/// What the directory of parent entities is narrowed to.
#[derive(Default)]
pub struct DirectoryFilter {
    /// Only verified (`true`) or only unverified (`false`) parents.
    pub verified: Option<bool>,
    /// Text the name contains, case aside; `%` and `_` are plain characters.
    pub search: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub jurisdiction: Option<String>,
}

/// The public directory of parent entities, which founders choose from.
pub async fn list(
    state: &AppState,
    filter: DirectoryFilter,
    page: PageRequest,
) -> AppResult<Page<parent_entity::Model>> {
    let mut check = Check::default();
    let search = filter
        .search
        .as_deref()
        .and_then(|s| check.field(SingleLineText::<1, 200>::parse(s, "search")));
    let jurisdiction = filter
        .jurisdiction
        .as_deref()
        .and_then(|j| check.field(Jurisdiction::parse(j, "jurisdiction")));
    if !check.is_empty() {
        return Err(check.into_error());
    }
    let mut conditions = Condition::all();
    match filter.verified {
        Some(true) => conditions = conditions.add(parent_entity::Column::VerifiedAt.is_not_null()),
        Some(false) => conditions = conditions.add(parent_entity::Column::VerifiedAt.is_null()),
        None => {}
    }
    if let Some(jurisdiction) = jurisdiction {
        conditions =
            conditions.add(parent_entity::Column::Jurisdiction.eq(jurisdiction.into_inner()));
    }
    if let Some(search) = search {
        // LOWER on both sides: SQLite's LIKE ignores ASCII case only and
        // PostgreSQL's none. Both take the escape clause.
        let pattern = format!("%{}%", like_literal(&search.into_inner().to_lowercase()));
        conditions = conditions.add(
            Expr::expr(Func::lower(Expr::col((
                parent_entity::Entity,
                parent_entity::Column::Name,
            ))))
            .like(LikeExpr::new(pattern).escape('\\')),
        );
    }
    let select = parent_entity::Entity::find().filter(conditions);
    paginate(&state.db, select, parent_entity::Column::Id, page).await
}

/// A parent entity by its slug, for everyone (the directory is public).
pub async fn by_slug(state: &AppState, slug: &str) -> AppResult<parent_entity::Model> {
    parent_entity::Entity::find()
        .filter(parent_entity::Column::Slug.eq(slug))
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no parent entity has slug `{slug}`")))
}

/// A slug for a new parent named `name` that no other parent holds. On
/// PostgreSQL, registrations choose one at a time (a lock until the
/// transaction ends); SQLite's write transaction is one at a time already.
async fn free_slug(txn: &impl ConnectionTrait, name: &str) -> AppResult<String> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            format!("SELECT pg_advisory_xact_lock({SLUG_LOCK})"),
        ))
        .await?;
    }
    let mut base = slugify(name);
    if base.is_empty() {
        base = "parent".to_owned();
    }
    let taken: Vec<String> = parent_entity::Entity::find()
        .select_only()
        .column(parent_entity::Column::Slug)
        .filter(
            Condition::any()
                .add(parent_entity::Column::Slug.eq(base.as_str()))
                .add(
                    Expr::col(parent_entity::Column::Slug)
                        .like(LikeExpr::new(format!("{}-%", like_literal(&base))).escape('\\')),
                ),
        )
        .into_tuple()
        .all(txn)
        .await?;
    Ok(first_free(&base, &taken))
}

/// The advisory lock that serialises choosing parent slugs (an arbitrary
/// constant of this application).
const SLUG_LOCK: i64 = 0x5041_5245_4e54;

/// Serialises changes to one parent entity's roles: a no-op update takes the
/// row lock on PostgreSQL and the write lock on SQLite, so two concurrent
/// revocations cannot both pass the last-steward check.
pub(crate) async fn lock_parent(db: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
    let locked = parent_entity::Entity::update_many()
        .col_expr(
            parent_entity::Column::UpdatedAt,
            Expr::col(parent_entity::Column::UpdatedAt),
        )
        .filter(parent_entity::Column::Id.eq(id))
        .exec(db)
        .await?;
    if locked.rows_affected == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// "a STEWARD", "an AUDITOR": for messages.
fn role_name(role: RoleKind) -> &'static str {
    match role {
        RoleKind::Steward => "a STEWARD",
        RoleKind::Auditor => "an AUDITOR",
    }
}

/// "STEWARD", "AUDITOR": as the API spells the kind.
fn kind_name(role: RoleKind) -> &'static str {
    match role {
        RoleKind::Steward => "STEWARD",
        RoleKind::Auditor => "AUDITOR",
    }
}

fn not_found(id: Uuid) -> AppError {
    AppError::NotFound(format!("no parent entity has id {id}"))
}
