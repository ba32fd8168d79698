//! The worker pool: claims due jobs, runs them through a [`JobHandler`], applies the retry policy
//! and writes the integration log.
//!
//! Each worker holds its job under a lease that it renews (every third of the lease) while the
//! handler runs. A worker that stops without finishing (the process is killed, the task dropped)
//! stops renewing; once the lease expires another worker claims the job again and the handler
//! resumes from the job's saved [`JobProgress`].
//!
//! What the handler answers decides what happens next:
//!
//! | [`Outcome`] | job | log entry |
//! |---|---|---|
//! | `Done` | done (unless the handler committed it already with [`JobContext::complete_create`]) | none (the handler logs `created` / `updated` itself through [`JobContext::log`] or with the completion) |
//! | `Validation(reason)` | failed, never retried | `validation_failure` |
//! | `Transient(reason)` | queued again after the policy's delay | `transient_failure` with the next attempt's time |
//! | `Transient(reason)` on the last attempt | gave up | `gave_up` |
//! | `Deferred(at)` | queued until `at`; the attempt is not counted | `deferred` |

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::retry::RetryPolicy;
use super::store::{
    Claim, CreateCompleted, CreateCompletion, Job, JobProgress, LogId, LogOutcome, NewLogEntry,
    Store, StoreError, StoreResult, after,
};

/// What a handler reports for one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The job is finished.
    Done,
    /// The job cannot succeed as it stands; the reason names the problem (for a mapping, its
    /// `file:line`). Never retried.
    Validation(String),
    /// A failure that may pass (network, timeout, 5xx, 408, 429); retried per the policy.
    Transient(String),
    /// Not now: run again at this time, without counting this attempt.
    Deferred(Timestamp),
}

/// What a handler gets for one attempt: the job, the store, and a way to record progress and log.
#[derive(Clone, Debug)]
pub struct JobContext {
    store: Store,
    job: Job,
    claim: Claim,
    progress: Arc<Mutex<JobProgress>>,
    /// Set once the handler has committed the job's completion itself.
    completed: Arc<AtomicBool>,
}

impl JobContext {
    /// The job as claimed (its `attempts` counts this attempt; `progress` is as of the claim).
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The claim under which the job is held.
    pub fn claim(&self) -> &Claim {
        &self.claim
    }

    /// This attempt's number (1-based).
    pub fn attempt(&self) -> u32 {
        self.job.attempts
    }

    /// The steps recorded so far, including those saved during this attempt.
    pub fn progress(&self) -> JobProgress {
        self.progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the steps done so far, durably, so that a later attempt does not repeat them.
    pub async fn save_progress(&self, progress: &JobProgress) -> StoreResult<()> {
        self.store.save_progress(&self.claim, progress).await?;
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner) = progress.clone();
        Ok(())
    }

    /// Appends a log entry, filling in what the entry leaves unset: the job and attempt, the case and
    /// template from the job's payload, and the Aurora case number from the progress.
    pub async fn log(&self, entry: NewLogEntry) -> StoreResult<LogId> {
        let entry = label(entry, &self.job, &self.progress());
        self.store.append_log(&entry).await
    }

    /// Commits the end of a create in one transaction ([`Store::complete_create`]); its log entry
    /// is labelled as [`JobContext::log`] labels one (from `completion.progress`). When the
    /// transaction marks the job done, the worker takes the handler's [`Outcome::Done`] as already
    /// recorded.
    pub async fn complete_create(
        &self,
        completion: &CreateCompletion<'_>,
    ) -> StoreResult<CreateCompleted> {
        let labelled = completion
            .log
            .map(|entry| label(entry.clone(), &self.job, completion.progress));
        let completion = CreateCompletion {
            log: labelled.as_ref(),
            ..completion.clone()
        };
        let outcome = self.store.complete_create(&self.claim, &completion).await?;
        if let CreateCompleted::Committed(_) = outcome {
            *self.progress.lock().unwrap_or_else(PoisonError::into_inner) =
                completion.progress.clone();
            if completion.done {
                self.completed.store(true, Ordering::SeqCst);
            }
        }
        Ok(outcome)
    }
}

