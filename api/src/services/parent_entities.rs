//! Parent entities: registering one, and who stewards and audits it.

use chrono::Utc;
use entities::{
    membership::{self, MembershipStatus},
    parent_entity::{self, ApprovalPolicy},
    parent_entity_role::{self, RoleKind},
    pool, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    auth::{Actor, permissions},
    domain::{BoundedText, Check, Email, Jurisdiction},
    error::{AppError, AppResult, FieldError},
    services::audit::{self, Change},
    services::{
        OnConflict,
        pagination::{Page, PageRequest, paginate},
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
    let mut check = Check::default();
    let name = check.field(BoundedText::<2, 200>::parse(&input.name, "input.name"));
    let jurisdiction = check.field(Jurisdiction::parse(
        &input.jurisdiction,
        "input.jurisdiction",
    ));
    let legal_form = check.field(BoundedText::<2, 200>::parse(
        &input.legal_form,
        "input.legalForm",
    ));
    let registration_number = check.field(BoundedText::<1, 100>::parse(
        &input.registration_number,
        "input.registrationNumber",
    ));
    let (Some(name), Some(jurisdiction), Some(legal_form), Some(registration_number)) =
        (name, jurisdiction, legal_form, registration_number)
    else {
        return Err(check.into_error());
    };
    let jurisdiction = jurisdiction.into_inner();
    let registration_number = registration_number.into_inner();
    let now = Utc::now();
    let txn = crate::services::begin_write(&state.db).await?;
    let entity = parent_entity::ActiveModel {
        id: Set(Uuid::now_v7()),
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
        expense_approval_above_minor: Set(None),
        expense_min_approvals: Set(None),
        parent_share_basis_points: Set(0),
    }
    .insert(&txn)
    .await
    .on_conflict(|| {
        format!(
            "a parent entity with registration number {registration_number} in {jurisdiction} is already registered"
        )
    })?;
    let steward = insert_role(
        &txn,
        entity.id,
        actor.user_id,
        RoleKind::Steward,
        actor.user_id,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new("parentEntity.registered", "ParentEntity", entity.id)
            .in_parent(entity.id)
            .created(&entity)
            .with("firstStewardRoleId", steward.id.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(entity)
}

pub struct RoleInput {
    pub parent_entity_id: Uuid,
    pub email: String,
    pub role: RoleKind,
}

/// Grants a role to the person with the given email. Stewards only. A person
/// holds at most one role at a parent entity, which keeps auditors independent.
pub async fn grant_role(
    state: &AppState,
    actor: &Actor,
    input: RoleInput,
) -> AppResult<parent_entity_role::Model> {
    let (txn, email, grantee) = begin_role_change(state, actor, &input).await?;
    if let Some(held) = permissions::parent_role(&txn, input.parent_entity_id, grantee.id).await? {
        return Err(AppError::Conflict(if held == input.role {
            format!(
                "{email} is already {} of this parent entity",
                role_name(held)
            )
        } else {
            format!(
                "{email} is {} of this parent entity; revoke that role before granting {}",
                role_name(held),
                role_name(input.role)
            )
        }));
    }
    if input.role == RoleKind::Auditor {
        refuse_members_as_auditors(&txn, input.parent_entity_id, &grantee, &email).await?;
    }
    let role = insert_role(
        &txn,
        input.parent_entity_id,
        grantee.id,
        input.role,
        actor.user_id,
    )
    .await?;
    audit::record(
        &txn,
        actor,
        Change::new("parentEntityRole.granted", "ParentEntityRole", role.id)
            .in_parent(input.parent_entity_id)
            .created(&role),
    )
    .await?;
    txn.commit().await?;
    Ok(role)
}

/// An auditor is independent of what they audit: no active membership of
/// a pool under the parent.
async fn refuse_members_as_auditors(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    person: &user::Model,
    email: &Email,
) -> AppResult<()> {
    let pools_of_parent = sea_orm::sea_query::Query::select()
        .column(pool::Column::Id)
        .from(pool::Entity)
        .and_where(pool::Column::ParentEntityId.eq(parent_entity_id))
        .to_owned();
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(person.id))
        .filter(membership::Column::Status.eq(MembershipStatus::Active))
        .filter(membership::Column::PoolId.in_subquery(pools_of_parent))
        .count(db)
        .await?;
    if memberships > 0 {
        return Err(AppError::Conflict(format!(
            "{email} is a member of a pool under this parent entity; an auditor must be independent of the pools they audit"
        )));
    }
    Ok(())
}

/// Ends a person's role. Stewards only; the last steward stays.
pub async fn revoke_role(
    state: &AppState,
    actor: &Actor,
    input: RoleInput,
) -> AppResult<parent_entity_role::Model> {
    let (txn, email, holder) = begin_role_change(state, actor, &input).await?;
    let role = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::ParentEntityId.eq(input.parent_entity_id))
        .filter(parent_entity_role::Column::UserId.eq(holder.id))
        .filter(parent_entity_role::Column::Role.eq(input.role))
        .filter(parent_entity_role::Column::RevokedAt.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "{email} is not {} of this parent entity",
                role_name(input.role)
            ))
        })?;
    if input.role == RoleKind::Steward {
        let stewards = parent_entity_role::Entity::find()
            .filter(parent_entity_role::Column::ParentEntityId.eq(input.parent_entity_id))
            .filter(parent_entity_role::Column::Role.eq(RoleKind::Steward))
            .filter(parent_entity_role::Column::RevokedAt.is_null())
            .count(&txn)
            .await?;
        if stewards <= 1 {
            return Err(AppError::Conflict(
                "the last steward cannot be removed; grant STEWARD to someone else first".into(),
            ));
        }
    }
    let before = role.clone();
    let mut active: parent_entity_role::ActiveModel = role.into();
    active.revoked_at = Set(Some(Utc::now()));
    active.revoked_by = Set(Some(actor.user_id));
    let role = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new("parentEntityRole.revoked", "ParentEntityRole", role.id)
            .in_parent(input.parent_entity_id)
            .diff(&before, &role),
    )
    .await?;
    txn.commit().await?;
    Ok(role)
}

