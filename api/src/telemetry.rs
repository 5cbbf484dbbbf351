//! Structured logs. `RUST_LOG` filters; `LOG_FORMAT=json` for log shippers.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{DatabasePooler, LogFormat};

/// Installs the global subscriber; a second call (as in tests) changes nothing.
///
/// Behind a transaction pooler every transaction the code opens begins
/// inside the checkout's own and warns so, and the checkout's `COMMIT`
/// after it warns that none is open (see `db`): PostgreSQL's warnings are
/// left out there unless `RUST_LOG` asks for them.
pub fn init(format: LogFormat, pooler: DatabasePooler) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(match pooler {
            DatabasePooler::None => "info,sqlx=warn,sea_orm=warn",
            DatabasePooler::Transaction => {
                "info,sqlx=warn,sqlx::postgres::notice=error,sea_orm=warn"
            }
        })
    });
    let registry = tracing_subscriber::registry().with(filter);
    let _already_installed = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
        LogFormat::Text => registry
            .with(fmt::layer().with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())))
            .try_init(),
    };
}