fn label(mut entry: NewLogEntry, job: &Job, progress: &JobProgress) -> NewLogEntry {
    if entry.job_id.is_none() {
        entry.job_id = Some(job.id);
        entry.attempt = Some(job.attempts);
    }
    if entry.case_ref.is_none() {
        entry.case_ref = job.case_ref().map(str::to_owned);
    }
    if entry.template.is_none() {
        entry.template = job.template().map(str::to_owned);
    }
    if entry.aurora_case_number.is_none() {
        entry.aurora_case_number = progress.case_number.clone();
    }
    entry
}

/// Runs one attempt of a job.
pub trait JobHandler: Send + Sync + 'static {
    /// Does the job's work and reports how it went.
    fn handle(&self, ctx: JobContext) -> impl Future<Output = Outcome> + Send;
}

impl<F, Fut> JobHandler for F
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    fn handle(&self, ctx: JobContext) -> impl Future<Output = Outcome> + Send {
        self(ctx)
    }
}

/// Worker pool settings.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// How long a claim holds a job without renewal.
    pub lease: Duration,
    /// Longest idle wait before looking for due jobs again.
    pub poll_interval: Duration,
    /// How long shutdown waits for running jobs before dropping them (their leases then expire and
    /// they are claimed again).
    pub shutdown_grace: Duration,
    /// The retry policy.
    pub retry: Arc<RetryPolicy>,
    /// Prefix of the worker names recorded as lease owners; unique per process when `None`.
    pub name: Option<String>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 2,
            lease: Duration::from_secs(300),
            poll_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
            retry: Arc::new(RetryPolicy::default()),
            name: None,
        }
    }
}

