//! Email, below the domains: the languages messages are written in, the
//! layouts they are rendered into, and the transport that carries them
//! (SMTP, or a folder of `.eml` files when no SMTP server is set). What is
//! sent, and when, is decided by `services::notifications`.

pub mod locale;
pub mod render;
pub mod smtp;
pub mod transport;

pub use locale::{Locale, text};
pub use render::{Letter, LetterAction, Page, Rendered};
pub use transport::{Mailer, SendError};
