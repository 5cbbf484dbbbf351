//! What a recorded contribution must be: the shape of each kind, a date
//! neither ahead nor far behind, bounded hours and quantities, and a value
//! only where the rules allow one. Errors name `input.<field>`.

use chrono::{Duration, NaiveDate};
use entities::work_contribution::WorkContributionKind as Kind;
use uuid::Uuid;

use crate::{
    domain::{Check, MinorAmount, MultiLineText, SingleLineText},
    error::{AppResult, FieldError},
    services::formations::governance::WorkContributionRules,
};

/// One record holds at most a day: 24 hours, in quarter hours.
pub const MAX_QUARTER_HOURS: i32 = 96;
/// The most of one unit a contribution in kind may name.
pub const MAX_QUANTITY: i64 = 1_000_000;
/// How far back a contribution may be recorded, in days.
pub const MAX_AGE_DAYS: i64 = 366;
/// A member's today may be the server's tomorrow: a day's grace ahead.
const DAYS_AHEAD: i64 = 1;
/// The longest value a contribution may state, in minor units.
pub const MAX_VALUE_MINOR: i64 = 100_000_000_000;

pub struct RecordInput {
    pub pool_id: Uuid,
    pub kind: Kind,
    pub label: Option<String>,
    pub occurred_on: NaiveDate,
    pub quarter_hours: Option<i32>,
    pub quantity: Option<i64>,
    pub unit: Option<String>,
    pub description: String,
    /// Minor units of the pool's currency.
    pub value: Option<i64>,
}

/// The input, parsed.
pub struct Parsed {
    pub kind: Kind,
    pub label: Option<String>,
    pub occurred_on: NaiveDate,
    pub quarter_hours: Option<i32>,
    pub quantity: Option<i64>,
    pub unit: Option<String>,
    pub description: String,
    pub value_minor: Option<i64>,
    pub currency: Option<String>,
}

fn err(path: &str, message: impl Into<String>) -> Result<(), FieldError> {
    Err(FieldError::new(path, message))
}