/// Runs `config.concurrency` workers until `shutdown` resolves, then waits up to
/// `config.shutdown_grace` for running jobs to finish. Database errors are logged with `tracing`
/// and retried after `poll_interval`; they never end the pool.
pub async fn run_workers<H: JobHandler>(
    store: Store,
    config: WorkerConfig,
    handler: H,
    shutdown: impl Future<Output = ()> + Send,
) {
    let handler = Arc::new(handler);
    let prefix = config
        .name
        .clone()
        .unwrap_or_else(|| format!("w{}-{:08x}", std::process::id(), rand::random::<u32>()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = JoinSet::new();
    for n in 0..config.concurrency.max(1) {
        workers.spawn(worker_loop(
            store.clone(),
            config.clone(),
            Arc::clone(&handler),
            format!("{prefix}/{n}"),
            stop_rx.clone(),
        ));
    }
    shutdown.await;
    // Receivers live in the workers; a send error only means they have all ended.
    let _ = stop_tx.send(true);
    let drain = async { while workers.join_next().await.is_some() {} };
    if tokio::time::timeout(config.shutdown_grace, drain)
        .await
        .is_err()
    {
        workers.abort_all();
        while workers.join_next().await.is_some() {}
    }
}

async fn worker_loop<H: JobHandler>(
    store: Store,
    config: WorkerConfig,
    handler: Arc<H>,
    worker_id: String,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let signal = store.enqueue_signal().notified();
        tokio::pin!(signal);
        signal.as_mut().enable();
        let wait = match store
            .claim(&worker_id, config.lease, Timestamp::now())
            .await
        {
            Ok(Some(job)) => {
                run_one(&store, &config, &handler, job).await;
                continue;
            }
            Ok(None) => idle_wait(&store, config.poll_interval).await,
            Err(error) => {
                tracing::warn!(worker = %worker_id, %error, "claiming a job failed");
                config.poll_interval
            }
        };
        tokio::select! {
            () = &mut signal => {}
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// How long to sleep when nothing is due: until the next job is due, at most `poll_interval`.
async fn idle_wait(store: &Store, poll_interval: Duration) -> Duration {
    match store.next_due().await {
        Ok(Some(due)) => {
            let ms = due.as_millisecond() - Timestamp::now().as_millisecond();
            let until_due = Duration::from_millis(u64::try_from(ms.max(1)).unwrap_or(1));
            until_due.min(poll_interval)
        }
        Ok(None) | Err(_) => poll_interval,
    }
}

/// Aborts the task when dropped, so that dropping a worker also stops the handler it was running.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run_one<H: JobHandler>(store: &Store, config: &WorkerConfig, handler: &Arc<H>, job: Job) {
    let claim = job.claim();
    let max = config.retry.max_attempts();
    if job.attempts > max {
        // The last allowed attempt stopped without finishing and its lease expired.
        let reason = format!("attempt {max} of {max} stopped without finishing");
        if finish(store.abandon(&claim, &reason).await, &claim) {
            let entry = NewLogEntry::new(LogOutcome::GaveUp)
                .job(job.id, max)
                .reason(reason);
            log(store, &job, &job.progress, entry).await;
        }
        return;
    }

    let progress = Arc::new(Mutex::new(job.progress.clone()));
    let completed = Arc::new(AtomicBool::new(false));
    let ctx = JobContext {
        store: store.clone(),
        job: job.clone(),
        claim: claim.clone(),
        progress: Arc::clone(&progress),
        completed: Arc::clone(&completed),
    };
    let task_handler = Arc::clone(handler);
    let mut task = AbortOnDrop(tokio::spawn(async move { task_handler.handle(ctx).await }));

    let beat_every = (config.lease / 3).max(Duration::from_millis(10));
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + beat_every, beat_every);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let joined = loop {
        tokio::select! {
            joined = &mut task.0 => break joined,
            _ = beat.tick() => {
                let until = after(Timestamp::now(), config.lease);
                match store.extend_lease(&claim, until).await {
                    Ok(()) => {}
                    Err(StoreError::LeaseLost(_)) => {
                        tracing::warn!(job = %claim.id, "lease lost while running; dropping the attempt");
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(job = %claim.id, %error, "renewing a lease failed");
                    }
                }
            }
        }
    };
    let outcome = match joined {
        Ok(outcome) => outcome,
        Err(error) if error.is_panic() => Outcome::Transient("the job handler panicked".into()),
        Err(_) => return,
    };
    if outcome == Outcome::Done && completed.load(Ordering::SeqCst) {
        // The handler committed the completion with its last writes.
        return;
    }
    let progress = progress
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    apply(store, config, &job, &claim, &progress, outcome).await;
}

async fn apply(
    store: &Store,
    config: &WorkerConfig,
    job: &Job,
    claim: &Claim,
    progress: &JobProgress,
    outcome: Outcome,
) {
    match outcome {
        Outcome::Done => {
            finish(store.complete(claim).await, claim);
        }
        Outcome::Validation(reason) => {
            if finish(store.fail_validation(claim, &reason).await, claim) {
                let entry = NewLogEntry::new(LogOutcome::ValidationFailure).reason(reason);
                log(store, job, progress, entry).await;
            }
        }
        Outcome::Transient(reason) => match config.retry.next_delay(job.attempts) {
            Some(delay) => {
                let run_at = after(Timestamp::now(), delay);
                if finish(store.retry_later(claim, &reason, run_at).await, claim) {
                    let entry = NewLogEntry::new(LogOutcome::TransientFailure)
                        .reason(reason)
                        .next_attempt_at(run_at);
                    log(store, job, progress, entry).await;
                }
            }
            None => {
                let max = config.retry.max_attempts();
                let reason = format!("attempt {} of {max} failed: {reason}", job.attempts);
                if finish(store.give_up(claim, &reason).await, claim) {
                    let entry = NewLogEntry::new(LogOutcome::GaveUp).reason(reason);
                    log(store, job, progress, entry).await;
                }
            }
        },
        Outcome::Deferred(run_at) => {
            if finish(store.defer(claim, run_at).await, claim) {
                let entry = NewLogEntry::new(LogOutcome::Deferred).next_attempt_at(run_at);
                log(store, job, progress, entry).await;
            }
        }
    }
}

/// Reports a failed state change; `true` when the change was made.
fn finish(result: StoreResult<()>, claim: &Claim) -> bool {
    match result {
        Ok(()) => true,
        Err(StoreError::LeaseLost(_)) => {
            tracing::warn!(job = %claim.id, "lease lost before the attempt's result was saved");
            false
        }
        Err(error) => {
            // The lease will expire and the job will be claimed again.
            tracing::warn!(job = %claim.id, %error, "saving the attempt's result failed");
            false
        }
    }
}

async fn log(store: &Store, job: &Job, progress: &JobProgress, entry: NewLogEntry) {
    let entry = label(entry, job, progress);
    if let Err(error) = store.append_log(&entry).await {
        tracing::warn!(job = %job.id, %error, "writing the integration log failed");
    }
}
