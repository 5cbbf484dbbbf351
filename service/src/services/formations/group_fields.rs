//! The fields of a stakeholder group, read the same way when founders set
//! their groups and when members change them by a rules change.

use crate::{domain::MinorAmount, error::FieldError};

pub const MAX_GROUPS: usize = 12;
pub const MAX_VOTING_WEIGHT: i32 = 100;
pub const MAX_SHARE_PRICE: i64 = 100_000_000_000;

/// Lower-case letters, digits, `-` and `_`, starting with a letter.
pub fn group_key(raw: &str, path: &str) -> Result<String, FieldError> {
    let key = raw.trim();
    let valid = (1..=40).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(key.to_owned())
    } else {
        Err(FieldError::new(
            path,
            "use 1 to 40 lower-case letters, digits, - or _, starting with a letter (such as `workers`)",
        ))
    }
}

/// 0 (no vote) to `MAX_VOTING_WEIGHT`.
pub fn voting_weight(weight: i32, path: &str) -> Result<i32, FieldError> {
    if (0..=MAX_VOTING_WEIGHT).contains(&weight) {
        Ok(weight)
    } else {
        Err(FieldError::new(
            path,
            format!("must be between 0 (no vote) and {MAX_VOTING_WEIGHT}"),
        ))
    }
}

/// No price, or 0 to `MAX_SHARE_PRICE` minor units.
pub fn share_price(price: Option<i64>, path: &str) -> Result<Option<i64>, FieldError> {
    match price {
        Some(p) => MinorAmount::parse_non_negative(p, path).and_then(|p| {
            if p.get() > MAX_SHARE_PRICE {
                Err(FieldError::new(
                    path,
                    format!("must be at most {MAX_SHARE_PRICE} minor units"),
                ))
            } else {
                Ok(Some(p.get()))
            }
        }),
        None => Ok(None),
    }
}
