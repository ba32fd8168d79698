//! The return-path poller: lists the blob container Aurora writes snapshots to, and enqueues an
//! update job for every snapshot not seen before.
//!
//! Each poll covers a time window: from `window` before the end of the previous poll (the cursor,
//! kept in the store so that a restart resumes where the last poll ended) up to now, never further
//! back than `max_catch_up`. The window becomes listing prefixes in UK local time
//! ([`window_prefixes`]: one per hour, or one per day for a long window); each listing is followed
//! page by page through `NextMarker`. Names already processed are skipped without fetching; the
//! others are fetched in time order and handed to [`enqueue_snapshot`], which records each name
//! once. A snapshot that cannot be read is recorded as processed and logged `skipped` with the
//! reason, so it is not fetched again.
//!
//! A failed listing or fetch (network, 5xx, a refused SAS) is logged and tried again at the next
//! poll; the cursor only moves once every snapshot of the window was handled.

use std::future::Future;
use std::time::Duration;

use jiff::Timestamp;

use super::config::UpdatesConfig;
use super::store::{LogOutcome, NewLogEntry, Store, StoreError};
use super::updates::{EnqueuedSnapshot, SnapshotRejected, enqueue_snapshot};
use crate::runtime::aurora::AuroraError;
use crate::runtime::aurora::returns::{BlobContainer, parse_blob_name, window_prefixes};

/// The store cursor holding the end of the last complete poll (RFC 3339).
pub const CURSOR: &str = "updates.polled_until";

/// Why a poll did not complete.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The container could not be listed or a blob could not be fetched.
    #[error("{0}")]
    Container(#[from] AuroraError),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What one poll did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Prefixes listed.
    pub prefixes: usize,
    /// Listing pages read.
    pub pages: usize,
    /// Snapshot names listed.
    pub listed: usize,
    /// Update jobs enqueued.
    pub enqueued: usize,
    /// Names processed before (skipped without fetching, or recorded meanwhile).
    pub already_processed: usize,
    /// Snapshots that could not be read (recorded and logged `skipped`).
    pub rejected: usize,
}

/// A poller over one container.
#[derive(Clone, Debug)]
pub struct Poller {
    store: Store,
    container: BlobContainer,
    config: UpdatesConfig,
}

impl Poller {
    /// A poller reading the container of `config`.
    pub fn new(store: Store, config: UpdatesConfig) -> Result<Poller, AuroraError> {
        let container = BlobContainer::new(&config.container)?;
        Ok(Poller {
            store,
            container,
            config,
        })
    }

    /// The window a poll at `now` covers.
    pub async fn window(&self, now: Timestamp) -> Result<(Timestamp, Timestamp), StoreError> {
        let earliest = before(now, self.config.max_catch_up);
        let from = match self.store.get_cursor(CURSOR).await? {
            Some(text) => match text.parse::<Timestamp>() {
                Ok(until) => before(until.min(now), self.config.window),
                Err(_) => {
                    tracing::warn!(cursor = %text, "the poller's cursor is not a time; starting a new window");
                    before(now, self.config.window)
                }
            },
            None => before(now, self.config.window),
        };
        Ok((from.max(earliest), now))
    }

