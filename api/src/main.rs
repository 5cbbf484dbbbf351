//! `api` serves the GraphQL API; `api print-schema` prints its SDL;
//! `api print-pack-key` prints the public key that signs audit packs.

use std::{io::Write, process::ExitCode};

use api::config::Config;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: api [serve | print-schema | print-pack-key]\n\
  serve           run the server (the default); settings come from the environment and .env\n\
  print-schema    print the GraphQL schema (SDL) to standard output\n\
  print-pack-key  print the public key of PACK_SIGNING_KEY, as /.well-known/pools-pack-key serves it";

#[tokio::main]
async fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => api::startup::serve().await,
        Some("print-schema") => {
            let mut out = std::io::stdout().lock();
            match out.write_all(api::graphql::sdl().as_bytes()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Some("print-pack-key") => print_pack_key(),
        Some("-h" | "--help" | "help") => {
            eprintln!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command `{other}`\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The public key to publish beside the deployment, so that auditors can
/// verify packs without asking the server.
fn print_pack_key() -> ExitCode {
    let seed = match Config::from_env() {
        Ok(Config {
            pack_signing_key: Some(seed),
            ..
        }) => seed,
        Ok(_) => {
            eprintln!("PACK_SIGNING_KEY is unset: there is no lasting key to print");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let key = api::signing::PackSigner::new(&seed).public_key_document();
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{key}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
