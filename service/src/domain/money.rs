use crate::error::FieldError;

/// The largest amount one money input may carry, in minor units either
/// way: ±10^13 (100 billion euros in cents). Far above any pool's needs,
/// and far enough below `i64::MAX` that no realistic number of entries
/// sums past it; sums are computed wider anyway (see [`MoneyTotal`]).
pub const MAX_MINOR_AMOUNT: i64 = 10_000_000_000_000;

/// An amount of money in minor units (cents), within ±[`MAX_MINOR_AMOUNT`].
/// Every money input is parsed into one; the sign rules of each field
/// (positive, non-negative, non-zero) are checked where it is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MinorAmount(i64);

impl MinorAmount {
    pub fn parse(raw: i64, path: &str) -> Result<Self, FieldError> {
        if raw.unsigned_abs() > MAX_MINOR_AMOUNT.unsigned_abs() {
            return Err(FieldError::new(
                path,
                format!("must be between -{MAX_MINOR_AMOUNT} and {MAX_MINOR_AMOUNT} minor units"),
            ));
        }
        Ok(Self(raw))
    }

    /// An amount that must be above zero.
    pub fn parse_positive(raw: i64, path: &str) -> Result<Self, FieldError> {
        let amount = Self::parse(raw, path)?;
        if amount.0 <= 0 {
            return Err(FieldError::new(
                path,
                "must be a positive amount in minor units (cents)",
            ));
        }
        Ok(amount)
    }

    /// An amount that may be zero but not negative.
    pub fn parse_non_negative(raw: i64, path: &str) -> Result<Self, FieldError> {
        let amount = Self::parse(raw, path)?;
        if amount.0 < 0 {
            return Err(FieldError::new(
                path,
                "must not be negative (an amount in minor units, such as cents)",
            ));
        }
        Ok(amount)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A sum of stored amounts. Stored rows may predate [`MAX_MINOR_AMOUNT`],
/// so a sum is kept in 128 bits, which no number of 64-bit entries a
/// database can hold overflows. Shown as an `i64`, it saturates at
/// `i64::MIN`/`i64::MAX` and says so ([`MoneyTotal::shown`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct MoneyTotal(pub i128);

impl MoneyTotal {
    /// The amount as an `i64`, and whether it had to be cut to fit.
    pub fn shown(self) -> (i64, bool) {
        match i64::try_from(self.0) {
            Ok(v) => (v, false),
            Err(_) if self.0 < 0 => (i64::MIN, true),
            Err(_) => (i64::MAX, true),
        }
    }
}

impl std::ops::Add for MoneyTotal {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }
}

impl std::ops::AddAssign for MoneyTotal {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

impl std::ops::SubAssign for MoneyTotal {
    fn sub_assign(&mut self, other: Self) {
        self.0 = self.0.saturating_sub(other.0);
    }
}

impl std::ops::Neg for MoneyTotal {
    type Output = Self;
    fn neg(self) -> Self {
        Self(self.0.saturating_neg())
    }
}

impl From<i64> for MoneyTotal {
    fn from(v: i64) -> Self {
        Self(i128::from(v))
    }
}

/// Codes in ISO 4217 that are not money members can pay in: no currency,
/// testing, precious metals, bond-market and IMF units, and the funds
/// codes that stand beside a real currency.
const NOT_PAYABLE: &[&str] = &[
    "XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA",
    "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW",
];

/// An ISO 4217 currency code, upper case, of a currency one can pay in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str, path: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_uppercase();
        if NOT_PAYABLE.contains(&code.as_str()) {
            return Err(FieldError::new(
                path,
                format!(
                    "`{code}` is an ISO 4217 code but not a currency members can pay in; \
                     use one such as EUR, GBP or USD"
                ),
            ));
        }
        match iso_currency::Currency::from_code(&code) {
            Some(_) => Ok(Self(code)),
            None => Err(FieldError::new(
                path,
                format!(
                    "`{}` is not an ISO 4217 currency code (such as EUR, GBP or USD)",
                    raw.trim()
                ),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An amount in minor units written in major units: 1050 EUR → "10.50",
/// 500 JPY → "500".
pub fn format_minor(amount: i64, currency: &str) -> String {
    let exponent = iso_currency::Currency::from_code(currency)
        .and_then(|c| c.exponent())
        .unwrap_or(2) as u32;
    if exponent == 0 {
        return amount.to_string();
    }
    let unit = 10_i64.pow(exponent);
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / unit as u64,
        abs % unit as u64,
        width = exponent as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_iso_codes() {
        assert_eq!(Currency::parse(" eur ", "c").unwrap().as_str(), "EUR");
        assert!(Currency::parse("EURO", "c").is_err());
        for code in ["XXX", "xts", "XAU", "XDR", "CHE", "USN"] {
            let e = Currency::parse(code, "input.currency").unwrap_err();
            assert!(
                e.message.contains("not a currency members can pay in"),
                "{code}"
            );
        }
        assert_eq!(Currency::parse("CHF", "c").unwrap().as_str(), "CHF");
    }

    #[test]
    fn amounts_are_bounded_both_ways() {
        assert_eq!(
            MinorAmount::parse(MAX_MINOR_AMOUNT, "a").unwrap().get(),
            MAX_MINOR_AMOUNT
        );
        assert!(MinorAmount::parse(-MAX_MINOR_AMOUNT, "a").is_ok());
        for raw in [
            MAX_MINOR_AMOUNT + 1,
            -MAX_MINOR_AMOUNT - 1,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(
                MinorAmount::parse(raw, "input.amount").unwrap_err().path,
                "input.amount"
            );
        }
        assert!(MinorAmount::parse_positive(0, "a").is_err());
        assert!(MinorAmount::parse_non_negative(-1, "a").is_err());
        assert!(MinorAmount::parse_non_negative(0, "a").is_ok());
    }

    #[test]
    fn totals_saturate_when_shown() {
        let big = MoneyTotal::from(i64::MAX) + MoneyTotal::from(i64::MAX);
        assert_eq!(big.0, 2 * i128::from(i64::MAX));
        assert_eq!(big.shown(), (i64::MAX, true));
        assert_eq!((-big).shown(), (i64::MIN, true));
        assert_eq!(MoneyTotal::from(-5).shown(), (-5, false));
    }

    #[test]
    fn minor_units_format_by_exponent() {
        assert_eq!(format_minor(1050, "EUR"), "10.50");
        assert_eq!(format_minor(5, "USD"), "0.05");
        assert_eq!(format_minor(500, "JPY"), "500");
        assert_eq!(format_minor(-250, "GBP"), "-2.50");
    }
}
