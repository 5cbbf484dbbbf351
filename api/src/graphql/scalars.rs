//! The schema's own scalars. Each names the specification it follows
//! (`@specifiedBy`), so that clients' code generators can map it to a type
//! of their language instead of `unknown`. `DateTime` is async-graphql's
//! chrono scalar, which names RFC 3339 itself; `JSON` is this one, because
//! the library's `Json` names no specification and cannot be given one.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// Any JSON value, as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Json(pub serde_json::Value);

#[Scalar(
    name = "JSON",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc8259"
)]
/// Any JSON value (RFC 8259): an object, array, string, number, boolean or
/// null, given and returned as it is (not as a string holding JSON).
impl ScalarType for Json {
    fn parse(value: Value) -> InputValueResult<Self> {
        value.into_json().map(Self).map_err(InputValueError::custom)
    }

    fn to_value(&self) -> Value {
        // Every serde_json value has a GraphQL value; `null` is the
        // unreachable fallback.
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

/// A calendar date without a time or zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub chrono::NaiveDate);

#[Scalar(
    name = "Date",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
)]
/// A calendar date, as RFC 3339's `full-date`: `YYYY-MM-DD`.
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Self)
                .map_err(|_| InputValueError::custom("a date is written YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_pass_through_unchanged() {
        let value = json!({ "a": [1, "two", null, true, { "b": 2.5 }] });
        let graphql = Json(value.clone()).to_value();
        assert_eq!(Json::parse(graphql).map(|j| j.0).ok(), Some(value));
    }

    #[test]
    fn dates_are_full_dates() {
        let d = Date::parse(Value::String("2026-12-06".into())).ok();
        assert_eq!(
            d.map(|d| d.to_value()),
            Some(Value::String("2026-12-06".into()))
        );
        assert!(Date::parse(Value::String("2026-12-06T10:00:00Z".into())).is_err());
        assert!(Date::parse(Value::String("2026-02-30".into())).is_err());
    }
}
