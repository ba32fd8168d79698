//! The integration log: one entry per outcome of a job attempt, for people and for the API.
//!
//! Every reason is passed through [`redact`] before it is stored, so credentials quoted in an
//! upstream answer or request never reach the log.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{Store, StoreError, StoreResult, millis, timestamp, with_pool, with_writer};
use crate::service::redact::redact;
use crate::service::store::JobId;

/// Identifier of a log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogId(pub i64);

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogOutcome {
    /// An Aurora case was created.
    Created,
    /// Connect fields were updated from Aurora.
    Updated,
    /// The job cannot succeed as it stands (a mapping failed, a required value is missing, Aurora
    /// refused the request as invalid); not retried.
    ValidationFailure,
    /// A transient failure; the entry names the next attempt's time.
    TransientFailure,
    /// Transient failures used up every attempt.
    GaveUp,
    /// A file Aurora refused was replaced by a link in a note.
    AttachmentFallback,
    /// A create may have been sent twice (its first answer was lost and no look-up was possible).
    PossibleDuplicate,
    /// The job chose to wait; the entry names when it runs again.
    Deferred,
    /// Nothing to do (for example a snapshot for a case no Connect case holds).
    Skipped,
}

impl LogOutcome {
    /// Every outcome, in declaration order.
    pub const ALL: &'static [LogOutcome] = &[
        LogOutcome::Created,
        LogOutcome::Updated,
        LogOutcome::ValidationFailure,
        LogOutcome::TransientFailure,
        LogOutcome::GaveUp,
        LogOutcome::AttachmentFallback,
        LogOutcome::PossibleDuplicate,
        LogOutcome::Deferred,
        LogOutcome::Skipped,
    ];

    /// The stored (and serialised) name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogOutcome::Created => "created",
            LogOutcome::Updated => "updated",
            LogOutcome::ValidationFailure => "validation_failure",
            LogOutcome::TransientFailure => "transient_failure",
            LogOutcome::GaveUp => "gave_up",
            LogOutcome::AttachmentFallback => "attachment_fallback",
            LogOutcome::PossibleDuplicate => "possible_duplicate",
            LogOutcome::Deferred => "deferred",
            LogOutcome::Skipped => "skipped",
        }
    }
}

