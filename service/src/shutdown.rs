//! Graceful shutdown, shared by the HTTP server, the job worker and the
//! WebSocket connections. SIGTERM, Ctrl-C and [`ShutdownHandle::shut_down`]
//! all trigger the same token.

use std::time::Duration;

use tokio_util::{sync::CancellationToken, task::TaskTracker};

#[derive(Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    /// Tasks the HTTP server does not wait for (upgraded WebSocket
    /// connections), so that the process waits for them to say goodbye.
    connections: TaskTracker,
}

impl Shutdown {
    pub fn trigger(&self) {
        self.token.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves once shutdown has begun.
    pub async fn triggered(&self) {
        self.token.cancelled().await;
    }

    /// Runs `task` as a long-lived connection that shutdown waits for.
    pub fn track<F>(&self, task: F) -> tokio_util::task::task_tracker::TrackedFuture<F>
    where
        F: Future,
    {
        self.connections.track_future(task)
    }

    /// Waits up to `limit` for the tracked connections to close.
    pub async fn connections_closed(&self, limit: Duration) -> bool {
        self.connections.close();
        tokio::time::timeout(limit, self.connections.wait())
            .await
            .is_ok()
    }
}

/// Stops a running server the way SIGTERM does: requests in flight finish,
/// the job worker hands back what it cannot finish, WebSockets are closed.
#[derive(Clone)]
pub struct ShutdownHandle(pub Shutdown);

impl ShutdownHandle {
    pub fn shut_down(&self) {
        self.0.trigger();
    }
}
