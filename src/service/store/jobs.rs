//! The durable job queue.
//!
//! A job is `queued` until a worker claims it; the claim makes it `running` under a lease (an owner
//! and an expiry time) and counts one attempt. A worker that stops without finishing (crash, kill)
//! leaves a lease that expires, and the job is claimed again. Every later change of a running job
//! names the [`Claim`] it was made under, so a worker whose lease was taken over cannot overwrite the
//! new holder's work ([`StoreError::LeaseLost`]).
//!
//! ```text
//! queued ──claim──▶ running ──complete──────▶ done
//!   ▲                 │ ├──fail_validation──▶ failed
//!   └──retry_later────┘ └──give_up / abandon─▶ gave_up
//!   └──defer──────────┘          (lease expired: claimed again from running)
//! ```

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Backend, Store, StoreError, StoreResult, after, from_json_text, millis, now_ms, timestamp,
    to_json_text, with_pool, with_writer,
};
use crate::service::redact::redact;
use crate::service::store::AttachmentId;

/// Identifier of a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Apply a create template to a Connect case.
    Create,
    /// Apply the incoming templates for an Aurora case that changed.
    Update,
}

impl JobKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Create => "create",
            JobKind::Update => "update",
        }
    }

    fn parse(text: &str) -> StoreResult<JobKind> {
        match text {
            "create" => Ok(JobKind::Create),
            "update" => Ok(JobKind::Update),
            other => Err(StoreError::Corrupt(format!("job kind {other:?}"))),
        }
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_at`.
    Queued,
    /// Held by a worker until `lease_until`.
    Running,
    /// Finished successfully.
    Done,
    /// Finished with a validation failure; never retried.
    Failed,
    /// Transient failures used up every attempt.
    GaveUp,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::GaveUp => "gave_up",
        }
    }

    fn parse(text: &str) -> StoreResult<JobState> {
        Ok(match text {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            "gave_up" => JobState::GaveUp,
            other => return Err(StoreError::Corrupt(format!("job state {other:?}"))),
        })
    }

    /// Whether the job will not run again.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed | JobState::GaveUp)
    }
}

/// A file of the case that was uploaded to Aurora.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedAttachment {
    /// The stored attachment.
    pub attachment: AttachmentId,
    /// The id Aurora gave the upload.
    pub aurora_id: String,
    /// The file name sent with it.
    pub name: String,
}

/// What a job has already done, so that a retry resumes instead of repeating a step that succeeded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobProgress {
    /// The Aurora contact found or created for the case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// Files uploaded to Aurora.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uploaded_attachments: Vec<UploadedAttachment>,
    /// Files Aurora refused, to be linked from a note instead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected_attachments: Vec<AttachmentId>,
    /// Set just before CreateCase is sent: if the answer is lost, a retry must not blindly send
    /// it again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub create_sent: bool,
    /// The Aurora case number, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    /// Further steps recorded by the flows (kept as JSON, round-tripped unchanged).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// Its input. By convention the string members `case_ref` and `template`, when present, label
    /// the job's integration log entries.
    pub payload: Value,
    /// Where it is.
    pub state: JobState,
    /// Attempts started so far (a claim starts one).
    pub attempts: u32,
    /// When it is due (for a queued job).
    #[serde(with = "super::rfc3339")]
    pub run_at: Timestamp,
    /// The worker holding it (running jobs).
    pub lease_owner: Option<String>,
    /// When the holder's lease expires (running jobs).
    #[serde(with = "super::rfc3339::option")]
    pub lease_until: Option<Timestamp>,
    /// Steps already done.
    pub progress: JobProgress,
    /// The reason of the last failure.
    pub last_error: Option<String>,
    /// When it was enqueued.
    #[serde(with = "super::rfc3339")]
    pub created_at: Timestamp,
    /// When it last changed.
    #[serde(with = "super::rfc3339")]
    pub updated_at: Timestamp,
}

impl Job {
    /// The claim under which a running job is held; pass it to every change of the job.
    pub fn claim(&self) -> Claim {
        Claim {
            id: self.id,
            owner: self.lease_owner.clone().unwrap_or_default(),
            attempt: self.attempts,
        }
    }

    /// The payload's `case_ref` string, if any.
    pub fn case_ref(&self) -> Option<&str> {
        self.payload.get("case_ref").and_then(Value::as_str)
    }

    /// The payload's `template` string, if any.
    pub fn template(&self) -> Option<&str> {
        self.payload.get("template").and_then(Value::as_str)
    }
}

/// Proof of holding a running job: its id, the lease owner and the attempt number of the claim.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Claim {
    /// The job.
    pub id: JobId,
    /// The worker that claimed it.
    pub owner: String,
    /// The attempt the claim started.
    pub attempt: u32,
}

/// Number of jobs in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JobCounts {
    /// Waiting.
    pub queued: u64,
    /// Held by a worker.
    pub running: u64,
    /// Finished successfully.
    pub done: u64,
    /// Failed validation.
    pub failed: u64,
    /// Given up after transient failures.
    pub gave_up: u64,
}

type JobRow = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    String,
    Option<String>,
    i64,
    i64,
);

macro_rules! job_columns {
    () => {
        "id, kind, payload, state, attempts, run_at, lease_owner, lease_until, progress, \
         last_error, created_at, updated_at"
    };
}

/// Claims the due job with the earliest `run_at`: a queued job whose time has come, or a running
/// job whose lease has expired. `$1` owner, `$2` lease expiry, `$3` now. The outer condition repeats
/// the inner one so that a row changed by a concurrent claim between the sub-select and the update
/// is not taken twice; `$lock` is the dialect's row-locking clause of the sub-select.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, \
             lease_until = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs \
                 WHERE (state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until <= $3) \
                 ORDER BY run_at, id LIMIT 1 ",
            $lock,
            ") AND ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until <= $3)) \
             RETURNING ",
            job_columns!()
        )
    };
}

const CLAIM_SQLITE: &str = claim_sql!("");
const CLAIM_POSTGRES: &str = claim_sql!("FOR UPDATE SKIP LOCKED");

/// Moves a running job held by claim (`$6` id, `$7` owner, `$8` attempt) to state `$1`, with an
/// optional new last error `$2` and run time `$3`, adding `$4` to the attempt count; `$5` now.
const TRANSITION_SQL: &str = "UPDATE jobs SET state = $1, last_error = COALESCE($2, last_error), \
     run_at = COALESCE($3, run_at), attempts = attempts + $4, lease_owner = NULL, \
     lease_until = NULL, updated_at = $5 \
     WHERE id = $6 AND state = 'running' AND lease_owner = $7 AND attempts = $8";

fn job_from_row(row: JobRow) -> StoreResult<Job> {
    let (
        id,
        kind,
        payload,
        state,
        attempts,
        run_at,
        lease_owner,
        lease_until,
        progress,
        last_error,
        created_at,
        updated_at,
    ) = row;
    Ok(Job {
        id: JobId(id),
        kind: JobKind::parse(&kind)?,
        payload: from_json_text("job payload", &payload)?,
        state: JobState::parse(&state)?,
        attempts: u32::try_from(attempts)
            .map_err(|_| StoreError::Corrupt(format!("job attempts {attempts}")))?,
        run_at: timestamp(run_at)?,
        lease_owner,
        lease_until: lease_until.map(timestamp).transpose()?,
        progress: from_json_text("job progress", &progress)?,
        last_error,
        created_at: timestamp(created_at)?,
        updated_at: timestamp(updated_at)?,
    })
}

/// A new job, queued with no attempts: `$1` kind, `$2` payload, `$3` due time, `$4` progress,
/// `$5` now (bound by [`bind_new_job`]).
const INSERT_JOB_SQL: &str = "INSERT INTO jobs (kind, payload, state, attempts, run_at, progress, \
     created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $4, $5, $5) RETURNING id";

/// [`INSERT_JOB_SQL`], only when the case `$6` is stored.
const INSERT_JOB_FOR_CASE_SQL: &str = "INSERT INTO jobs (kind, payload, state, attempts, run_at, \
     progress, created_at, updated_at) SELECT $1, $2, 'queued', 0, $3, $4, $5, $5 \
     WHERE EXISTS (SELECT 1 FROM cases WHERE reference = $6) RETURNING id";

/// The values of a new job, as the insert statements take them.
struct NewJob {
    kind: &'static str,
    payload: String,
    run_at: i64,
    progress: String,
    now: i64,
}

impl NewJob {
    fn new(kind: JobKind, payload: &Value, run_at: Timestamp) -> StoreResult<NewJob> {
        Ok(NewJob {
            kind: kind.as_str(),
            payload: to_json_text(payload)?,
            run_at: millis(run_at),
            progress: to_json_text(&JobProgress::default())?,
            now: now_ms(),
        })
    }
}

/// Binds a [`NewJob`] as `$1`–`$5` of [`INSERT_JOB_SQL`] or [`INSERT_JOB_FOR_CASE_SQL`]. (A
/// macro, because each database backend has its own query type.)
macro_rules! bind_new_job {
    ($query:expr, $job:expr) => {
        $query
            .bind($job.kind)
            .bind(&$job.payload)
            .bind($job.run_at)
            .bind(&$job.progress)
            .bind($job.now)
    };
}

impl Store {
    /// Adds a job due at `run_at`. The job is committed (durable) when this returns.
    pub async fn enqueue(
        &self,
        kind: JobKind,
        payload: &Value,
        run_at: Timestamp,
    ) -> StoreResult<JobId> {
        let job = NewJob::new(kind, payload, run_at)?;
        let id: i64 = with_writer!(self, pool => {
            bind_new_job!(sqlx::query_scalar(INSERT_JOB_SQL), job)
                .fetch_one(pool)
                .await?
        });
        self.inner.enqueued.notify_one();
        Ok(JobId(id))
    }

    /// Adds a job due at `run_at` if the case `case_ref` is stored, in one statement; `None` (and
    /// no job) when it is not. The job is committed (durable) when this returns.
    pub async fn enqueue_for_case(
        &self,
        case_ref: &str,
        kind: JobKind,
        payload: &Value,
        run_at: Timestamp,
    ) -> StoreResult<Option<JobId>> {
        let job = NewJob::new(kind, payload, run_at)?;
        let id: Option<i64> = with_writer!(self, pool => {
            bind_new_job!(sqlx::query_scalar(INSERT_JOB_FOR_CASE_SQL), job)
                .bind(case_ref)
                .fetch_optional(pool)
                .await?
        });
        if id.is_some() {
            self.inner.enqueued.notify_one();
        }
        Ok(id.map(JobId))
    }

    /// Enqueues a job for the snapshot `name` unless that name was processed already: records the
    /// name and adds the job in one transaction, so that a name seen twice (two pollers, a poller
    /// and a push, a restart between the two steps) gives one job. `None` when the name was
    /// recorded before.
    pub async fn enqueue_once(
        &self,
        name: &str,
        kind: JobKind,
        payload: &Value,
        run_at: Timestamp,
    ) -> StoreResult<Option<JobId>> {
        let job = NewJob::new(kind, payload, run_at)?;
        let mark = "INSERT INTO processed_snapshots (name, processed_at) VALUES ($1, $2) \
                    ON CONFLICT (name) DO NOTHING";
        let id: Option<i64> = with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let marked = sqlx::query(mark)
                .bind(name)
                .bind(job.now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if marked == 0 {
                tx.rollback().await?;
                None
            } else {
                let id: i64 = bind_new_job!(sqlx::query_scalar(INSERT_JOB_SQL), job)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Some(id)
            }
        });
        if id.is_some() {
            self.inner.enqueued.notify_one();
        }
        Ok(id.map(JobId))
    }

    /// The job with this id.
    pub async fn get_job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
        let row: Option<JobRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id.0).fetch_optional(pool).await?
        });
        row.map(job_from_row).transpose()
    }

    /// Atomically takes one due job for `worker_id`: the queued job with the earliest `run_at` not
    /// after `now`, or a running job whose lease expired by `now` (its worker stopped). The job comes
    /// back `running`, its attempt count raised by one, leased until `now + lease`. Two claimers never
    /// get the same job.
    pub async fn claim(
        &self,
        worker_id: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<Job>> {
        let until = millis(after(now, lease));
        let now = millis(now);
        let row: Option<JobRow> = match &self.inner.backend {
            Backend::Sqlite { write, .. } => {
                let mut connection = write.acquire().await?;
                sqlx::query_as(CLAIM_SQLITE)
                    .bind(worker_id)
                    .bind(until)
                    .bind(now)
                    .fetch_optional(&mut *connection)
                    .await?
            }
            Backend::Postgres(pool) => {
                sqlx::query_as(CLAIM_POSTGRES)
                    .bind(worker_id)
                    .bind(until)
                    .bind(now)
                    .fetch_optional(pool)
                    .await?
            }
        };
        row.map(job_from_row).transpose()
    }

    /// Extends the lease of a running job (a worker's heartbeat while a long step runs).
    pub async fn extend_lease(&self, claim: &Claim, until: Timestamp) -> StoreResult<()> {
        let sql = "UPDATE jobs SET lease_until = $1, updated_at = $2 \
                   WHERE id = $3 AND state = 'running' AND lease_owner = $4 AND attempts = $5";
        let affected = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(millis(until))
                .bind(now_ms())
                .bind(claim.id.0)
                .bind(&claim.owner)
                .bind(i64::from(claim.attempt))
                .execute(pool)
                .await?
                .rows_affected()
        });
        held(claim, affected)
    }

    /// Records the steps done so far; a later attempt reads them from [`Job::progress`].
    pub async fn save_progress(&self, claim: &Claim, progress: &JobProgress) -> StoreResult<()> {
        let progress = to_json_text(progress)?;
        let sql = "UPDATE jobs SET progress = $1, updated_at = $2 \
                   WHERE id = $3 AND state = 'running' AND lease_owner = $4 AND attempts = $5";
        let affected = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(&progress)
                .bind(now_ms())
                .bind(claim.id.0)
                .bind(&claim.owner)
                .bind(i64::from(claim.attempt))
                .execute(pool)
                .await?
                .rows_affected()
        });
        held(claim, affected)
    }

    /// Marks the job done.
    pub async fn complete(&self, claim: &Claim) -> StoreResult<()> {
        self.transition(claim, JobState::Done, None, None, 0).await
    }

    /// Marks the job failed for a reason that a retry cannot fix; it is not run again.
    pub async fn fail_validation(&self, claim: &Claim, reason: &str) -> StoreResult<()> {
        self.transition(claim, JobState::Failed, Some(reason), None, 0)
            .await
    }

    /// Puts the job back in the queue, due at `run_at`, after a transient failure.
    pub async fn retry_later(
        &self,
        claim: &Claim,
        reason: &str,
        run_at: Timestamp,
    ) -> StoreResult<()> {
        self.transition(claim, JobState::Queued, Some(reason), Some(run_at), 0)
            .await
    }

    /// Marks the job given up: its attempts are used up.
    pub async fn give_up(&self, claim: &Claim, reason: &str) -> StoreResult<()> {
        self.transition(claim, JobState::GaveUp, Some(reason), None, 0)
            .await
    }

    /// Gives the job up without counting the claim as an attempt: used when a job is claimed again
    /// after its last allowed attempt stopped without finishing.
    pub async fn abandon(&self, claim: &Claim, reason: &str) -> StoreResult<()> {
        self.transition(claim, JobState::GaveUp, Some(reason), None, -1)
            .await
    }

    /// Puts the job back in the queue until `run_at` without counting this claim as an attempt
    /// (the job chose to wait, it did not fail).
    pub async fn defer(&self, claim: &Claim, run_at: Timestamp) -> StoreResult<()> {
        self.transition(claim, JobState::Queued, None, Some(run_at), -1)
            .await
    }

    async fn transition(
        &self,
        claim: &Claim,
        state: JobState,
        reason: Option<&str>,
        run_at: Option<Timestamp>,
        attempts_delta: i64,
    ) -> StoreResult<()> {
        let reason = reason.map(redact);
        let affected = with_writer!(self, pool => {
            sqlx::query(TRANSITION_SQL)
                .bind(state.as_str())
                .bind(reason.as_deref())
                .bind(run_at.map(millis))
                .bind(attempts_delta)
                .bind(now_ms())
                .bind(claim.id.0)
                .bind(&claim.owner)
                .bind(i64::from(claim.attempt))
                .execute(pool)
                .await?
                .rows_affected()
        });
        held(claim, affected)
    }

    /// The earliest time a job becomes claimable: the first `run_at` of a queued job or the first
    /// lease expiry of a running one. `None` when no job is waiting or running.
    pub async fn next_due(&self) -> StoreResult<Option<Timestamp>> {
        let sql = "SELECT MIN(t) FROM (\
                   SELECT MIN(run_at) AS t FROM jobs WHERE state = 'queued' \
                   UNION ALL SELECT MIN(lease_until) AS t FROM jobs WHERE state = 'running'\
                   ) AS due";
        let ms: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(sql).fetch_one(pool).await?
        });
        ms.map(timestamp).transpose()
    }

    /// Number of jobs in each state.
    pub async fn job_counts(&self) -> StoreResult<JobCounts> {
        let sql = "SELECT state, COUNT(*) FROM jobs GROUP BY state";
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        let mut counts = JobCounts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match JobState::parse(&state)? {
                JobState::Queued => counts.queued = n,
                JobState::Running => counts.running = n,
                JobState::Done => counts.done = n,
                JobState::Failed => counts.failed = n,
                JobState::GaveUp => counts.gave_up = n,
            }
        }
        Ok(counts)
    }
}

fn held(claim: &Claim, affected: u64) -> StoreResult<()> {
    if affected == 0 {
        Err(StoreError::LeaseLost(claim.id))
    } else {
        Ok(())
    }
}
