//! Steps 5 and 6: the apps a pool needs, and their settings and roles.

use std::collections::{BTreeMap, HashSet};

use entities::{formation, parent_entity};
use sea_orm::Set;
use serde_json::Value;

use crate::{
    auth::Actor,
    catalogue::apps::ADMIN_ROLE,
    domain::{Check, check_json},
    error::{AppError, AppResult, FieldError},
    services::{audit::Action, policy::ParentPolicy},
    state::AppState,
};

use super::{
    draft::{AppConfig, Draft, RoleMapping, encode},
    steps::{Edit, group_key, update},
};

const MAX_APPS: usize = 20;

pub async fn select_apps(
    state: &AppState,
    actor: &Actor,
    edit: Edit,
    app_ids: Vec<String>,
) -> AppResult<formation::Model> {
    update(
        state,
        actor,
        edit,
        Action::FormationAppsSelected,
        move |locked, f| {
            check_apps(state, &locked.parent, &app_ids)?;
            f.app_ids = Set(Some(encode(&app_ids)?));
            Ok(())
        },
    )
    .await
}

/// The selection is allowed by the parent, each app once.
fn check_apps(
    state: &AppState,
    parent: &parent_entity::Model,
    app_ids: &[String],
) -> AppResult<()> {
    let policy = ParentPolicy::of(parent);
    let mut check = Check::default();
    if app_ids.len() > MAX_APPS {
        check.field::<()>(Err(FieldError::new(
            "input.appIds",
            format!("choose at most {MAX_APPS} apps"),
        )));
    }
    let mut seen = HashSet::new();
    for (i, app_id) in app_ids.iter().enumerate() {
        let path = format!("input.appIds[{i}]");
        match state.catalogue.app(app_id) {
            None => check.field::<()>(Err(FieldError::new(
                path,
                format!("there is no app `{app_id}` in the catalogue"),
            ))),
            Some(app) if !policy.allows_app(app_id) => check.field::<()>(Err(FieldError::new(
                path,
                format!("{} does not allow {}", parent.name, app.manifest.name),
            ))),
            Some(_) if !seen.insert(app_id.clone()) => check.field::<()>(Err(FieldError::new(
                path,
                format!("`{app_id}` is chosen twice"),
            ))),
            Some(_) => None,
        };
    }
    if !check.is_empty() {
        return Err(check.into_error());
    }
    Ok(())
}

pub struct RoleAssignment {
    pub stakeholder_group_key: String,
    pub app_role: String,
}

pub struct ConfigureAppInput {
    pub app_id: String,
    pub settings: Value,
    pub admin_role: Option<String>,
    pub role_mapping: Option<Vec<RoleAssignment>>,
}

pub async fn configure_app(
    state: &AppState,
    actor: &Actor,
    edit: Edit,
    input: ConfigureAppInput,
) -> AppResult<formation::Model> {
    update(
        state,
        actor,
        edit,
        Action::FormationAppConfigured,
        move |locked, f| {
            // Read from the locked row: the other apps' settings stay as they are now.
            let draft = Draft::read(locked.formation.clone(), Vec::new())?;
            let configs = configured(state, &draft, input)?;
            f.app_configs = Set(encode(&configs)?);
            Ok(())
        },
    )
    .await
}

/// The draft's app settings with `input` validated and put in.
fn configured(
    state: &AppState,
    draft: &Draft,
    input: ConfigureAppInput,
) -> AppResult<BTreeMap<String, AppConfig>> {
    let app = state.catalogue.app(&input.app_id).ok_or_else(|| {
        AppError::invalid(
            "input.appId",
            format!("there is no app `{}` in the catalogue", input.app_id),
        )
    })?;
    if !draft
        .app_ids
        .as_deref()
        .unwrap_or_default()
        .contains(&input.app_id)
    {
        return Err(AppError::invalid(
            "input.appId",
            format!(
                "select {} with selectApps before configuring it",
                app.manifest.name
            ),
        ));
    }
    let mut errors = check_json(&input.settings, "input.settings");
    let settings = match app.validate_settings(&input.settings) {
        Ok(filled) => Some(filled),
        Err(e) => {
            errors.extend(
                e.into_iter()
                    .map(|f| FieldError::new(format!("input.{}", f.path), f.message)),
            );
            None
        }
    };
    let roles = &app.manifest.roles;
    let role_error = |path: String, role: &str| {
        FieldError::new(
            path,
            format!(
                "{} offers the roles {}, not `{role}`",
                app.manifest.name,
                roles.join(", ")
            ),
        )
    };
    let admins = input.admin_role.unwrap_or_else(|| ADMIN_ROLE.to_owned());
    if !roles.contains(&admins) {
        errors.push(role_error("input.adminRole".into(), &admins));
    }
    let mut groups = BTreeMap::new();
    for (i, a) in input
        .role_mapping
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        if !roles.contains(&a.app_role) {
            errors.push(role_error(
                format!("input.roleMapping[{i}].appRole"),
                &a.app_role,
            ));
        }
        let key_path = format!("input.roleMapping[{i}].stakeholderGroupKey");
        match group_key(&a.stakeholder_group_key, &key_path) {
            Err(e) => errors.push(e),
            Ok(key) if draft.groups.is_some() && draft.group(&key).is_none() => {
                errors.push(FieldError::new(
                    key_path,
                    format!("there is no stakeholder group with key `{key}`"),
                ));
            }
            Ok(key) => {
                groups.insert(key, a.app_role);
            }
        }
    }
    let Some(settings) = settings.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let mut configs = draft.app_configs.clone();
    configs.insert(
        input.app_id,
        AppConfig {
            settings,
            role_mapping: RoleMapping { admins, groups },
        },
    );
    Ok(configs)
}
