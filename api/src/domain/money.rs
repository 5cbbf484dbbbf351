use crate::error::FieldError;

/// An ISO 4217 currency code, upper case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str, path: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_uppercase();
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
    }

    #[test]
    fn minor_units_format_by_exponent() {
        assert_eq!(format_minor(1050, "EUR"), "10.50");
        assert_eq!(format_minor(5, "USD"), "0.05");
        assert_eq!(format_minor(500, "JPY"), "500");
        assert_eq!(format_minor(-250, "GBP"), "-2.50");
    }
}
