//! Which function runs each kind of job, and what giving up on one means.
//! The queue and the worker know no domain module: the services register
//! their runners here at start (see `services::runners`), and the worker
//! dispatches through this table.

use std::{collections::HashMap, future::Future, sync::Arc};

use entities::job;
use futures::{FutureExt, future::BoxFuture};

use super::{Job, JobResult, Kind, payload};
use crate::{error::AppResult, state::AppState};

type Run = Arc<dyn Fn(AppState, job::Model) -> BoxFuture<'static, JobResult> + Send + Sync>;
type GiveUp =
    Arc<dyn Fn(AppState, job::Model, String) -> BoxFuture<'static, AppResult<()>> + Send + Sync>;

struct Entry {
    run: Run,
    give_up: Option<GiveUp>,
}

#[derive(Default)]
pub struct Registry {
    entries: HashMap<Kind, Entry>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// `run` does a job of kind `J::KIND`, given its payload parsed once.
    pub fn register<J, F, Fut>(mut self, run: F) -> Self
    where
        J: Job,
        F: Fn(AppState, job::Model, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let run: Run = Arc::new(move |state, job| match payload::<J>(&job) {
            Ok(args) => run(state, job, args).boxed(),
            Err(e) => futures::future::ready(Err(e)).boxed(),
        });
        let previous = self.entries.insert(J::KIND, Entry { run, give_up: None });
        debug_assert!(previous.is_none(), "{} registered twice", J::KIND.as_str());
        self
    }

    /// What the job's object becomes once its last attempt failed (the
    /// error is the last one). A kind without it simply stays DEAD.
    pub fn on_give_up<J, F, Fut>(mut self, give_up: F) -> Self
    where
        J: Job,
        F: Fn(AppState, J, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = AppResult<()>> + Send + 'static,
    {
        let give_up: GiveUp = Arc::new(move |state, job, error| match payload::<J>(&job) {
            Ok(args) => give_up(state, args, error).boxed(),
            // Nothing to update for a payload that never parsed.
            Err(_) => futures::future::ready(Ok(())).boxed(),
        });
        match self.entries.get_mut(&J::KIND) {
            Some(entry) => entry.give_up = Some(give_up),
            // A give-up for a kind with no runner would never be called.
            None => debug_assert!(false, "{} has no runner yet", J::KIND.as_str()),
        }
        self
    }

    /// The kinds no runner was registered for; empty in a complete table.
    pub fn missing(&self) -> Vec<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|k| !self.entries.contains_key(k))
            .collect()
    }

    pub(super) fn run(&self, state: &AppState, job: &job::Model) -> BoxFuture<'static, JobResult> {
        match Kind::parse(&job.kind).and_then(|k| self.entries.get(&k)) {
            Some(entry) => (entry.run)(state.clone(), job.clone()),
            None => futures::future::ready(Err(super::JobError::Permanent(format!(
                "unknown job kind {}",
                job.kind
            ))))
            .boxed(),
        }
    }

    pub(super) fn give_up(
        &self,
        state: &AppState,
        job: &job::Model,
        error: &str,
    ) -> BoxFuture<'static, AppResult<()>> {
        match Kind::parse(&job.kind)
            .and_then(|k| self.entries.get(&k))
            .and_then(|e| e.give_up.as_ref())
        {
            Some(give_up) => give_up(state.clone(), job.clone(), error.to_owned()),
            None => futures::future::ready(Ok(())).boxed(),
        }
    }
}
