//! Domain value types. Each is made only by parsing raw input, so a value of
//! the type is valid from then on; a parse error names the field path.

mod email;
mod json;
mod money;
mod origin;
mod password;
mod pool_name;
mod secret;
mod slug;
mod text;

pub use email::Email;
pub use json::{MAX_JSON_BYTES, check_json};
pub use money::{Currency, MAX_MINOR_AMOUNT, MinorAmount, MoneyTotal, format_minor};
pub use origin::{AllowedOrigins, same_host};
pub use password::Password;
pub use pool_name::PoolName;
pub use secret::random_secret;
pub use slug::{first_free, like_literal, slugify};
pub use text::{Jurisdiction, MultiLineText, SingleLineText, registration_key};

use crate::error::{AppError, FieldError};

/// Collects every field error of one input before answering, so a client
/// sees all that is wrong at once.
#[derive(Default)]
pub struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    /// The parsed value, or `None` after recording its error.
    pub fn field<T>(&mut self, parsed: Result<T, FieldError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The `VALIDATION` error with every recorded field.
    pub fn into_error(self) -> AppError {
        AppError::Validation(self.errors)
    }
}
