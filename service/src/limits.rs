//! Bounds on what one caller can cost the server: password hashing, sign-in
//! and sign-up attempts per client address, and WebSocket connections and
//! subscriptions. Each limit is per server process; the durable ones (failed
//! sign-ins per account) live in the database (see `services::accounts`).

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use governor::{DefaultKeyedRateLimiter, Quota};
use prometheus::IntGauge;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::{
    config::Config,
    error::{AppError, AppResult},
    metrics::Held,
};

/// How long a password hash waits for a free slot before the caller is told
/// to come back.
const HASH_WAIT: Duration = Duration::from_secs(2);

/// Work handed to a hashing thread.
type HashJob = Box<dyn FnOnce() + Send>;

/// The limits of one server.
pub struct Limits {
    /// Slots for Argon2 work (about one per core).
    hashing: Arc<Semaphore>,
    /// The threads that hash, as many as the slots. Always the same few
    /// threads: each keeps its 19 MiB working memory in its own allocator
    /// arena, where a fresh blocking thread per hash would leave one such
    /// block behind in every arena it touched (seen as 390 MB after 200
    /// sign-ins, against 34 MB idle).
    hashers: std::sync::mpsc::SyncSender<HashJob>,
    sign_in_by_address: DefaultKeyedRateLimiter<String>,
    sign_up_by_address: DefaultKeyedRateLimiter<String>,
    password_reset_by_address: DefaultKeyedRateLimiter<String>,
    /// Open WebSocket connections per person and per address.
    pub sockets_by_user: Slots,
    pub sockets_by_address: Slots,
}

/// A quota of `count` per `period`, all of which may be used at once.
fn quota(count: u32, period: Duration) -> Quota {
    let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
    let each = period / count.get();
    Quota::with_period(each.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(count))
        .allow_burst(count)
}

impl Limits {
    pub fn new(config: &Config) -> Self {
        let threads = config.password_hash_concurrency;
        // A slot is taken before a job is sent, so the queue never holds
        // more than there are slots.
        let (hashers, jobs) = std::sync::mpsc::sync_channel::<HashJob>(threads);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match jobs.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the server is gone
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self {
            hashers,
            hashing: Arc::new(Semaphore::new(threads)),
            sign_in_by_address: DefaultKeyedRateLimiter::keyed(quota(
                config.sign_in_address_limit,
                config.sign_in_window,
            )),
            sign_up_by_address: DefaultKeyedRateLimiter::keyed(quota(
                config.sign_up_address_limit,
                Duration::from_secs(3600),
            )),
            password_reset_by_address: DefaultKeyedRateLimiter::keyed(quota(
                config.password_reset_address_limit,
                Duration::from_secs(3600),
            )),
            sockets_by_user: Slots::new(config.ws_max_connections_per_user),
            sockets_by_address: Slots::new(config.ws_max_connections_per_address),
        }
    }

    /// Runs one password hash (or check) on a hashing thread, waiting a
    /// moment for a free slot; `RATE_LIMITED` if none frees up.
    pub async fn hash<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> AppResult<T> {
        let slot = self.hashing_slot().await?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: HashJob = Box::new(move || {
            let _slot = slot;
            let _ = done.send(work());
        });
        self.hashers
            .send(job)
            .map_err(|_| AppError::internal(anyhow::anyhow!("the hashing threads stopped")))?;
        result
            .await
            .map_err(|_| AppError::internal(anyhow::anyhow!("a hashing thread failed")))
    }

    async fn hashing_slot(&self) -> AppResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(HASH_WAIT, self.hashing.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(AppError::RateLimited {
                message: "the server is busy signing people in; try again in a few seconds".into(),
                retry_after_secs: 2,
            }),
        }
    }

    /// Counts a sign-in attempt from `address`.
    pub fn sign_in_attempt(&self, address: &str) -> AppResult<()> {
        check(
            &self.sign_in_by_address,
            address,
            "too many sign-in attempts from your network; try again later",
        )
    }

    /// Counts a sign-up from `address`.
    pub fn sign_up_attempt(&self, address: &str) -> AppResult<()> {
        check(
            &self.sign_up_by_address,
            address,
            "too many new accounts from your network; try again later",
        )
    }

    /// Counts a password reset request from `address`.
    pub fn password_reset_attempt(&self, address: &str) -> AppResult<()> {
        check(
            &self.password_reset_by_address,
            address,
            "too many password reset requests from your network; try again later",
        )
    }

    /// Forgets addresses whose allowance is full again, so the maps stay
    /// the size of the recent callers.
    pub fn forget_idle(&self) {
        self.sign_in_by_address.retain_recent();
        self.sign_up_by_address.retain_recent();
        self.password_reset_by_address.retain_recent();
    }
}

fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &str, message: &str) -> AppResult<()> {
    limiter.check_key(&key.to_owned()).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        AppError::RateLimited {
            message: message.to_owned(),
            retry_after_secs: wait.as_secs().max(1),
        }
    })
}

/// Counted slots per key (a person, an address): at most `max` held at
/// once; a slot is given back when its [`Slot`] is dropped.
#[derive(Clone)]
pub struct Slots {
    max: usize,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

impl Slots {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            held: Default::default(),
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot for `key`, or `None` when all of its slots are taken.
    pub fn try_take(&self, key: &str) -> Option<Slot> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(key.to_owned()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot {
            key: key.to_owned(),
            held: self.held.clone(),
        })
    }
}

/// One taken slot.
pub struct Slot {
    key: String,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// The live subscriptions of one WebSocket connection: capped, watched so
/// that a connection left without any is closed after a while, and counted
/// in the server's gauge of all live subscriptions.
#[derive(Clone)]
pub struct SubscriptionSlots {
    max: usize,
    active: Arc<watch::Sender<usize>>,
    counted: IntGauge,
}

/// One running subscription; dropping it (the stream ended) frees its slot.
pub struct SubscriptionSlot {
    active: Arc<watch::Sender<usize>>,
    _counted: Held,
}

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        self.active.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl SubscriptionSlots {
    /// `counted` is the server's gauge of live subscriptions.
    pub fn new(max: usize, counted: IntGauge) -> Self {
        Self {
            max,
            active: Arc::new(watch::Sender::new(0)),
            counted,
        }
    }

    pub fn try_take(&self) -> AppResult<SubscriptionSlot> {
        let mut taken = false;
        self.active.send_if_modified(|n| {
            taken = *n < self.max;
            if taken {
                *n += 1;
            }
            taken
        });
        if !taken {
            return Err(AppError::RateLimited {
                message: format!(
                    "a connection may hold at most {} subscriptions; stop one or open another connection",
                    self.max
                ),
                retry_after_secs: 1,
            });
        }
        Ok(SubscriptionSlot {
            active: self.active.clone(),
            _counted: Held::new(self.counted.clone()),
        })
    }

    /// Resolves once the connection has had no subscription for `idle`.
    pub async fn idle_for(&self, idle: Duration) {
        let mut active = self.active.subscribe();
        loop {
            if *active.borrow_and_update() == 0 {
                tokio::select! {
                    () = tokio::time::sleep(idle) => return,
                    changed = active.changed() => if changed.is_err() { return },
                }
            } else if active.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_key_and_given_back() {
        let slots = Slots::new(2);
        let a1 = slots.try_take("a").unwrap();
        let _a2 = slots.try_take("a").unwrap();
        assert!(slots.try_take("a").is_none());
        assert!(slots.try_take("b").is_some());
        drop(a1);
        assert!(slots.try_take("a").is_some());
    }

    #[tokio::test]
    async fn subscriptions_are_capped_and_idle_is_noticed() {
        let gauge = IntGauge::new("subscriptions", "live").unwrap();
        let subs = SubscriptionSlots::new(1, gauge.clone());
        let one = subs.try_take().unwrap();
        assert!(subs.try_take().is_err());
        assert_eq!(gauge.get(), 1, "a refused subscription is not counted");
        // Not idle while a subscription runs.
        let idle = tokio::time::timeout(
            Duration::from_millis(50),
            subs.idle_for(Duration::from_millis(10)),
        )
        .await;
        assert!(idle.is_err());
        drop(one);
        assert_eq!(gauge.get(), 0);
        tokio::time::timeout(
            Duration::from_secs(5),
            subs.idle_for(Duration::from_millis(10)),
        )
        .await
        .unwrap();
        assert!(subs.try_take().is_ok());
    }

    #[test]
    fn an_address_has_its_allowance_and_others_theirs() {
        let limiter = DefaultKeyedRateLimiter::keyed(quota(3, Duration::from_secs(3600)));
        for _ in 0..3 {
            check(&limiter, "10.0.0.1", "x").unwrap();
        }
        let err = check(&limiter, "10.0.0.1", "x").unwrap_err();
        assert!(
            matches!(err, AppError::RateLimited { retry_after_secs, .. } if retry_after_secs > 0)
        );
        check(&limiter, "10.0.0.2", "x").unwrap();
    }
}
