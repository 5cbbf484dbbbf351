//! The server as `api serve` runs it, built beside the tests so that a test
//! can run it as a process of its own (`CARGO_BIN_EXE_server`): the traces
//! test needs the process's own subscriber and exporter, installed from its
//! environment, and its exit, which exports the last spans.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::startup::serve().await
}
