//! Return-path snapshots into update jobs: shared by the poller (a blob it listed) and the HTTP push
//! endpoint (a snapshot a relay sent).
//!
//! A snapshot is parsed ([`Snapshot`]), its time taken (its `Date`, else the time in its blob name,
//! else now) and an [`UpdateJob`] enqueued. The snapshot's name is recorded as processed in the same
//! transaction as the enqueue ([`Store::enqueue_once`]), so a name seen twice — listed again after
//! a restart, by a second instance, or both listed and pushed — gives one job. A pushed snapshot
//! without a name is named by a hash of its bytes: the same bytes pushed twice are applied once.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::payload::UpdateJob;
use super::store::{JobId, JobKind, Store, StoreError};
use crate::runtime::aurora::returns::{Snapshot, parse_blob_name};

/// What became of a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnqueuedSnapshot {
    /// An update job was enqueued.
    Enqueued(JobId),
    /// A snapshot of this name was processed before; nothing was enqueued.
    AlreadyProcessed,
}

/// Why a snapshot was not enqueued.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotRejected {
    /// The snapshot is not one the service can apply (not JSON, not an object, no
    /// `Message.CaseNumber`). Nothing was recorded: the same name is rejected again if seen again.
    #[error("{0}")]
    Invalid(String),
    /// The store failed; nothing was recorded.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The name recorded for a pushed snapshot that came without one: a hash of its bytes.
pub fn pushed_snapshot_name(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("pushed-sha256-{hex}")
}

/// Builds the update job of a snapshot without storing anything.
///
/// `name` is the blob name (or the name a relay gave); its time stands in when the snapshot has
/// no readable `Date`, and `now` when neither has one.
pub fn update_job(
    name: Option<&str>,
    bytes: &[u8],
    now: Timestamp,
) -> Result<UpdateJob, SnapshotRejected> {
    let name = name.filter(|n| !n.trim().is_empty());
    let snapshot = Snapshot::parse_named(name.unwrap_or("<body>"), bytes)
        .map_err(|e| SnapshotRejected::Invalid(e.to_string()))?;
    let taken_at = snapshot
        .date
        .or_else(|| name.and_then(parse_blob_name).map(|b| b.time))
        .unwrap_or(now);
    Ok(UpdateJob {
        snapshot_name: name.map(str::to_owned),
        case_number: snapshot.case_number,
        taken_at: taken_at.to_string(),
        snapshot: snapshot.body,
    })
}