pub fn parse(
    input: &RecordInput,
    rules: &WorkContributionRules,
    currency: &str,
    today: NaiveDate,
) -> AppResult<Parsed> {
    let mut check = Check::default();
    let description = check.field(MultiLineText::<1, 2000>::parse(
        &input.description,
        "input.description",
    ));
    // The kind decides what else it carries.
    let label = match (input.kind, input.label.as_deref()) {
        (Kind::Other, None) => {
            check.field(err(
                "input.label",
                "a contribution of another kind names it with one of the labels the pool's rules define",
            ));
            None
        }
        (Kind::Other, Some(raw)) => match rules.other_kind(raw) {
            Some(label) => Some(label.to_owned()),
            None if rules.other_kinds.is_empty() => {
                check.field(err("input.label", "the pool's rules define no other kinds"));
                None
            }
            None => {
                check.field(err(
                    "input.label",
                    format!(
                        "is not a kind the pool's rules define ({})",
                        rules.other_kinds.join(", ")
                    ),
                ));
                None
            }
        },
        (_, Some(_)) => {
            check.field(err(
                "input.label",
                "only a contribution of kind OTHER has a label",
            ));
            None
        }
        (_, None) => None,
    };
    let in_kind = input.kind == Kind::InKind;
    let quarter_hours = match (in_kind, input.quarter_hours) {
        (true, Some(_)) => {
            check.field(err(
                "input.quarterHours",
                "a contribution in kind is a quantity, not hours",
            ));
            None
        }
        (true, None) => None,
        (false, None) => {
            check.field(err(
                "input.quarterHours",
                "work, care and other kinds are recorded in quarter hours",
            ));
            None
        }
        (false, Some(q)) if !(1..=MAX_QUARTER_HOURS).contains(&q) => {
            check.field(err(
                "input.quarterHours",
                format!("must be between 1 and {MAX_QUARTER_HOURS} quarter hours (a day at most)"),
            ));
            None
        }
        (false, Some(q)) => Some(q),
    };
    let (quantity, unit) = if in_kind {
        let quantity = match input.quantity {
            Some(q) if (1..=MAX_QUANTITY).contains(&q) => Some(q),
            Some(_) => {
                check.field(err(
                    "input.quantity",
                    format!("must be between 1 and {MAX_QUANTITY}"),
                ));
                None
            }
            None => {
                check.field(err(
                    "input.quantity",
                    "a contribution in kind says how much",
                ));
                None
            }
        };
        let unit = match input.unit.as_deref() {
            Some(raw) => check
                .field(SingleLineText::<1, 40>::parse(raw, "input.unit"))
                .map(SingleLineText::into_inner),
            None => {
                check.field(err(
                    "input.unit",
                    "a contribution in kind says of what (kg, meals, …)",
                ));
                None
            }
        };
        (quantity, unit)
    } else {
        if input.quantity.is_some() {
            check.field(err(
                "input.quantity",
                "only a contribution in kind has a quantity",
            ));
        }
        if input.unit.is_some() {
            check.field(err("input.unit", "only a contribution in kind has a unit"));
        }
        (None, None)
    };
    if input.occurred_on > today + Duration::days(DAYS_AHEAD) {
        check.field(err("input.occurredOn", "must not be in the future"));
    } else if input.occurred_on < today - Duration::days(MAX_AGE_DAYS) {
        check.field(err(
            "input.occurredOn",
            format!("must be within the last {MAX_AGE_DAYS} days"),
        ));
    }
    let value_minor = match input.value {
        None => None,
        Some(_) if !rules.valued => {
            check.field(err(
                "input.value",
                "the pool's rules do not let contributions carry a value in money",
            ));
            None
        }
        Some(v) => check
            .field(MinorAmount::parse_positive(v, "input.value"))
            .and_then(|v| {
                if v.get() > MAX_VALUE_MINOR {
                    check.field(err(
                        "input.value",
                        format!("must be at most {MAX_VALUE_MINOR} minor units"),
                    ));
                    None
                } else {
                    Some(v.get())
                }
            }),
    };
    match description {
        Some(description) if check.is_empty() => Ok(Parsed {
            kind: input.kind,
            label,
            occurred_on: input.occurred_on,
            quarter_hours,
            quantity,
            unit,
            description: description.into_inner(),
            currency: value_minor.map(|_| currency.to_owned()),
            value_minor,
        }),
        _ => Err(check.into_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn input(kind: Kind) -> RecordInput {
        RecordInput {
            pool_id: Uuid::now_v7(),
            kind,
            label: None,
            occurred_on: today(),
            quarter_hours: Some(8),
            quantity: None,
            unit: None,
            description: "Fixed the bikes".into(),
            value: None,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()
    }

    fn paths(r: AppResult<Parsed>) -> Vec<String> {
        match r {
            Err(AppError::Validation(errors)) => errors.into_iter().map(|e| e.path).collect(),
            Err(other) => panic!("{other:?}"),
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn work_is_hours_and_kind_is_a_quantity() {
        let rules = WorkContributionRules::default();
        assert!(parse(&input(Kind::Work), &rules, "EUR", today()).is_ok());
        let mut i = input(Kind::InKind);
        assert_eq!(
            paths(parse(&i, &rules, "EUR", today())),
            ["input.quarterHours", "input.quantity", "input.unit"]
        );
        i.quarter_hours = None;
        i.quantity = Some(5);
        i.unit = Some("kg".into());
        assert!(parse(&i, &rules, "EUR", today()).is_ok());
    }

    #[test]
    fn dates_hours_and_values_are_bounded() {
        let rules = WorkContributionRules::default();
        let mut i = input(Kind::Care);
        i.occurred_on = today() + Duration::days(2);
        i.quarter_hours = Some(97);
        i.value = Some(100);
        assert_eq!(
            paths(parse(&i, &rules, "EUR", today())),
            ["input.quarterHours", "input.occurredOn", "input.value"]
        );
        let valued = WorkContributionRules {
            valued: true,
            ..WorkContributionRules::default()
        };
        let mut i = input(Kind::Care);
        i.value = Some(2_500);
        let parsed = parse(&i, &valued, "EUR", today()).unwrap();
        assert_eq!(
            (parsed.value_minor, parsed.currency.as_deref()),
            (Some(2_500), Some("EUR"))
        );
        i.occurred_on = today() - Duration::days(MAX_AGE_DAYS + 1);
        assert_eq!(
            paths(parse(&i, &valued, "EUR", today())),
            ["input.occurredOn"]
        );
    }

    #[test]
    fn other_kinds_are_the_rules_own() {
        let rules = WorkContributionRules {
            other_kinds: vec!["Mentoring".into()],
            ..WorkContributionRules::default()
        };
        let mut i = input(Kind::Other);
        assert_eq!(paths(parse(&i, &rules, "EUR", today())), ["input.label"]);
        i.label = Some("mentoring".into());
        let parsed = parse(&i, &rules, "EUR", today()).unwrap();
        assert_eq!(parsed.label.as_deref(), Some("Mentoring"));
        i.label = Some("Gardening".into());
        assert_eq!(paths(parse(&i, &rules, "EUR", today())), ["input.label"]);
    }
}
