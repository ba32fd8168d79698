//! Counts for metrics, computed by the database at scrape time: jobs by kind and state, attempts,
//! log entries by outcome, and a histogram of the durations of finished jobs.

use serde::Serialize;

use super::{JobKind, JobState, LogOutcome, Store, StoreError, StoreResult, with_pool};

/// Upper bounds (seconds) of the job duration histogram's buckets.
pub const JOB_DURATION_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0, 86400.0,
];

/// The durations (enqueue to finish) of the finished jobs of one kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DurationHistogram {
    /// Jobs at or under each bound of [`JOB_DURATION_BUCKETS`] (cumulative).
    pub buckets: Vec<u64>,
    /// Finished jobs.
    pub count: u64,
    /// Sum of their durations, in seconds.
    pub sum_seconds: f64,
}

/// Counts over the whole store.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StoreStats {
    /// Jobs by kind and state.
    pub jobs: Vec<(JobKind, JobState, u64)>,
    /// Attempts started over all jobs.
    pub attempts: u64,
    /// Log entries by outcome.
    pub log: Vec<(LogOutcome, u64)>,
    /// Durations of finished jobs, by kind.
    pub durations: Vec<(JobKind, DurationHistogram)>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Store {
    /// Counts for metrics.
    pub async fn stats(&self) -> StoreResult<StoreStats> {
        let by_state = "SELECT kind, state, COUNT(*), CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM jobs \
                        GROUP BY kind, state ORDER BY kind, state";
        let rows: Vec<(String, String, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(by_state).fetch_all(pool).await?
        });
        let mut stats = StoreStats::default();
        for (kind, state, n, attempts) in rows {
            let kind = parse_kind(&kind)?;
            let state = parse_state(&state)?;
            stats.jobs.push((kind, state, count(n)));
            stats.attempts += count(attempts);
        }
        let by_outcome =
            "SELECT outcome, COUNT(*) FROM integration_log GROUP BY outcome ORDER BY outcome";
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(by_outcome).fetch_all(pool).await?
        });
        for (outcome, n) in rows {
            let outcome = outcome
                .parse()
                .map_err(|e: super::UnknownOutcome| StoreError::Corrupt(e.to_string()))?;
            stats.log.push((outcome, count(n)));
        }
        let mut sql = String::from(
            "SELECT kind, COUNT(*), CAST(COALESCE(SUM(updated_at - created_at), 0) AS BIGINT)",
        );
        for bound in JOB_DURATION_BUCKETS {
            let ms = (bound * 1000.0) as i64;
            sql.push_str(&format!(
                ", CAST(COALESCE(SUM(CASE WHEN updated_at - created_at <= {ms} THEN 1 ELSE 0 END), 0) AS BIGINT)"
            ));
        }
        sql.push_str(
            " FROM jobs WHERE state IN ('done', 'failed', 'gave_up') GROUP BY kind ORDER BY kind",
        );
        let rows: Vec<Vec<i64>> = with_pool!(self, pool => {
            use sqlx::Row;
            let fetched = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(fetched.len());
            for row in &fetched {
                let kind: String = row.try_get(0)?;
                let mut values = vec![kind_code(&kind)?];
                for i in 1..row.len() {
                    values.push(row.try_get::<i64, _>(i)?);
                }
                out.push(values);
            }
            out
        });
        for values in rows {
            let kind = if values[0] == 0 {
                JobKind::Create
            } else {
                JobKind::Update
            };
            stats.durations.push((
                kind,
                DurationHistogram {
                    count: count(values[1]),
                    sum_seconds: values[2] as f64 / 1000.0,
                    buckets: values[3..].iter().map(|n| count(*n)).collect(),
                },
            ));
        }
        Ok(stats)
    }
}

fn parse_kind(text: &str) -> StoreResult<JobKind> {
    match text {
        "create" => Ok(JobKind::Create),
        "update" => Ok(JobKind::Update),
        other => Err(StoreError::Corrupt(format!("job kind {other:?}"))),
    }
}

fn kind_code(text: &str) -> StoreResult<i64> {
    Ok(match parse_kind(text)? {
        JobKind::Create => 0,
        JobKind::Update => 1,
    })
}

fn parse_state(text: &str) -> StoreResult<JobState> {
    Ok(match text {
        "queued" => JobState::Queued,
        "running" => JobState::Running,
        "done" => JobState::Done,
        "failed" => JobState::Failed,
        "gave_up" => JobState::GaveUp,
        other => return Err(StoreError::Corrupt(format!("job state {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jiff::Timestamp;
    use serde_json::json;

    use super::*;
    use crate::service::store::{NewLogEntry, StoreConfig};

    #[tokio::test]
    async fn counts_and_durations_come_from_the_store() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Url(e.to_string()))?;
        let store = Store::open_sqlite(&dir.path().join("s.db"), StoreConfig::default()).await?;
        assert_eq!(store.stats().await?, StoreStats::default());
        let now = Timestamp::now();
        for _ in 0..3 {
            store.enqueue(JobKind::Create, &json!({}), now).await?;
        }
        store.enqueue(JobKind::Update, &json!({}), now).await?;
        let lease = Duration::from_secs(60);
        let first = store.claim("w", lease, now).await?.expect("a due job");
        store.complete(&first.claim()).await?;
        let second = store.claim("w", lease, now).await?.expect("a due job");
        store.fail_validation(&second.claim(), "bad").await?;
        store
            .append_log(&NewLogEntry::new(LogOutcome::Created))
            .await?;
        let stats = store.stats().await?;
        let count = |kind, state| {
            stats
                .jobs
                .iter()
                .find(|(k, s, _)| *k == kind && *s == state)
                .map_or(0, |(_, _, n)| *n)
        };
        assert_eq!(count(JobKind::Create, JobState::Done), 1);
        assert_eq!(count(JobKind::Create, JobState::Failed), 1);
        assert_eq!(count(JobKind::Create, JobState::Queued), 1);
        assert_eq!(count(JobKind::Update, JobState::Queued), 1);
        assert_eq!(stats.attempts, 2);
        assert_eq!(stats.log, vec![(LogOutcome::Created, 1)]);
        let (kind, h) = &stats.durations[0];
        assert_eq!(*kind, JobKind::Create);
        assert_eq!(h.count, 2);
        assert_eq!(h.buckets.len(), JOB_DURATION_BUCKETS.len());
        assert_eq!(
            h.buckets.last().copied(),
            Some(2),
            "both finished within a day"
        );
        assert!(h.buckets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(stats.durations.len(), 1, "no update job has finished");
        Ok(())
    }
}
