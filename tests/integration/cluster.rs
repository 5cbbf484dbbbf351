//! A throwaway PostgreSQL cluster that a test may stop and start again, to
//! see the server without its database, or stream to a standby of its own.
//! Never the shared one: it lives in a temporary directory on a free port
//! and is removed on drop.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// initdb and postgres refuse to run as root: then they run as the
    /// `postgres` system user.
    run_as_postgres: bool,
}

impl Cluster {
    /// Creates and starts a cluster. Fails the test, saying what is
    /// missing, when PostgreSQL's server programs are not installed.
    pub async fn start() -> Self {
        tokio::task::spawn_blocking(Self::start_blocking)
            .await
            .expect("starting the cluster")
    }

    fn start_blocking() -> Self {
        let cluster = Self::new_blocking(server_binaries().unwrap_or_else(|| {
            panic!(
                "this test starts its own PostgreSQL cluster and needs initdb, pg_ctl and \
                 pg_basebackup; install PostgreSQL's server programs (found none in \
                 `pg_config --bindir` nor in /usr/lib/postgresql/*/bin), or set SKIP_POSTGRES=1 \
                 to build the tests that need PostgreSQL as ignored (not under CI=true)"
            )
        }));
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        cluster.start_again_blocking();
        cluster
    }

    /// An empty directory for a cluster, owned by whoever runs it, and a
    /// free port.
    fn new_blocking(bin: PathBuf) -> Self {
        let run_as_postgres = output("id", &["-u"]).trim() == "0";
        let dir = tempfile::Builder::new()
            .prefix("pools-cluster-")
            .tempdir()
            .expect("a temporary directory");
        if run_as_postgres {
            let uid = output("id", &["-u", "postgres"]);
            let gid = output("id", &["-g", "postgres"]);
            std::os::unix::fs::chown(dir.path(), uid.trim().parse().ok(), gid.trim().parse().ok())
                .expect("giving the cluster's directory to the postgres user");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Self {
            bin,
            dir,
            port,
            run_as_postgres,
        }
    }

    /// A hot standby of this cluster, streaming from it: a base backup
    /// (`-R` writes the settings that make it follow this one), started on
    /// a port of its own. initdb's `pg_hba.conf` lets `postgres` replicate
    /// from 127.0.0.1, and PostgreSQL's defaults (`wal_level = replica`,
    /// ten WAL senders) suffice. Stopped and removed on drop, as this one.
    pub async fn standby(&self) -> Self {
        let (bin, port) = (self.bin.clone(), self.port);
        tokio::task::spawn_blocking(move || {
            let standby = Self::new_blocking(bin);
            let port = port.to_string();
            standby.run(
                "pg_basebackup",
                &[
                    "-D",
                    &standby.data_dir(),
                    "-R",
                    "-X",
                    "stream",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
            );
            standby.start_again_blocking();
            standby
        })
        .await
        .expect("starting the standby")
    }

    /// `postgres://…/postgres` on this cluster.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the cluster at once, as a crash or a lost host would.
    pub async fn stop(&self) {
        let (pg_ctl, data) = (self.program("pg_ctl"), self.data_dir());
        let runner = self.runner();
        tokio::task::spawn_blocking(move || {
            runner.run(&pg_ctl, &["stop", "-D", &data, "-m", "immediate", "-w"]);
        })
        .await
        .expect("stopping the cluster");
    }

    /// Starts the stopped cluster again, on the same port.
    pub async fn start_again(&self) {
        let runner = self.runner();
        let (pg_ctl, args) = (self.program("pg_ctl"), self.start_args());
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            runner.run(&pg_ctl, &args);
        })
        .await
        .expect("starting the cluster");
    }

    fn start_again_blocking(&self) {
        let args = self.start_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("pg_ctl", &args);
    }

    fn start_args(&self) -> Vec<String> {
        let dir = self.dir.path().display().to_string();
        vec![
            "start".into(),
            "-D".into(),
            self.data_dir(),
            "-w".into(),
            "-l".into(),
            format!("{dir}/log"),
            "-o".into(),
            format!(
                "-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port
            ),
        ]
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn program(&self, name: &str) -> String {
        self.bin.join(name).display().to_string()
    }

    fn run(&self, name: &str, args: &[&str]) {
        self.runner().run(&self.program(name), args);
    }

    fn runner(&self) -> Runner {
        Runner {
            run_as_postgres: self.run_as_postgres,
            log: self.dir.path().join("log"),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Stopping a cluster that is already stopped fails; that is fine.
        let mut command = self.runner().command(&self.program("pg_ctl"));
        command.args(["stop", "-D", &self.data_dir(), "-m", "immediate", "-w"]);
        let _ = command.output();
    }
}

#[derive(Clone)]
struct Runner {
    run_as_postgres: bool,
    log: PathBuf,
}

impl Runner {
    fn command(&self, program: &str) -> Command {
        if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--", program]);
            command
        } else {
            Command::new(program)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}\nserver log: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

/// The directory holding initdb, pg_ctl and pg_basebackup.
fn server_binaries() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "pg_basebackup"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| has_all(d)) {
        return Some(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| has_all(d))
        .collect();
    versions.sort();
    versions.pop()
}

fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