    /// Lists the window ending `now`, enqueues every new snapshot and, when all were handled,
    /// moves the cursor to `now`.
    pub async fn poll_once(&self, now: Timestamp) -> Result<PollReport, PollError> {
        let (from, to) = self.window(now).await?;
        let prefixes = window_prefixes(from, to);
        let mut report = PollReport {
            prefixes: prefixes.len(),
            ..PollReport::default()
        };
        let mut names: Vec<String> = Vec::new();
        for prefix in &prefixes {
            let mut marker = String::new();
            for _ in 0..self.config.max_pages {
                let page = self.container.list_page(Some(prefix), &marker).await?;
                report.pages += 1;
                names.extend(page.names);
                if page.next_marker.is_empty() || page.next_marker == marker {
                    break;
                }
                marker = page.next_marker;
            }
        }
        names.sort();
        names.dedup();
        // Time order (names that do not parse as snapshot names last, by name): snapshots of
        // one case are enqueued in the order they were written.
        names.sort_by_cached_key(|n| match parse_blob_name(n) {
            Some(b) => (0, b.time, b.sequence, n.clone()),
            None => (1, Timestamp::MIN, 0, n.clone()),
        });
        report.listed = names.len();
        for name in &names {
            if self.store.is_snapshot_processed(name).await? {
                report.already_processed += 1;
                continue;
            }
            let bytes = self.container.fetch(name).await?;
            match enqueue_snapshot(&self.store, Some(name), &bytes).await {
                Ok(EnqueuedSnapshot::Enqueued(job)) => {
                    report.enqueued += 1;
                    tracing::debug!(snapshot = %name, %job, "update job enqueued");
                }
                Ok(EnqueuedSnapshot::AlreadyProcessed) => report.already_processed += 1,
                Err(SnapshotRejected::Store(e)) => return Err(e.into()),
                Err(SnapshotRejected::Invalid(reason)) => {
                    report.rejected += 1;
                    if self.store.mark_snapshot_processed(name).await? {
                        tracing::warn!(snapshot = %name, %reason, "snapshot not applied");
                        let entry = NewLogEntry::new(LogOutcome::Skipped)
                            .reason(format!("not applied: {reason}"));
                        self.store.append_log(&entry).await?;
                    }
                }
            }
        }
        self.store.set_cursor(CURSOR, &now.to_string()).await?;
        Ok(report)
    }

    /// Polls every `poll_interval` (the first poll at once) until `shutdown` resolves. Failures are
    /// logged and the poll is tried again at the next interval.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        loop {
            let poll = self.poll_once(Timestamp::now());
            let result = tokio::select! {
                result = poll => result,
                () = &mut shutdown => return,
            };
            match result {
                Ok(report) if report.enqueued > 0 || report.rejected > 0 => {
                    tracing::info!(
                        enqueued = report.enqueued,
                        rejected = report.rejected,
                        listed = report.listed,
                        "return-path poll"
                    );
                }
                Ok(report) => tracing::debug!(listed = report.listed, "return-path poll"),
                Err(error) => {
                    tracing::warn!(%error, "return-path poll failed; trying again at the next interval");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_interval) => {}
                () = &mut shutdown => return,
            }
        }
    }
}

