//! `migration [status|up [N]|down [N]|fresh|refresh|reset]` against
//! `DATABASE_URL` (read from `.env` too; the server's default otherwise).
//! The few commands are parsed here rather than by sea-orm-migration's
//! clap-based CLI, so that clap stays out of the server, which links this
//! crate's library.

use std::{io::Write, process::ExitCode};

use migration::Migrator;
use sea_orm_migration::{prelude::*, sea_orm::Database};

const USAGE: &str = "usage: migration [status | up [N] | down [N] | fresh | refresh | reset]
  status     list the migrations and whether each is applied
  up [N]     apply the pending migrations (or the next N); the default
  down [N]   roll back the last N migrations (default 1)
  fresh      drop all tables, then apply every migration
  refresh    roll back every migration, then apply them again
  reset      roll back every migration
The database is DATABASE_URL (also read from .env), by default the server's
sqlite://pools.db?mode=rwc.";

enum Command {
    Status,
    Up(Option<u32>),
    Down(Option<u32>),
    Fresh,
    Refresh,
    Reset,
}

fn parse(args: &[String]) -> Result<Command, String> {
    let steps = |n: Option<&String>| -> Result<Option<u32>, String> {
        n.map(|n| {
            n.parse()
                .map_err(|_| format!("`{n}` is not a number of steps"))
        })
        .transpose()
    };
    // `-n N` is how sea-orm-migration's CLI took the steps; both forms work.
    let args: Vec<&String> = args
        .iter()
        .filter(|a| !a.is_empty() && *a != "-n" && *a != "--num")
        .collect();
    let command = match args.as_slice() {
        [] => Command::Up(None),
        [c, rest @ ..] => match (c.as_str(), rest) {
            ("status", []) => Command::Status,
            ("up", [] | [_]) => Command::Up(steps(rest.first().copied())?),
            ("down", [] | [_]) => Command::Down(Some(steps(rest.first().copied())?.unwrap_or(1))),
            ("fresh", []) => Command::Fresh,
            ("refresh", []) => Command::Refresh,
            ("reset", []) => Command::Reset,
            _ => {
                return Err(format!(
                    "unknown command `{}`",
                    args.iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
        },
    };
    Ok(command)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "-h" || a == "--help" || a == "help")
    {
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return ExitCode::SUCCESS;
    }
    let command = match parse(&args) {
        Ok(command) => command,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    dotenvy::dotenv().ok();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("sea_orm_migration=info"))
        .with_target(false)
        .with_level(false)
        .without_time()
        .init();
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://pools.db?mode=rwc".into());
    match run(&url, command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "migration failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str, command: Command) -> Result<(), DbErr> {
    let db = Database::connect(url).await?;
    match command {
        Command::Status => {
            Migrator::install(&db).await?;
            let mut out = std::io::stdout().lock();
            for m in Migrator::get_migration_with_status(&db).await? {
                let _ = writeln!(out, "{}... {}", m.name(), m.status());
            }
            Ok(())
        }
        Command::Up(n) => Migrator::up(&db, n).await,
        Command::Down(n) => Migrator::down(&db, n).await,
        Command::Fresh => Migrator::fresh(&db).await,
        Command::Refresh => Migrator::refresh(&db).await,
        Command::Reset => Migrator::reset(&db).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn commands_parse_as_the_former_cli_did() {
        assert!(matches!(parse(&args("")), Ok(Command::Up(None))));
        assert!(matches!(parse(&args("up")), Ok(Command::Up(None))));
        assert!(matches!(parse(&args("up 2")), Ok(Command::Up(Some(2)))));
        assert!(matches!(parse(&args("down")), Ok(Command::Down(Some(1)))));
        assert!(matches!(parse(&args("down 3")), Ok(Command::Down(Some(3)))));
        assert!(matches!(
            parse(&args("down -n 3")),
            Ok(Command::Down(Some(3)))
        ));
        assert!(matches!(parse(&args("status")), Ok(Command::Status)));
        assert!(matches!(parse(&args("fresh")), Ok(Command::Fresh)));
        assert!(parse(&args("up x")).is_err());
        assert!(parse(&args("sideways")).is_err());
        assert!(parse(&args("status 1")).is_err());
    }
}
