//! When periods fall due. The `n`th period of something that started on a
//! day is counted from that day each time, never from the one before, so a
//! lease begun on the 31st is due on the last day of short months and back
//! on the 31st after them.

use chrono::{Months, NaiveDate};
use entities::billing_period::BillingPeriod;

/// The first day of period `n` (0 is the one that starts on `start`); `None`
/// beyond the calendar.
pub fn start_of(start: NaiveDate, period: BillingPeriod, n: u32) -> Option<NaiveDate> {
    let months = period.months().checked_mul(n)?;
    start.checked_add_months(Months::new(months))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn months_are_counted_from_the_start() {
        let start = day(2027, 1, 31);
        assert_eq!(start_of(start, BillingPeriod::Month, 0), Some(start));
        assert_eq!(
            start_of(start, BillingPeriod::Month, 1),
            Some(day(2027, 2, 28))
        );
        assert_eq!(
            start_of(start, BillingPeriod::Month, 2),
            Some(day(2027, 3, 31))
        );
        assert_eq!(
            start_of(start, BillingPeriod::Quarter, 1),
            Some(day(2027, 4, 30))
        );
        assert_eq!(
            start_of(start, BillingPeriod::Year, 1),
            Some(day(2028, 1, 31))
        );
    }

    #[test]
    fn beyond_the_calendar_is_none() {
        assert_eq!(
            start_of(day(2027, 1, 1), BillingPeriod::Year, u32::MAX),
            None
        );
    }
}
