//! `ID` arguments holding UUIDs, parsed where the path of each is known.
//!
//! The schema keeps async-graphql's own `ID` scalar: a scalar that parsed to
//! `Uuid` itself would fail before the resolver runs, with the library's
//! error instead of a `VALIDATION` error naming the field.

use async_graphql::ID;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// An `ID` value, or a list or option of them, that holds UUIDs.
pub trait Ids {
    type Uuids;
    /// Parses the value found at `path` (built only for an error).
    fn uuids(&self, path: &dyn Fn() -> String) -> AppResult<Self::Uuids>;
}

impl Ids for ID {
    type Uuids = Uuid;
    fn uuids(&self, path: &dyn Fn() -> String) -> AppResult<Uuid> {
        Uuid::parse_str(self.as_str())
            .map_err(|_| AppError::invalid(path(), "is not an id from this API"))
    }
}

impl<T: Ids> Ids for Option<T> {
    type Uuids = Option<T::Uuids>;
    fn uuids(&self, path: &dyn Fn() -> String) -> AppResult<Self::Uuids> {
        self.as_ref().map(|id| id.uuids(path)).transpose()
    }
}

impl<T: Ids> Ids for Vec<T> {
    type Uuids = Vec<T::Uuids>;
    fn uuids(&self, path: &dyn Fn() -> String) -> AppResult<Self::Uuids> {
        self.iter()
            .enumerate()
            .map(|(i, id)| id.uuids(&|| format!("{}[{i}]", path())))
            .collect()
    }
}

/// The request path of a Rust place expression such as `input.pool_id`:
/// each part camel-cased, as async-graphql names arguments and fields.
pub fn path(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        if !out.is_empty() {
            out.push('.');
        }
        let mut upper = false;
        for ch in part.chars() {
            match ch {
                '_' => upper = true,
                c if upper => {
                    out.extend(c.to_uppercase());
                    upper = false;
                }
                c => out.push(c),
            }
        }
    }
    out
}

/// Parses an argument (`uuid!(formation_id)`) or an input's field
/// (`uuid!(input.pool_id)`) holding ids; an invalid one is reported at the
/// path the client sent it under (`formationId`, `input.poolId`).
macro_rules! uuid {
    ($($part:ident).+) => {
        $crate::graphql::ids::Ids::uuids(&$($part).+, &|| {
            $crate::graphql::ids::path(&[$(stringify!($part)),+])
        })
    };
}
pub(crate) use uuid;

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: AppError) -> String {
        match err {
            AppError::Validation(errors) => errors[0].path.clone(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn paths_are_camel_cased_as_in_the_schema() {
        assert_eq!(path(&["parent_entity_id"]), "parentEntityId");
        assert_eq!(path(&["input", "pool_id"]), "input.poolId");
        assert_eq!(path(&["after"]), "after");
    }

    #[test]
    fn an_invalid_id_names_where_it_was_sent() {
        let parent_entity_id = ID::from("nope");
        assert_eq!(
            field_of(uuid!(parent_entity_id).unwrap_err()),
            "parentEntityId"
        );
        struct Input {
            eligible_group_ids: Option<Vec<ID>>,
        }
        let id = Uuid::new_v4();
        let input = Input {
            eligible_group_ids: Some(vec![ID::from(id.to_string()), ID::from("x")]),
        };
        assert_eq!(
            field_of(uuid!(input.eligible_group_ids).unwrap_err()),
            "input.eligibleGroupIds[1]"
        );
        let input = Input {
            eligible_group_ids: Some(vec![ID::from(id.to_string())]),
        };
        assert_eq!(uuid!(input.eligible_group_ids).unwrap(), Some(vec![id]));
    }
}