pub struct PolicyInput {
    pub parent_entity_id: Uuid,
    pub allowed_template_ids: Option<Vec<String>>,
    pub allowed_app_ids: Option<Vec<String>>,
    pub allows_principle_exceptions: bool,
    pub expense_approval_above: Option<i64>,
    pub expense_min_approvals: Option<i32>,
    pub parent_share_basis_points: i32,
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
    if input.expense_approval_above.is_some_and(|a| a < 0) {
        errors.push(FieldError::new(
            "input.expenseApprovalAbove",
            "must not be negative",
        ));
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
    active.updated_at = Set(Utc::now());
    let parent = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Change::new("parentEntity.policyChanged", "ParentEntity", parent.id)
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

/// The public directory of parent entities, which founders choose from.
pub async fn list(state: &AppState, page: PageRequest) -> AppResult<Page<parent_entity::Model>> {
    paginate(
        &state.db,
        parent_entity::Entity::find(),
        parent_entity::Column::Id,
        page,
    )
    .await
}

/// Who holds roles at a parent entity: its stewards and auditors may look.
pub async fn roles(
    state: &AppState,
    actor: &Actor,
    parent_entity_id: Uuid,
    include_revoked: bool,
    page: PageRequest,
) -> AppResult<Page<parent_entity_role::Model>> {
    permissions::require_steward_or_auditor(&state.db, parent_entity_id, actor.user_id).await?;
    let mut select = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::ParentEntityId.eq(parent_entity_id));
    if !include_revoked {
        select = select.filter(parent_entity_role::Column::RevokedAt.is_null());
    }
    paginate(&state.db, select, parent_entity_role::Column::Id, page).await
}

/// The roles a person holds, for that person only.
pub async fn roles_of_user(
    state: &AppState,
    actor: &Actor,
    user_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<parent_entity_role::Model>> {
    if actor.user_id != user_id {
        return Err(AppError::Forbidden(
            "you can list only your own parent entity roles".into(),
        ));
    }
    let select = parent_entity_role::Entity::find()
        .filter(parent_entity_role::Column::UserId.eq(user_id))
        .filter(parent_entity_role::Column::RevokedAt.is_null());
    paginate(&state.db, select, parent_entity_role::Column::Id, page).await
}

/// Opens the transaction of a role change: the parent locked, the caller
/// checked as steward, the person found by email.
async fn begin_role_change(
    state: &AppState,
    actor: &Actor,
    input: &RoleInput,
) -> AppResult<(sea_orm::DatabaseTransaction, Email, user::Model)> {
    let email =
        Email::parse(&input.email, "input.email").map_err(|e| AppError::Validation(vec![e]))?;
    let txn = crate::services::begin_write(&state.db).await?;
    lock_parent(&txn, input.parent_entity_id).await?;
    permissions::require_steward(&txn, input.parent_entity_id, actor.user_id).await?;
    let person = find_user_by_email(&txn, &email).await?;
    Ok((txn, email, person))
}

/// Serialises changes to one parent entity's roles: a no-op update takes the
/// row lock on PostgreSQL and the write lock on SQLite, so two concurrent
/// revocations cannot both pass the last-steward check.
async fn lock_parent(db: &impl ConnectionTrait, id: Uuid) -> AppResult<()> {
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

async fn find_user_by_email(db: &impl ConnectionTrait, email: &Email) -> AppResult<user::Model> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no account uses {email}; ask them to sign up first"
            ))
        })
}

async fn insert_role(
    db: &impl ConnectionTrait,
    parent_entity_id: Uuid,
    user_id: Uuid,
    role: RoleKind,
    granted_by: Uuid,
) -> AppResult<parent_entity_role::Model> {
    parent_entity_role::ActiveModel {
        id: Set(Uuid::now_v7()),
        parent_entity_id: Set(parent_entity_id),
        user_id: Set(user_id),
        role: Set(role),
        granted_by: Set(granted_by),
        granted_at: Set(Utc::now()),
        revoked_by: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
    .on_conflict(|| "this person already holds a role at this parent entity".into())
}

fn role_name(role: RoleKind) -> &'static str {
    match role {
        RoleKind::Steward => "a STEWARD",
        RoleKind::Auditor => "an AUDITOR",
    }
}

fn not_found(id: Uuid) -> AppError {
    AppError::NotFound(format!("no parent entity has id {id}"))
}