/// Parses the snapshot and enqueues its update job, once per name.
///
/// `name` is the blob name; `None` (or an empty name) for a pushed snapshot, which is then named
/// by [`pushed_snapshot_name`]. A snapshot that does not parse is rejected and not recorded.
pub async fn enqueue_snapshot(
    store: &Store,
    name: Option<&str>,
    bytes: &[u8],
) -> Result<EnqueuedSnapshot, SnapshotRejected> {
    let now = Timestamp::now();
    let job = update_job(name, bytes, now)?;
    let recorded = match &job.snapshot_name {
        Some(name) => name.clone(),
        None => pushed_snapshot_name(bytes),
    };
    let payload = serde_json::to_value(&job)
        .map_err(|e| SnapshotRejected::Invalid(format!("snapshot {recorded}: {e}")))?;
    match store
        .enqueue_once(&recorded, JobKind::Update, &payload, now)
        .await?
    {
        Some(id) => Ok(EnqueuedSnapshot::Enqueued(id)),
        None => Ok(EnqueuedSnapshot::AlreadyProcessed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::store::{JobState, StoreConfig};
    use serde_json::json;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const BLOB: &str = "20251202_09465684_1_CS_CHANGE_QUEUE.json";

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    async fn store(dir: &tempfile::TempDir) -> Result<Store, StoreError> {
        Store::open_sqlite(&dir.path().join("amap.db"), StoreConfig::default()).await
    }

    #[test]
    fn the_time_is_the_date_then_the_blob_name_then_now() -> TestResult {
        let now = ts("2026-01-01T00:00:00Z");
        let dated = br#"{"Date": "2025-12-02T10:00:00.5Z", "Message": {"CaseNumber": "CS-1"}}"#;
        let undated = br#"{"Message": {"CaseNumber": 1001}}"#;
        assert_eq!(
            update_job(Some(BLOB), dated, now)?.taken_at,
            "2025-12-02T10:00:00.5Z"
        );
        let from_name = update_job(Some(BLOB), undated, now)?;
        assert_eq!(from_name.taken_at, "2025-12-02T09:46:56.84Z");
        assert_eq!(from_name.case_number, "1001");
        assert_eq!(from_name.snapshot_name.as_deref(), Some(BLOB));
        let unnamed = update_job(Some("not-a-snapshot-name"), undated, now)?;
        assert_eq!(unnamed.taken_at, "2026-01-01T00:00:00Z");
        let pushed = update_job(None, undated, now)?;
        assert_eq!(pushed.taken_at, "2026-01-01T00:00:00Z");
        assert_eq!(pushed.snapshot_name, None);
        Ok(())
    }

    #[test]
    fn the_job_carries_the_body_with_newlines_restored() -> TestResult {
        let bytes = br#"{"Message": {"CaseNumber": " CS-7 ", "Text": "a\\nb"}}"#;
        let job = update_job(None, bytes, Timestamp::UNIX_EPOCH)?;
        assert_eq!(job.case_number, "CS-7");
        assert_eq!(
            job.snapshot,
            json!({"Message": {"CaseNumber": " CS-7 ", "Text": "a\nb"}})
        );
        Ok(())
    }

    #[test]
    fn rejections_name_the_problem_and_the_blob() {
        let cases: [(&[u8], &str); 4] = [
            (b"{not json", "not JSON"),
            (b"[1, 2]", "not a JSON object"),
            (br#"{"Message": {}}"#, "no Message.CaseNumber"),
            (
                br#"{"Message": {"CaseNumber": "  "}}"#,
                "no Message.CaseNumber",
            ),
        ];
        for (bytes, expected) in cases {
            match update_job(Some(BLOB), bytes, Timestamp::UNIX_EPOCH) {
                Err(SnapshotRejected::Invalid(message)) => {
                    assert!(message.contains(expected), "{message}");
                    assert!(message.contains(BLOB), "{message}");
                }
                other => panic!("expected a rejection for {bytes:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn pushed_names_depend_on_the_bytes_only() {
        let a = pushed_snapshot_name(b"{\"a\": 1}");
        assert_eq!(a, pushed_snapshot_name(b"{\"a\": 1}"));
        assert_ne!(a, pushed_snapshot_name(b"{\"a\": 2}"));
        assert!(a.starts_with("pushed-sha256-"));
        assert_eq!(a.len(), "pushed-sha256-".len() + 64);
    }

    #[tokio::test]
    async fn a_name_seen_twice_is_enqueued_once() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        let store = store(&dir).await?;
        let bytes = br#"{"Message": {"CaseNumber": "CS-1"}}"#;
        let first = enqueue_snapshot(&store, Some(BLOB), bytes).await?;
        let EnqueuedSnapshot::Enqueued(id) = first else {
            return Err(format!("first sighting not enqueued: {first:?}").into());
        };
        assert_eq!(
            enqueue_snapshot(&store, Some(BLOB), bytes).await?,
            EnqueuedSnapshot::AlreadyProcessed
        );
        assert!(store.is_snapshot_processed(BLOB).await?);
        let job = store.get_job(id).await?.ok_or("job missing")?;
        assert_eq!(job.kind, JobKind::Update);
        assert_eq!(job.state, JobState::Queued);
        let payload: UpdateJob = serde_json::from_value(job.payload)?;
        assert_eq!(payload.case_number, "CS-1");
        assert_eq!(payload.snapshot_name.as_deref(), Some(BLOB));
        assert_eq!(store.job_counts().await?.queued, 1);
        Ok(())
    }

    #[tokio::test]
    async fn pushed_bytes_seen_twice_are_enqueued_once() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        let store = store(&dir).await?;
        let a = br#"{"Message": {"CaseNumber": "CS-1"}, "Date": "2025-12-02T10:00:00Z"}"#;
        let b = br#"{"Message": {"CaseNumber": "CS-1"}, "Date": "2025-12-02T11:00:00Z"}"#;
        assert!(matches!(
            enqueue_snapshot(&store, None, a).await?,
            EnqueuedSnapshot::Enqueued(_)
        ));
        assert_eq!(
            enqueue_snapshot(&store, Some(""), a).await?,
            EnqueuedSnapshot::AlreadyProcessed
        );
        assert!(matches!(
            enqueue_snapshot(&store, None, b).await?,
            EnqueuedSnapshot::Enqueued(_)
        ));
        assert!(
            store
                .is_snapshot_processed(&pushed_snapshot_name(a))
                .await?
        );
        assert_eq!(store.job_counts().await?.queued, 2);
        Ok(())
    }

    #[tokio::test]
    async fn a_rejected_snapshot_records_nothing() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        let store = store(&dir).await?;
        let result = enqueue_snapshot(&store, Some(BLOB), b"{}").await;
        assert!(matches!(result, Err(SnapshotRejected::Invalid(_))));
        assert!(!store.is_snapshot_processed(BLOB).await?);
        assert_eq!(store.job_counts().await?.queued, 0);
        Ok(())
    }

    #[tokio::test]
    async fn concurrent_sightings_of_one_name_give_one_job() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        let store = store(&dir).await?;
        let bytes: &'static [u8] = br#"{"Message": {"CaseNumber": "CS-9"}}"#;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = store.clone();
            tasks.spawn(async move { enqueue_snapshot(&store, Some(BLOB), bytes).await });
        }
        let mut enqueued = 0;
        while let Some(result) = tasks.join_next().await {
            if let EnqueuedSnapshot::Enqueued(_) = result?? {
                enqueued += 1;
            }
        }
        assert_eq!(enqueued, 1);
        assert_eq!(store.job_counts().await?.queued, 1);
        Ok(())
    }
}