/// `at - d`, saturating.
fn before(at: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| at.checked_sub(d).ok())
        .unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::aurora::returns::{BlobContainerSettings, format_blob_name};
    use crate::service::store::{JobKind, LogQuery, StoreConfig};
    use crate::sim::{self, SimConfig, SimHandle};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    async fn setup(
        dir: &tempfile::TempDir,
    ) -> Result<(SimHandle, Store), Box<dyn std::error::Error>> {
        let sim = sim::start(SimConfig::default(), "127.0.0.1:0".parse()?).await?;
        let store = Store::open_sqlite(&dir.path().join("amap.db"), StoreConfig::default()).await?;
        Ok((sim, store))
    }

    fn config(settings: BlobContainerSettings) -> UpdatesConfig {
        UpdatesConfig {
            container: settings,
            poll_interval: Duration::from_millis(20),
            window: Duration::from_secs(3600),
            max_catch_up: Duration::from_secs(72 * 3600),
            max_pages: 1000,
        }
    }

    fn snapshot(case_number: &str) -> Vec<u8> {
        format!(
            r#"{{"TriggerType": "CS_CHANGE_QUEUE", "Message": {{"CaseNumber": "{case_number}"}}}}"#
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn new_snapshots_are_enqueued_once_in_time_order_across_pages() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        let (sim, store) = setup(&dir).await?;
        let now = Timestamp::now();
        // Written in reverse time order; the container pages them two at a time.
        for i in (0..5u64).rev() {
            let at = before(now, Duration::from_secs(60 * (5 - i)));
            sim.put_blob(
                &format_blob_name(at, i, "CS_CHANGE_QUEUE"),
                snapshot(&format!("CS-{i}")),
            );
        }
        // Outside the window: never listed.
        let old = before(now, Duration::from_secs(5 * 3600));
        sim.put_blob(
            &format_blob_name(old, 9, "CS_CHANGE_QUEUE"),
            snapshot("CS-OLD"),
        );
        let poller = Poller::new(store.clone(), config(sim.blob_settings()))?;
        let report = poller.poll_once(now).await?;
        assert_eq!(report.enqueued, 5, "{report:?}");
        assert!(report.pages >= 3, "{report:?}");
        let mut numbers = Vec::new();
        for id in 1..=5 {
            let job = store
                .get_job(crate::service::store::JobId(id))
                .await?
                .ok_or("job missing")?;
            assert_eq!(job.kind, JobKind::Update);
            numbers.push(
                job.payload["case_number"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        assert_eq!(numbers, ["CS-0", "CS-1", "CS-2", "CS-3", "CS-4"]);

        let again = poller.poll_once(Timestamp::now()).await?;
        assert_eq!(again.enqueued, 0, "{again:?}");
        assert_eq!(again.already_processed, 5, "{again:?}");
        assert_eq!(store.job_counts().await?.queued, 5);
        Ok(())
    }

    #[tokio::test]
    async fn the_cursor_survives_a_restart_and_bounds_the_window() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        let (sim, store) = setup(&dir).await?;
        let poller = Poller::new(store.clone(), config(sim.blob_settings()))?;
        let first = Timestamp::now();
        poller.poll_once(first).await?;
        assert_eq!(store.get_cursor(CURSOR).await?, Some(first.to_string()));
        // A new poller over the same store (a restart) starts one window before the cursor.
        let restarted = Poller::new(store.clone(), config(sim.blob_settings()))?;
        let later = first + jiff::SignedDuration::from_secs(2 * 3600);
        let (from, to) = restarted.window(later).await?;
        assert_eq!(to, later);
        assert_eq!(from, first - jiff::SignedDuration::from_secs(3600));
        // A long stop: no further back than the catch-up limit.
        let much_later = first + jiff::SignedDuration::from_secs(200 * 3600);
        let (from, _) = restarted.window(much_later).await?;
        assert_eq!(
            from,
            much_later - jiff::SignedDuration::from_secs(72 * 3600)
        );
        Ok(())
    }

    #[tokio::test]
    async fn an_unreadable_snapshot_is_logged_once_and_not_fetched_again() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        let (sim, store) = setup(&dir).await?;
        let name = format_blob_name(Timestamp::now(), 1, "CS_CHANGE_QUEUE");
        sim.put_blob(&name, b"{\"Message\": {}}".to_vec());
        let poller = Poller::new(store.clone(), config(sim.blob_settings()))?;
        let report = poller.poll_once(Timestamp::now()).await?;
        assert_eq!(report.rejected, 1, "{report:?}");
        let again = poller.poll_once(Timestamp::now()).await?;
        assert_eq!(
            (again.rejected, again.already_processed),
            (0, 1),
            "{again:?}"
        );
        let log = store.query_log(&LogQuery::default()).await?;
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].outcome, LogOutcome::Skipped);
        let reason = log[0].reason.clone().unwrap_or_default();
        assert!(
            reason.contains(&name) && reason.contains("no Message.CaseNumber"),
            "{reason}"
        );
        assert_eq!(store.job_counts().await?.queued, 0);
        Ok(())
    }

    #[tokio::test]
    async fn a_refused_sas_fails_the_poll_and_keeps_the_cursor() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        let (sim, store) = setup(&dir).await?;
        let settings = BlobContainerSettings::new(sim.container_url.clone(), "sv=1&sig=wrong");
        let poller = Poller::new(store.clone(), config(settings))?;
        let result = poller.poll_once(Timestamp::now()).await;
        assert!(
            matches!(result, Err(PollError::Container(ref e)) if e.is_authentication()),
            "{result:?}"
        );
        assert_eq!(store.get_cursor(CURSOR).await?, None);
        Ok(())
    }

    #[tokio::test]
    async fn run_stops_on_shutdown() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        let (sim, store) = setup(&dir).await?;
        let poller = Poller::new(store.clone(), config(sim.blob_settings()))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(poller.run(async {
            let _ = rx.await;
        }));
        sim.put_blob(
            &format_blob_name(Timestamp::now(), 1, "CS_CHANGE_QUEUE"),
            snapshot("CS-RUN"),
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.job_counts().await?.queued == 0 {
            if tokio::time::Instant::now() > deadline {
                return Err("the running poller never enqueued the snapshot".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = tx.send(());
        tokio::time::timeout(Duration::from_secs(5), task).await??;
        Ok(())
    }
}
