//! Two things the integration tests need to know when they are built:
//!
//! - `MIGRATIONS_HASH`: a hash of the migrations' sources (and of the lock
//!   file, which pins the SQL builder they run through). It names the
//!   PostgreSQL template database, so a changed migration makes a new one.
//! - `skip_postgres` / `skip_stripe` / `skip_smtp` / `skip_pgbouncer`: set
//!   by `SKIP_POSTGRES=1` and the like, never under `CI=true`. The tests that need the missing
//!   component are then built `#[ignore]`d and counted as ignored; without
//!   the opt-out, a missing component fails them.

#![expect(
    clippy::expect_used,
    reason = "a build script that cannot read the migrations should stop and say so"
)]

use std::{
    hash::{DefaultHasher, Hasher},
    path::Path,
};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(skip_postgres)");
    println!("cargo::rustc-check-cfg=cfg(skip_stripe)");
    println!("cargo::rustc-check-cfg=cfg(skip_smtp)");
    println!("cargo::rustc-check-cfg=cfg(skip_pgbouncer)");
    println!("cargo::rerun-if-env-changed=CI");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    for (var, cfg) in [
        ("SKIP_POSTGRES", "skip_postgres"),
        ("SKIP_STRIPE", "skip_stripe"),
        ("SKIP_SMTP", "skip_smtp"),
        ("SKIP_PGBOUNCER", "skip_pgbouncer"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        if std::env::var(var).is_ok_and(|v| v == "1") {
            if ci {
                println!("cargo::warning={var}=1 is not honoured under CI=true");
            } else {
                println!("cargo::rustc-cfg={cfg}");
            }
        }
    }

    // DefaultHasher's algorithm may change between Rust releases; then the
    // template is rebuilt once, which is all a name needs.
    let mut hasher = DefaultHasher::new();
    let migrations = Path::new("../migration");
    let mut files: Vec<_> = std::fs::read_dir(migrations.join("src"))
        .expect("migration/src")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    files.push(migrations.join("Cargo.toml"));
    files.push(Path::new("../Cargo.lock").to_path_buf());
    for file in files {
        println!("cargo::rerun-if-changed={}", file.display());
        hasher.write(file.to_string_lossy().as_bytes());
        hasher.write(&std::fs::read(&file).expect("a readable file"));
    }
    println!("cargo::rerun-if-changed=../migration/src");
    println!("cargo::rustc-env=MIGRATIONS_HASH={:016x}", hasher.finish());
}