impl fmt::Display for LogOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An outcome name that is not one of [`LogOutcome::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown log outcome {0:?}")]
pub struct UnknownOutcome(pub String);

impl FromStr for LogOutcome {
    type Err = UnknownOutcome;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        LogOutcome::ALL
            .iter()
            .copied()
            .find(|o| o.as_str() == text)
            .ok_or_else(|| UnknownOutcome(text.to_owned()))
    }
}

/// An entry to append. Build with [`NewLogEntry::new`] and the setters.
#[derive(Clone, Debug, PartialEq)]
pub struct NewLogEntry {
    /// When it happened; `None` means now.
    pub at: Option<Timestamp>,
    /// The Connect case.
    pub case_ref: Option<String>,
    /// The template applied.
    pub template: Option<String>,
    /// The Aurora case number.
    pub aurora_case_number: Option<String>,
    /// The job.
    pub job_id: Option<JobId>,
    /// The job's attempt number.
    pub attempt: Option<u32>,
    /// What happened.
    pub outcome: LogOutcome,
    /// Why (redacted before it is stored).
    pub reason: Option<String>,
    /// When the job runs again (transient failures, deferrals).
    pub next_attempt_at: Option<Timestamp>,
}

impl NewLogEntry {
    /// An entry with only its outcome set.
    pub fn new(outcome: LogOutcome) -> Self {
        NewLogEntry {
            at: None,
            case_ref: None,
            template: None,
            aurora_case_number: None,
            job_id: None,
            attempt: None,
            outcome,
            reason: None,
            next_attempt_at: None,
        }
    }

    /// Sets the time.
    pub fn at(mut self, at: Timestamp) -> Self {
        self.at = Some(at);
        self
    }

    /// Sets the Connect case.
    pub fn case_ref(mut self, case_ref: impl Into<String>) -> Self {
        self.case_ref = Some(case_ref.into());
        self
    }

    /// Sets the template.
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// Sets the Aurora case number.
    pub fn aurora_case_number(mut self, number: impl Into<String>) -> Self {
        self.aurora_case_number = Some(number.into());
        self
    }

    /// Sets the job and attempt.
    pub fn job(mut self, id: JobId, attempt: u32) -> Self {
        self.job_id = Some(id);
        self.attempt = Some(attempt);
        self
    }

    /// Sets the reason.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the next attempt's time.
    pub fn next_attempt_at(mut self, at: Timestamp) -> Self {
        self.next_attempt_at = Some(at);
        self
    }
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogEntry {
    /// Its id (increasing with insertion).
    pub id: LogId,
    /// When it happened.
    #[serde(with = "super::rfc3339")]
    pub at: Timestamp,
    /// The Connect case.
    pub case_ref: Option<String>,
    /// The template applied.
    pub template: Option<String>,
    /// The Aurora case number.
    pub aurora_case_number: Option<String>,
    /// The job.
    pub job_id: Option<JobId>,
    /// The job's attempt number.
    pub attempt: Option<u32>,
    /// What happened.
    pub outcome: LogOutcome,
    /// Why.
    pub reason: Option<String>,
    /// When the job runs again.
    #[serde(with = "super::rfc3339::option")]
    pub next_attempt_at: Option<Timestamp>,
}

/// A filter over the log; every field set must match. Results are newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Only this Connect case.
    pub case_ref: Option<String>,
    /// Only this template.
    pub template: Option<String>,
    /// Only this outcome.
    pub outcome: Option<LogOutcome>,
    /// Only the job with this id.
    pub job_id: Option<JobId>,
    /// Only entries at or after this time.
    pub since: Option<Timestamp>,
    /// Only entries before this time.
    pub until: Option<Timestamp>,
    /// Only entries older than this one (for paging: pass the last id of the previous page).
    pub before_id: Option<LogId>,
    /// At most this many entries; `None` or 0 means [`LogQuery::DEFAULT_LIMIT`], and anything above
    /// [`LogQuery::MAX_LIMIT`] is cut to it.
    pub limit: Option<u32>,
}

impl LogQuery {
    /// Entries returned when no limit is given.
    pub const DEFAULT_LIMIT: u32 = 100;
    /// The largest limit honoured.
    pub const MAX_LIMIT: u32 = 1000;

    /// The limit that applies.
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            None | Some(0) => Self::DEFAULT_LIMIT,
            Some(n) => n.min(Self::MAX_LIMIT),
        }
    }
}

type LogRow = (
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    Option<i64>,
);

fn entry_from_row(row: LogRow) -> StoreResult<LogEntry> {
    let (id, at, case_ref, template, aurora_case_number, job_id, attempt, outcome, reason, next) =
        row;
    Ok(LogEntry {
        id: LogId(id),
        at: timestamp(at)?,
        case_ref,
        template,
        aurora_case_number,
        job_id: job_id.map(JobId),
        attempt: attempt
            .map(|a| u32::try_from(a).map_err(|_| StoreError::Corrupt(format!("attempt {a}"))))
            .transpose()?,
        outcome: outcome
            .parse()
            .map_err(|e: UnknownOutcome| StoreError::Corrupt(e.to_string()))?,
        reason,
        next_attempt_at: next.map(timestamp).transpose()?,
    })
}

/// The filtered, newest-first select for `query`, in the placeholder style of `DB`.
fn select_log<DB>(query: &LogQuery) -> QueryBuilder<DB>
where
    DB: Database,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new(
        "SELECT id, at, case_ref, template, aurora_case_number, job_id, attempt, outcome, reason, \
         next_attempt_at FROM integration_log WHERE 1 = 1",
    );
    if let Some(case_ref) = &query.case_ref {
        sql.push(" AND case_ref = ").push_bind(case_ref.clone());
    }
    if let Some(template) = &query.template {
        sql.push(" AND template = ").push_bind(template.clone());
    }
    if let Some(outcome) = query.outcome {
        sql.push(" AND outcome = ")
            .push_bind(outcome.as_str().to_owned());
    }
    if let Some(job_id) = query.job_id {
        sql.push(" AND job_id = ").push_bind(job_id.0);
    }
    if let Some(since) = query.since {
        sql.push(" AND at >= ").push_bind(millis(since));
    }
    if let Some(until) = query.until {
        sql.push(" AND at < ").push_bind(millis(until));
    }
    if let Some(before) = query.before_id {
        sql.push(" AND id < ").push_bind(before.0);
    }
    sql.push(" ORDER BY at DESC, id DESC LIMIT ")
        .push_bind(i64::from(query.effective_limit()));
    sql
}

/// Adds one log entry; its values are bound by [`bind_log_entry`].
pub(super) const INSERT_LOG_SQL: &str = "INSERT INTO integration_log (at, case_ref, template, \
     aurora_case_number, job_id, attempt, outcome, reason, next_attempt_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

/// Binds a [`NewLogEntry`]'s values to a query of [`INSERT_LOG_SQL`], in its column order: the
/// time `at` (milliseconds) and the already redacted `reason` come from the caller. (A macro,
/// because each database backend has its own query type.)
macro_rules! bind_log_entry {
    ($query:expr, $entry:expr, $at:expr, $reason:expr) => {
        $query
            .bind($at)
            .bind($entry.case_ref.as_deref())
            .bind($entry.template.as_deref())
            .bind($entry.aurora_case_number.as_deref())
            .bind($entry.job_id.map(|j| j.0))
            .bind($entry.attempt.map(i64::from))
            .bind($entry.outcome.as_str())
            .bind($reason)
            .bind($entry.next_attempt_at.map(millis))
    };
}
pub(super) use bind_log_entry;

impl Store {
    /// Appends an entry; its reason is redacted first.
    pub async fn append_log(&self, entry: &NewLogEntry) -> StoreResult<LogId> {
        let at = millis(entry.at.unwrap_or_else(Timestamp::now));
        let reason = entry.reason.as_deref().map(redact);
        let id: i64 = with_writer!(self, pool => {
            bind_log_entry!(sqlx::query_scalar(INSERT_LOG_SQL), entry, at, reason.as_deref())
                .fetch_one(pool)
                .await?
        });
        Ok(LogId(id))
    }

    /// The entries matching `query`, newest first.
    pub async fn query_log(&self, query: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        let rows: Vec<LogRow> = with_pool!(self, pool => {
            let mut sql = select_log(query);
            sql.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter().map(entry_from_row).collect()
    }
}
