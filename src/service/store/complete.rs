//! The end of a create in one transaction: the Aurora case number in the job's progress and in the
//! Connect case's reference, the fields the incoming templates wrote back, the `created` log entry
//! and the job's completion are committed together or not at all.
//!
//! One commit instead of five is what lets a worker finish a case quickly (every commit is a disk
//! write, and a flush with `synchronous = "full"`). Nothing is lost by folding them: each of these
//! writes was only ever useful together with the others, and a job whose completion is not
//! committed is claimed again and resumes from the progress it had, exactly as when the process
//! stops between two of the separate writes.

use serde_json::Value;

use super::cases::SET_REFERENCE_SQL;
use super::log::{INSERT_LOG_SQL, bind_log_entry};
use super::{
    CaseVersion, Claim, JobProgress, LogId, NewLogEntry, Store, StoreError, StoreResult, millis,
    now_ms, to_json_text, with_writer,
};
use crate::service::redact::redact;

/// What [`Store::complete_create`] writes.
#[derive(Clone, Debug)]
pub struct CreateCompletion<'a> {
    /// The job's progress, holding the Aurora case number.
    pub progress: &'a JobProgress,
    /// The Connect case.
    pub case_ref: &'a str,
    /// The name of the reference that receives the case number.
    pub reference: &'a str,
    /// The Aurora case number.
    pub case_number: &'a str,
    /// Whether the reference is written; `false` when an earlier transaction of this attempt
    /// wrote it already.
    pub write_reference: bool,
    /// The case body with the incoming templates' writes merged in, and the version of the body
    /// it was computed from: written only if the stored body is still that version. `None` writes
    /// no body.
    pub body: Option<(&'a CaseVersion, &'a Value)>,
    /// The entry to append to the integration log (reason redacted first), if any.
    pub log: Option<&'a NewLogEntry>,
    /// Whether the job is marked done. `false` leaves it running (for an attempt that still has
    /// work to do, or whose failure the worker records).
    pub done: bool,
}

/// What [`Store::complete_create`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateCompleted {
    /// Everything is committed; the log entry's id when one was given.
    Committed(Option<LogId>),
    /// Nothing was written: the case body is no longer the version the writes were computed from
    /// (another writer changed it). Read the case, compute the writes again and retry.
    CaseChanged,
}

const BODY_SQL: &str =
    "UPDATE cases SET body = $1, updated_at = $2 WHERE reference = $3 AND body = $4";

/// The progress of a job held by claim (`$3` id, `$4` owner, `$5` attempt); `$2` now.
const PROGRESS_SQL: &str = "UPDATE jobs SET progress = $1, updated_at = $2 \
     WHERE id = $3 AND state = 'running' AND lease_owner = $4 AND attempts = $5";

/// The progress of a job held by claim, and the job done.
const DONE_SQL: &str = "UPDATE jobs SET progress = $1, updated_at = $2, state = 'done', \
     lease_owner = NULL, lease_until = NULL \
     WHERE id = $3 AND state = 'running' AND lease_owner = $4 AND attempts = $5";

/// Why the transaction stopped before its commit.
enum Abort {
    CaseChanged,
    Error(StoreError),
}

impl From<sqlx::Error> for Abort {
    fn from(error: sqlx::Error) -> Abort {
        Abort::Error(error.into())
    }
}

impl Store {
    /// Writes the end of a create held by `claim` in one transaction: the job's progress and,
    /// with `done`, its completion; the body (compare-and-set on its version); the reference
    /// `completion.reference` of the case set to the case number (with `write_reference`); the
    /// log entry.
    ///
    /// Nothing is written when any part fails: [`CreateCompleted::CaseChanged`] when the body
    /// changed since its version was read, [`StoreError::UnknownCase`] when the case is gone,
    /// [`StoreError::LeaseLost`] when the claim no longer holds the job.
    pub async fn complete_create(
        &self,
        claim: &Claim,
        completion: &CreateCompletion<'_>,
    ) -> StoreResult<CreateCompleted> {
        let progress = to_json_text(completion.progress)?;
        let body = completion
            .body
            .map(|(version, body)| Ok::<_, StoreError>((version, to_json_text(body)?)))
            .transpose()?;
        let reason = completion
            .log
            .and_then(|entry| entry.reason.as_deref())
            .map(redact);
        let now = now_ms();
        let job_sql = if completion.done {
            DONE_SQL
        } else {
            PROGRESS_SQL
        };
        let result: Result<Option<i64>, Abort> = with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let written = async {
                let affected = sqlx::query(job_sql)
                    .bind(&progress)
                    .bind(now)
                    .bind(claim.id.0)
                    .bind(&claim.owner)
                    .bind(i64::from(claim.attempt))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if affected == 0 {
                    return Err(Abort::Error(StoreError::LeaseLost(claim.id)));
                }
                if let Some((version, text)) = &body {
                    let affected = sqlx::query(BODY_SQL)
                        .bind(text)
                        .bind(now)
                        .bind(completion.case_ref)
                        .bind(&version.0)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if affected == 0 {
                        return Err(Abort::CaseChanged);
                    }
                }
                if completion.write_reference {
                    let affected = sqlx::query(SET_REFERENCE_SQL)
                        .bind(completion.case_ref)
                        .bind(completion.reference)
                        .bind(completion.case_number)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if affected == 0 {
                        return Err(Abort::Error(StoreError::UnknownCase(
                            completion.case_ref.to_owned(),
                        )));
                    }
                }
                let mut log_id = None;
                if let Some(entry) = completion.log {
                    let at = entry.at.map_or(now, millis);
                    let query = sqlx::query_scalar(INSERT_LOG_SQL);
                    let id: i64 = bind_log_entry!(query, entry, at, reason.as_deref())
                        .fetch_one(&mut *tx)
                        .await?;
                    log_id = Some(id);
                }
                Ok(log_id)
            }
            .await;
            match written {
                Ok(id) => {
                    tx.commit().await?;
                    Ok(id)
                }
                Err(abort) => {
                    tx.rollback().await?;
                    Err(abort)
                }
            }
        });
        match result {
            Ok(id) => Ok(CreateCompleted::Committed(id.map(LogId))),
            Err(Abort::CaseChanged) => Ok(CreateCompleted::CaseChanged),
            Err(Abort::Error(error)) => Err(error),
        }
    }
}
