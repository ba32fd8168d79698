//! The service store, job queue, retry policy and worker pool, on real SQLite files.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use amap::runtime::eval::{FieldWrite, WriteTarget};
use amap::service::retry::{RetryConfig, RetryPolicy};
use amap::service::store::{
    CaseRecord, CreateCompleted, CreateCompletion, JobId, JobKind, JobProgress, JobState,
    LogOutcome, LogQuery, NewLogEntry, SnapshotTime, Store, StoreConfig, StoreError,
    UploadedAttachment, after, applied_snapshot_time,
};
use amap::service::worker::{JobContext, Outcome, WorkerConfig, run_workers};
use jiff::Timestamp;
use serde_json::json;
use tempfile::TempDir;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn open(dir: &TempDir) -> Result<Store, StoreError> {
    Store::open_sqlite(&dir.path().join("amap.db"), StoreConfig::default()).await
}

fn ms(n: i64) -> Timestamp {
    Timestamp::from_millisecond(n).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn case(reference: &str, references: &[(&str, &str)]) -> CaseRecord {
    CaseRecord {
        reference: reference.into(),
        case_type: "pothole".into(),
        status: Some("open".into()),
        body: json!({"fields": {"depth": 40}}),
        references: references
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

// ---------------------------------------------------------------- opening

#[tokio::test]
async fn opens_creates_the_file_in_wal_mode_and_reopens() -> TestResult {
    let dir = TempDir::new()?;
    let path = dir.path().join("nested.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url, StoreConfig::default()).await?;
    assert!(path.exists());
    let id = store
        .enqueue(
            JobKind::Create,
            &json!({"case_ref": "C1"}),
            Timestamp::now(),
        )
        .await?;
    store.close().await;
    // The write-ahead log is in use: its side file exists while a connection is open.
    let store = Store::open(path.to_str().unwrap_or_default(), StoreConfig::default()).await?;
    assert!(dir.path().join("nested.db-wal").exists());
    let job = store.get_job(id).await?.ok_or("job lost across reopen")?;
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.payload, json!({"case_ref": "C1"}));
    Ok(())
}

#[tokio::test]
async fn rejects_urls_it_does_not_understand() {
    for url in ["", "mysql://localhost/x", "sqlite://"] {
        let result = Store::open(url, StoreConfig::default()).await;
        assert!(matches!(result, Err(StoreError::Url(_))), "{url:?}");
    }
}

#[tokio::test]
async fn debug_output_names_no_url() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let debug = format!("{store:?}");
    assert!(debug.contains("Sqlite"));
    assert!(!debug.contains(&dir.path().display().to_string()));
    Ok(())
}

// ---------------------------------------------------------------- jobs

#[tokio::test]
async fn claims_due_jobs_in_order_and_not_future_ones() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let later = store
        .enqueue(JobKind::Create, &json!({"n": 3}), ms(5_000))
        .await?;
    let second = store
        .enqueue(JobKind::Update, &json!({"n": 2}), ms(2_000))
        .await?;
    let first = store
        .enqueue(JobKind::Create, &json!({"n": 1}), ms(1_000))
        .await?;
    let lease = Duration::from_secs(60);

    let job = store
        .claim("w1", lease, ms(3_000))
        .await?
        .ok_or("none due")?;
    assert_eq!(job.id, first);
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.lease_owner.as_deref(), Some("w1"));
    assert_eq!(job.lease_until, Some(ms(63_000)));
    let job = store
        .claim("w1", lease, ms(3_000))
        .await?
        .ok_or("none due")?;
    assert_eq!(job.id, second);
    assert_eq!(job.kind, JobKind::Update);
    assert!(store.claim("w1", lease, ms(3_000)).await?.is_none());
    assert_eq!(store.next_due().await?, Some(ms(5_000)));
    let job = store
        .claim("w1", lease, ms(5_000))
        .await?
        .ok_or("none due")?;
    assert_eq!(job.id, later);
    Ok(())
}

#[tokio::test]
async fn an_expired_lease_lets_another_worker_take_the_job() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let id = store.enqueue(JobKind::Create, &json!({}), ms(0)).await?;
    let lease = Duration::from_millis(500);
    let crashed = store
        .claim("a", lease, ms(1_000))
        .await?
        .ok_or("none due")?;
    // Still leased: nobody else gets it.
    assert!(store.claim("b", lease, ms(1_499)).await?.is_none());
    // Expired: taken up again, as a new attempt.
    let taken = store
        .claim("b", lease, ms(1_500))
        .await?
        .ok_or("not reclaimed")?;
    assert_eq!(taken.id, id);
    assert_eq!(taken.attempts, 2);
    assert_eq!(taken.lease_owner.as_deref(), Some("b"));
    // The first holder can no longer change the job.
    let stale = crashed.claim();
    assert!(matches!(
        store.complete(&stale).await,
        Err(StoreError::LeaseLost(lost)) if lost == id
    ));
    assert!(matches!(
        store.save_progress(&stale, &JobProgress::default()).await,
        Err(StoreError::LeaseLost(_))
    ));
    store.complete(&taken.claim()).await?;
    assert_eq!(
        store.get_job(id).await?.map(|j| j.state),
        Some(JobState::Done)
    );
    // A finished job is never claimed again.
    assert!(store.claim("c", lease, ms(1_000_000)).await?.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_on_one_file_never_share_a_job() -> TestResult {
    let dir = TempDir::new()?;
    let first = open(&dir).await?;
    let second = open(&dir).await?;
    let total = 200;
    let mut ids = HashSet::new();
    for n in 0..total {
        ids.insert(
            first
                .enqueue(JobKind::Create, &json!({ "n": n }), ms(0))
                .await?,
        );
    }
    let mut claimers = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let store = if worker % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        claimers.spawn(async move {
            let name = format!("w{worker}");
            let mut mine = Vec::new();
            while let Some(job) = store
                .claim(&name, Duration::from_secs(60), Timestamp::now())
                .await?
            {
                store.complete(&job.claim()).await?;
                mine.push(job.id);
            }
            Ok::<_, StoreError>(mine)
        });
    }
    let mut claimed = Vec::new();
    while let Some(result) = claimers.join_next().await {
        claimed.extend(result??);
    }
    assert_eq!(claimed.len(), total);
    let unique: HashSet<JobId> = claimed.iter().copied().collect();
    assert_eq!(unique, ids, "a job was claimed twice or not at all");
    let counts = first.job_counts().await?;
    assert_eq!(counts.done, total as u64);
    assert_eq!(counts.queued + counts.running, 0);
    Ok(())
}

#[tokio::test]
async fn transitions_record_state_reason_and_progress() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let lease = Duration::from_secs(60);
    let id = store.enqueue(JobKind::Create, &json!({}), ms(0)).await?;

    let job = store.claim("w", lease, ms(10)).await?.ok_or("none due")?;
    let mut progress = JobProgress {
        contact_id: Some("C-77".into()),
        uploaded_attachments: vec![UploadedAttachment {
            attachment: amap::service::store::AttachmentId(4),
            aurora_id: "att-1".into(),
            name: "photo.jpg".into(),
        }],
        create_sent: true,
        ..JobProgress::default()
    };
    progress.extra.insert("note_added".into(), json!(true));
    store.save_progress(&job.claim(), &progress).await?;
    store
        .retry_later(&job.claim(), "Aurora answered 503", ms(1_000))
        .await?;
    let queued = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!(queued.run_at, ms(1_000));
    assert_eq!(queued.last_error.as_deref(), Some("Aurora answered 503"));
    assert_eq!(queued.progress, progress);
    assert_eq!(queued.lease_owner, None);
    assert!(store.claim("w", lease, ms(999)).await?.is_none());

    // Deferring does not count the attempt.
    let job = store
        .claim("w", lease, ms(1_000))
        .await?
        .ok_or("none due")?;
    assert_eq!(job.attempts, 2);
    assert_eq!(job.progress, progress);
    store.defer(&job.claim(), ms(2_000)).await?;
    let job = store
        .claim("w", lease, ms(2_000))
        .await?
        .ok_or("none due")?;
    assert_eq!(job.attempts, 2);

    store
        .give_up(&job.claim(), "token=abc123 refused; still 503")
        .await?;
    let given_up = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(given_up.state, JobState::GaveUp);
    assert!(given_up.state.is_final());
    assert_eq!(
        given_up.last_error.as_deref(),
        Some("token=[redacted] refused; still 503")
    );

    let id = store.enqueue(JobKind::Create, &json!({}), ms(0)).await?;
    let job = store.claim("w", lease, ms(10)).await?.ok_or("none due")?;
    store
        .fail_validation(&job.claim(), "caseTypeCode missing (pothole.amap:3)")
        .await?;
    let failed = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(failed.state, JobState::Failed);
    assert!(store.get_job(JobId(9_999)).await?.is_none());
    let json = serde_json::to_value(&failed)?;
    assert_eq!(json["state"], "failed");
    assert_eq!(json["kind"], "create");
    assert_eq!(json["run_at"], "1970-01-01T00:00:00Z");
    Ok(())
}

#[tokio::test]
async fn a_job_for_a_case_is_enqueued_only_if_the_case_is_stored() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    assert_eq!(
        store
            .enqueue_for_case("C-1", JobKind::Create, &json!({"case_ref": "C-1"}), ms(0))
            .await?,
        None
    );
    assert_eq!(store.job_counts().await?.queued, 0);
    store.upsert_case(&case("C-1", &[])).await?;
    let id = store
        .enqueue_for_case("C-1", JobKind::Create, &json!({"case_ref": "C-1"}), ms(5))
        .await?
        .ok_or("not enqueued")?;
    let job = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.kind, JobKind::Create);
    assert_eq!(job.run_at, ms(5));
    assert_eq!(job.case_ref(), Some("C-1"));
    assert_eq!(job.progress, JobProgress::default());
    Ok(())
}

#[tokio::test]
async fn a_put_answers_the_case_as_it_left_it() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let mut first = case("C-1", &[("connect_ref", "X-1")]);
    first.body = json!({"fields": {"depth": 40}, "integration": {"from": "connect"}});
    let (created, answer) = store.put_case_keeping(&first, "integration").await?;
    assert!(created);
    let stored = store.read_case("C-1").await?.ok_or("no case")?;
    assert_eq!(answer, stored);
    assert_eq!(answer.case.case.body, json!({"fields": {"depth": 40}}));

    // The integration's member and an existing reference are kept; a file is counted.
    store
        .set_case_reference("C-1", "aurora_case", "AUR-1")
        .await?;
    let mut body = stored.case.case.body.clone();
    body["integration"] = json!({"applied": {"aurora_case": "2025-12-02T09:00:00Z"}});
    store.set_case_body("C-1", &body).await?;
    store
        .add_attachment("C-1", "photo.jpg", "image/jpeg", b"jpeg")
        .await?;
    let mut second = case("C-1", &[("connect_ref", "X-2")]);
    second.body = json!({"fields": {"depth": 55}});
    let (created, answer) = store.put_case_keeping(&second, "integration").await?;
    assert!(!created);
    let stored = store.read_case("C-1").await?.ok_or("no case")?;
    assert_eq!(answer, stored);
    assert_eq!(answer.attachments, 1);
    assert_eq!(
        answer.case.case.body,
        json!({"fields": {"depth": 55},
               "integration": {"applied": {"aurora_case": "2025-12-02T09:00:00Z"}}})
    );
    assert_eq!(
        answer.case.case.references,
        BTreeMap::from([
            ("aurora_case".to_owned(), "AUR-1".to_owned()),
            ("connect_ref".to_owned(), "X-2".to_owned()),
        ])
    );
    Ok(())
}

// ---------------------------------------------------------------- a create's end

#[tokio::test]
async fn a_creates_end_is_committed_in_one_transaction() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let lease = Duration::from_secs(60);
    store.upsert_case(&case("C-1", &[("other", "x")])).await?;
    let id = store
        .enqueue(JobKind::Create, &json!({"case_ref": "C-1"}), ms(0))
        .await?;
    let job = store.claim("w", lease, ms(10)).await?.ok_or("none due")?;
    let read = store.read_case("C-1").await?.ok_or("no case")?;
    let (stored, version) = (read.case, read.version);
    assert_eq!(read.attachments, 0);
    assert_eq!(stored.case.references.len(), 1);
    assert_eq!(stored.case.body, json!({"fields": {"depth": 40}}));

    let progress = JobProgress {
        create_sent: true,
        case_number: Some("AUR-9".into()),
        ..JobProgress::default()
    };
    let body = json!({"fields": {"depth": 40, "aurora_case_number": "AUR-9"}});
    let entry = NewLogEntry::new(LogOutcome::Created)
        .job(id, 1)
        .case_ref("C-1")
        .aurora_case_number("AUR-9")
        .reason("Aurora case AUR-9 created; password=hunter2 was not sent");
    let completion = CreateCompletion {
        progress: &progress,
        case_ref: "C-1",
        reference: "aurora_case",
        case_number: "AUR-9",
        write_reference: true,
        body: Some((&version, &body)),
        log: Some(&entry),
        done: true,
    };
    let outcome = store.complete_create(&job.claim(), &completion).await?;
    assert!(matches!(outcome, CreateCompleted::Committed(Some(_))));

    // Everything is there.
    let after_it = store.get_case("C-1").await?.ok_or("no case")?;
    assert_eq!(after_it.case.body, body);
    assert_eq!(
        after_it
            .case
            .references
            .get("aurora_case")
            .map(String::as_str),
        Some("AUR-9")
    );
    assert_eq!(
        after_it.case.references.get("other").map(String::as_str),
        Some("x")
    );
    let done = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.progress, progress);
    assert_eq!(done.lease_owner, None);
    let log = store.query_log(&LogQuery::default()).await?;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].outcome, LogOutcome::Created);
    assert_eq!(log[0].job_id, Some(id));
    assert_eq!(log[0].aurora_case_number.as_deref(), Some("AUR-9"));
    let reason = log[0].reason.as_deref().unwrap_or_default();
    assert!(!reason.contains("hunter2"), "{reason}");
    // The claim no longer holds the job.
    assert!(matches!(
        store.complete_create(&job.claim(), &completion).await,
        Err(StoreError::LeaseLost(_))
    ));
    Ok(())
}

#[tokio::test]
async fn a_creates_end_that_fails_halfway_writes_nothing() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let lease = Duration::from_secs(60);
    store.upsert_case(&case("C-1", &[])).await?;
    let id = store.enqueue(JobKind::Create, &json!({}), ms(0)).await?;
    let job = store.claim("w", lease, ms(10)).await?.ok_or("none due")?;
    let version = store.read_case("C-1").await?.ok_or("no case")?.version;
    let progress = JobProgress {
        create_sent: true,
        case_number: Some("AUR-9".into()),
        ..JobProgress::default()
    };
    let body = json!({"fields": {"depth": 40, "aurora_case_number": "AUR-9"}});
    let entry = NewLogEntry::new(LogOutcome::Created).reason("created");
    let completion = CreateCompletion {
        progress: &progress,
        case_ref: "C-1",
        reference: "aurora_case",
        case_number: "AUR-9",
        write_reference: true,
        body: Some((&version, &body)),
        log: Some(&entry),
        done: true,
    };
    let unchanged = |store: Store| async move {
        let stored = store.get_case("C-1").await?.ok_or("no case")?;
        assert!(stored.case.references.is_empty(), "{stored:?}");
        let job = store.get_job(id).await?.ok_or("lost")?;
        assert_eq!(job.state, JobState::Running);
        assert_eq!(job.progress, JobProgress::default());
        assert!(store.query_log(&LogQuery::default()).await?.is_empty());
        Ok::<_, Box<dyn std::error::Error>>(stored)
    };

    // The body changed since it was read (found after the job's row was written): nothing is
    // written.
    let mut changed = case("C-1", &[]);
    changed.body = json!({"fields": {"depth": 55}});
    store.upsert_case(&changed).await?;
    assert_eq!(
        store.complete_create(&job.claim(), &completion).await?,
        CreateCompleted::CaseChanged
    );
    let stored = unchanged(store.clone()).await?;
    assert_eq!(stored.case.body, changed.body);

    // The lease was lost: nothing is written either.
    let version = store.read_case("C-1").await?.ok_or("no case")?.version;
    let stale = amap::service::store::Claim {
        attempt: job.attempts + 1,
        ..job.claim()
    };
    let completion = CreateCompletion {
        body: Some((&version, &body)),
        ..completion
    };
    assert!(matches!(
        store.complete_create(&stale, &completion).await,
        Err(StoreError::LeaseLost(_))
    ));
    let stored = unchanged(store.clone()).await?;
    assert_eq!(stored.case.body, changed.body);

    // An unknown case (found after the job's row was written).
    let missing = CreateCompletion {
        case_ref: "C-404",
        body: None,
        ..completion.clone()
    };
    assert!(matches!(
        store.complete_create(&job.claim(), &missing).await,
        Err(StoreError::UnknownCase(_))
    ));
    unchanged(store.clone()).await?;

    // Recording the case number only (the job stays running), then the end.
    let record = CreateCompletion {
        body: None,
        log: None,
        done: false,
        ..completion.clone()
    };
    assert_eq!(
        store.complete_create(&job.claim(), &record).await?,
        CreateCompleted::Committed(None)
    );
    let running = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(running.state, JobState::Running);
    assert_eq!(running.progress, progress);
    let refs = store.case_references("C-1").await?;
    assert_eq!(refs.get("aurora_case").map(String::as_str), Some("AUR-9"));
    assert!(store.query_log(&LogQuery::default()).await?.is_empty());
    // The end, without writing the reference again.
    let end = CreateCompletion {
        write_reference: false,
        ..completion
    };
    assert!(matches!(
        store.complete_create(&job.claim(), &end).await?,
        CreateCompleted::Committed(Some(_))
    ));
    let stored = store.get_case("C-1").await?.ok_or("no case")?;
    assert_eq!(stored.case.body, body);
    assert_eq!(
        stored
            .case
            .references
            .get("aurora_case")
            .map(String::as_str),
        Some("AUR-9")
    );
    assert_eq!(
        store.get_job(id).await?.ok_or("lost")?.state,
        JobState::Done
    );
    Ok(())
}

// ---------------------------------------------------------------- cases

#[tokio::test]
async fn cases_keep_references_and_find_by_reference_value() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    store
        .upsert_case(&case("CAS-1", &[("aurora", "A-100"), ("legacy", "L1")]))
        .await?;
    store
        .upsert_case(&case("CAS-2", &[("aurora", "A-100")]))
        .await?;
    store
        .upsert_case(&case("CAS-3", &[("aurora", "A-200")]))
        .await?;

    assert_eq!(
        store.find_cases_by_reference("aurora", "A-100").await?,
        ["CAS-1", "CAS-2"]
    );
    assert!(
        store
            .find_cases_by_reference("legacy", "A-100")
            .await?
            .is_empty()
    );

    // An update from Connect that omits a reference keeps it; one that names it overwrites it.
    let mut update = case("CAS-1", &[("legacy", "L2")]);
    update.status = Some("closed".into());
    store.upsert_case(&update).await?;
    let stored = store.get_case("CAS-1").await?.ok_or("missing")?;
    assert_eq!(stored.case.status.as_deref(), Some("closed"));
    let expected: BTreeMap<String, String> = [("aurora", "A-100"), ("legacy", "L2")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(stored.case.references, expected);
    assert!(stored.updated_at >= stored.created_at);

    store.set_case_reference("CAS-3", "aurora", "A-100").await?;
    assert_eq!(
        store.find_cases_by_reference("aurora", "A-100").await?,
        ["CAS-1", "CAS-2", "CAS-3"]
    );
    assert!(store.remove_case_reference("CAS-2", "aurora").await?);
    assert!(!store.remove_case_reference("CAS-2", "aurora").await?);

    store
        .set_case_body(
            "CAS-1",
            &json!({"fields": {"depth": 40, "outcome": "repaired"}}),
        )
        .await?;
    let stored = store.get_case("CAS-1").await?.ok_or("missing")?;
    assert_eq!(stored.case.body["fields"]["outcome"], "repaired");

    assert!(store.get_case("NOPE").await?.is_none());
    assert!(matches!(
        store.set_case_reference("NOPE", "aurora", "A-1").await,
        Err(StoreError::UnknownCase(r)) if r == "NOPE"
    ));
    assert!(matches!(
        store.set_case_body("NOPE", &json!({})).await,
        Err(StoreError::UnknownCase(_))
    ));
    Ok(())
}

#[tokio::test]
async fn a_connect_update_keeps_the_integrations_own_member_even_under_concurrent_writes()
-> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let first = case("CAS-K", &[("aurora", "A-1")]);
    assert!(
        store.upsert_case_keeping(&first, "integration").await?,
        "new"
    );
    // The integration writes its own state into the body.
    store
        .set_case_body(
            "CAS-K",
            &json!({"fields": {"depth": 40}, "integration": {"applied": {"aurora": 7}}}),
        )
        .await?;
    // Connect sends the case again, with other fields and a forged integration member.
    let mut update = case("CAS-K", &[]);
    update.body = json!({"fields": {"depth": 55}, "integration": {"applied": {"aurora": 1}}});
    assert!(
        !store.upsert_case_keeping(&update, "integration").await?,
        "not new"
    );
    let stored = store.get_case("CAS-K").await?.ok_or("case missing")?;
    assert_eq!(stored.case.body["fields"]["depth"], 55);
    assert_eq!(stored.case.body["integration"]["applied"]["aurora"], 7);
    assert_eq!(
        stored.case.references.get("aurora").map(String::as_str),
        Some("A-1")
    );

    // Snapshots applied while Connect keeps sending the case: whatever the interleaving, the
    // newest snapshot's time stays recorded (a PUT never puts back a stale copy of it).
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for n in 0..20i64 {
        let s = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut update = case("CAS-K", &[]);
            update.body = json!({"fields": {"depth": 100 + n}});
            s.upsert_case_keeping(&update, "integration")
                .await
                .map(|_| ())
        }));
        let s = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let writes = vec![FieldWrite {
                target: WriteTarget::Field("aurora_status".into()),
                value: json!(format!("status {n}")),
            }];
            s.apply_field_writes(
                "CAS-K",
                "aurora",
                SnapshotTime::TakenAt(ms(1_000 + n)),
                |_| Ok::<_, String>(writes.clone()),
            )
            .await
            .map(|_| ())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let stored = store.get_case("CAS-K").await?.ok_or("case missing")?;
    assert_eq!(
        applied_snapshot_time(&stored.case.body, "aurora"),
        Some(ms(1_019)),
        "{}",
        stored.case.body
    );
    let depth = stored.case.body["fields"]["depth"].as_i64().unwrap_or(0);
    assert!((100..120).contains(&depth), "{depth}");
    Ok(())
}

#[tokio::test]
async fn attachments_are_stored_bounded_and_tied_to_a_case() -> TestResult {
    let dir = TempDir::new()?;
    let config = StoreConfig {
        max_attachment_bytes: 1024,
        ..StoreConfig::default()
    };
    let store = Store::open_sqlite(&dir.path().join("a.db"), config).await?;
    store.upsert_case(&case("CAS-1", &[])).await?;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
    let id = store
        .add_attachment("CAS-1", "photo.jpg", "image/jpeg", &bytes)
        .await?;
    let second = store
        .add_attachment("CAS-1", "notes.txt", "text/plain", b"hello")
        .await?;
    let stored = store.get_attachment(id).await?.ok_or("missing")?;
    assert_eq!(stored.content, bytes);
    assert_eq!(stored.meta.size, 1024);
    assert_eq!(stored.meta.content_type, "image/jpeg");
    assert!(format!("{stored:?}").contains("<1024 bytes>"));
    let listed = store.list_attachments("CAS-1").await?;
    assert_eq!(
        listed.iter().map(|a| a.id).collect::<Vec<_>>(),
        [id, second]
    );

    let too_big = vec![0u8; 1025];
    assert!(matches!(
        store
            .add_attachment("CAS-1", "big.bin", "application/octet-stream", &too_big)
            .await,
        Err(StoreError::AttachmentTooLarge {
            size: 1025,
            max: 1024
        })
    ));
    assert!(matches!(
        store
            .add_attachment("NOPE", "x.txt", "text/plain", b"x")
            .await,
        Err(StoreError::UnknownCase(_))
    ));
    assert_eq!(store.list_attachments("CAS-1").await?.len(), 2);
    // A case read counts its files.
    let read = store.read_case("CAS-1").await?.ok_or("no case")?;
    assert_eq!(read.attachments, 2);
    assert_eq!(read.case, store.get_case("CAS-1").await?.ok_or("no case")?);
    assert!(store.read_case("NOPE").await?.is_none());
    Ok(())
}

// ---------------------------------------------------------------- log

#[tokio::test]
async fn log_filters_newest_first_and_holds_no_secrets() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let entries = [
        (1_000, "CAS-1", "pothole", LogOutcome::TransientFailure),
        (2_000, "CAS-1", "pothole", LogOutcome::Created),
        (3_000, "CAS-2", "flytip", LogOutcome::ValidationFailure),
        (4_000, "CAS-1", "pothole_update", LogOutcome::Updated),
        (5_000, "CAS-3", "pothole", LogOutcome::GaveUp),
    ];
    for (at, case_ref, template, outcome) in entries {
        store
            .append_log(
                &NewLogEntry::new(outcome)
                    .at(ms(at))
                    .case_ref(case_ref)
                    .template(template)
                    .job(JobId(at / 1000), 1)
                    .reason(format!("outcome at {at}")),
            )
            .await?;
    }
    let times = |entries: &[amap::service::store::LogEntry]| {
        entries
            .iter()
            .map(|e| e.at.as_millisecond())
            .collect::<Vec<_>>()
    };

    let all = store.query_log(&LogQuery::default()).await?;
    assert_eq!(times(&all), [5_000, 4_000, 3_000, 2_000, 1_000]);

    let by_case = store
        .query_log(&LogQuery {
            case_ref: Some("CAS-1".into()),
            ..LogQuery::default()
        })
        .await?;
    assert_eq!(times(&by_case), [4_000, 2_000, 1_000]);

    let by_template = store
        .query_log(&LogQuery {
            template: Some("pothole".into()),
            ..LogQuery::default()
        })
        .await?;
    assert_eq!(times(&by_template), [5_000, 2_000, 1_000]);

    let by_outcome = store
        .query_log(&LogQuery {
            outcome: Some(LogOutcome::Created),
            ..LogQuery::default()
        })
        .await?;
    assert_eq!(times(&by_outcome), [2_000]);
    assert_eq!(by_outcome[0].job_id, Some(JobId(2)));
    assert_eq!(by_outcome[0].reason.as_deref(), Some("outcome at 2000"));

    let window = store
        .query_log(&LogQuery {
            since: Some(ms(2_000)),
            until: Some(ms(4_000)),
            ..LogQuery::default()
        })
        .await?;
    assert_eq!(times(&window), [3_000, 2_000]);

    let page = store
        .query_log(&LogQuery {
            limit: Some(2),
            ..LogQuery::default()
        })
        .await?;
    assert_eq!(times(&page), [5_000, 4_000]);
    let next = store
        .query_log(&LogQuery {
            limit: Some(2),
            before_id: page.last().map(|e| e.id),
            ..LogQuery::default()
        })
        .await?;
    assert_eq!(times(&next), [3_000, 2_000]);

    let combined = store
        .query_log(&LogQuery {
            case_ref: Some("CAS-1".into()),
            template: Some("pothole".into()),
            outcome: Some(LogOutcome::TransientFailure),
            since: Some(ms(0)),
            until: Some(ms(10_000)),
            ..LogQuery::default()
        })
        .await?;
    assert_eq!(times(&combined), [1_000]);

    store
        .append_log(
            &NewLogEntry::new(LogOutcome::TransientFailure)
                .case_ref("CAS-9")
                .reason(
                    "token grant failed: POST grant_type=password&username=u&password=hunter2\
                     &client_secret=s3cret; header Authorization: Bearer eyJ.abc",
                ),
        )
        .await?;
    let secret = store
        .query_log(&LogQuery {
            case_ref: Some("CAS-9".into()),
            ..LogQuery::default()
        })
        .await?;
    let reason = secret[0].reason.clone().unwrap_or_default();
    for leaked in ["hunter2", "s3cret", "eyJ.abc"] {
        assert!(!reason.contains(leaked), "{reason}");
    }
    assert!(reason.contains("token grant failed"));
    Ok(())
}

#[test]
fn log_outcomes_round_trip_their_names() {
    for outcome in LogOutcome::ALL {
        assert_eq!(outcome.as_str().parse::<LogOutcome>(), Ok(*outcome));
    }
    assert!("exploded".parse::<LogOutcome>().is_err());
}

// ---------------------------------------------------------------- settings, snapshots, cursors

#[tokio::test]
async fn settings_snapshots_and_cursors() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    assert!(store.get_setting("aurora").await?.is_none());
    store
        .put_setting("aurora", &json!({"base_url": "http://127.0.0.1:9/"}))
        .await?;
    store
        .put_settings(&[
            ("enabled", &json!(true)),
            ("aurora", &json!({"base_url": "x"})),
        ])
        .await?;
    assert_eq!(
        store.get_setting("aurora").await?,
        Some(json!({"base_url": "x"}))
    );
    let all = store.all_settings().await?;
    assert_eq!(all.keys().collect::<Vec<_>>(), ["aurora", "enabled"]);
    assert!(store.delete_setting("enabled").await?);
    assert!(!store.delete_setting("enabled").await?);

    let name = "20251202_094656845_1_CS_CHANGE_QUEUE.json";
    assert!(!store.is_snapshot_processed(name).await?);
    assert!(store.mark_snapshot_processed(name).await?);
    assert!(!store.mark_snapshot_processed(name).await?);
    assert!(store.is_snapshot_processed(name).await?);

    assert_eq!(store.get_cursor("blobs").await?, None);
    store.set_cursor("blobs", "20251202_09").await?;
    store.set_cursor("blobs", name).await?;
    assert_eq!(store.get_cursor("blobs").await?.as_deref(), Some(name));
    Ok(())
}

// ---------------------------------------------------------------- workers

fn worker_config(lease: Duration) -> WorkerConfig {
    WorkerConfig {
        concurrency: 2,
        lease,
        poll_interval: Duration::from_millis(20),
        shutdown_grace: Duration::from_secs(5),
        retry: Arc::new(RetryPolicy::with_seed(RetryConfig::compressed(5), 1)),
        name: None,
    }
}

/// Polls until the job reaches a final state.
async fn wait_final(store: &Store, id: JobId, within: Duration) -> Result<JobState, String> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match store.get_job(id).await {
            Ok(Some(job)) if job.state.is_final() => return Ok(job.state),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("job {id} not finished within {within:?}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn outcomes(store: &Store, id: JobId) -> Result<Vec<LogOutcome>, StoreError> {
    let entries = store
        .query_log(&LogQuery {
            job_id: Some(id),
            ..LogQuery::default()
        })
        .await?;
    Ok(entries.iter().rev().map(|e| e.outcome).collect())
}

/// Starts a pool in the background; sending on the returned channel stops it.
fn start_pool<F, Fut>(
    store: &Store,
    config: WorkerConfig,
    handler: F,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
)
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Outcome> + Send + 'static,
{
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pool = tokio::spawn(run_workers(store.clone(), config, handler, async move {
        let _ = stopped.await;
    }));
    (stop, pool)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_failing_n_times_is_done_after_n_plus_one_attempts() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let (stop, pool) = start_pool(&store, worker_config(Duration::from_secs(30)), move |ctx| {
        let seen = Arc::clone(&seen);
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut progress = ctx.progress();
            if ctx.attempt() == 1 {
                // A step that succeeded is recorded once and seen by later attempts.
                progress.contact_id = Some("C-1".into());
                if ctx.save_progress(&progress).await.is_err() {
                    return Outcome::Validation("progress not saved".into());
                }
            } else if progress.contact_id.as_deref() != Some("C-1") {
                return Outcome::Validation("progress lost".into());
            }
            if ctx.attempt() <= 3 {
                return Outcome::Transient(format!("503 on attempt {}", ctx.attempt()));
            }
            progress.case_number = Some("A-42".into());
            let _ = ctx.save_progress(&progress).await;
            let _ = ctx.log(NewLogEntry::new(LogOutcome::Created)).await;
            Outcome::Done
        }
    });
    let id = store
        .enqueue(
            JobKind::Create,
            &json!({"case_ref": "CAS-1", "template": "pothole"}),
            Timestamp::now(),
        )
        .await?;
    let state = wait_final(&store, id, Duration::from_secs(20)).await?;
    let _ = stop.send(());
    pool.await?;

    assert_eq!(state, JobState::Done);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let job = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(job.attempts, 4);
    use LogOutcome::*;
    assert_eq!(
        outcomes(&store, id).await?,
        [
            TransientFailure,
            TransientFailure,
            TransientFailure,
            Created
        ]
    );
    let log = store
        .query_log(&LogQuery {
            job_id: Some(id),
            ..LogQuery::default()
        })
        .await?;
    let created = &log[0];
    assert_eq!(created.case_ref.as_deref(), Some("CAS-1"));
    assert_eq!(created.template.as_deref(), Some("pothole"));
    assert_eq!(created.aurora_case_number.as_deref(), Some("A-42"));
    assert_eq!(created.attempt, Some(4));
    let first_failure = &log[3];
    assert_eq!(first_failure.attempt, Some(1));
    assert_eq!(first_failure.reason.as_deref(), Some("503 on attempt 1"));
    assert!(first_failure.next_attempt_at.is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_always_fails_gives_up_after_exactly_ten_attempts() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let (stop, pool) = start_pool(
        &store,
        worker_config(Duration::from_secs(30)),
        move |_ctx| {
            let seen = Arc::clone(&seen);
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                Outcome::Transient("connection refused".into())
            }
        },
    );
    let id = store
        .enqueue(
            JobKind::Create,
            &json!({"case_ref": "CAS-1"}),
            Timestamp::now(),
        )
        .await?;
    let state = wait_final(&store, id, Duration::from_secs(30)).await?;
    // Give a wrongly scheduled extra attempt the chance to show.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop.send(());
    pool.await?;

    assert_eq!(state, JobState::GaveUp);
    assert_eq!(calls.load(Ordering::SeqCst), 10);
    let job = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(job.attempts, 10);
    let log = outcomes(&store, id).await?;
    assert_eq!(log.len(), 10);
    assert!(log[..9].iter().all(|o| *o == LogOutcome::TransientFailure));
    assert_eq!(log[9], LogOutcome::GaveUp);
    let last = store
        .query_log(&LogQuery {
            job_id: Some(id),
            limit: Some(1),
            ..LogQuery::default()
        })
        .await?;
    assert_eq!(
        last[0].reason.as_deref(),
        Some("attempt 10 of 10 failed: connection refused")
    );
    assert_eq!(last[0].next_attempt_at, None);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_failure_is_attempted_once() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let (stop, pool) = start_pool(
        &store,
        worker_config(Duration::from_secs(30)),
        move |_ctx| {
            let seen = Arc::clone(&seen);
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                Outcome::Validation("required value missing: location (pothole.amap:7)".into())
            }
        },
    );
    let id = store
        .enqueue(
            JobKind::Create,
            &json!({"case_ref": "CAS-1"}),
            Timestamp::now(),
        )
        .await?;
    let state = wait_final(&store, id, Duration::from_secs(10)).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop.send(());
    pool.await?;

    assert_eq!(state, JobState::Failed);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(outcomes(&store, id).await?, [LogOutcome::ValidationFailure]);
    let job = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(
        job.last_error.as_deref(),
        Some("required value missing: location (pothole.amap:7)")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_job_runs_later_without_using_an_attempt() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let (stop, pool) = start_pool(
        &store,
        worker_config(Duration::from_secs(30)),
        |ctx| async move {
            if ctx.progress().extra.contains_key("waited") {
                return Outcome::Done;
            }
            let mut progress = ctx.progress();
            progress.extra.insert("waited".into(), json!(true));
            let _ = ctx.save_progress(&progress).await;
            Outcome::Deferred(after(Timestamp::now(), Duration::from_millis(50)))
        },
    );
    let id = store
        .enqueue(JobKind::Create, &json!({}), Timestamp::now())
        .await?;
    let state = wait_final(&store, id, Duration::from_secs(10)).await?;
    let _ = stop.send(());
    pool.await?;
    assert_eq!(state, JobState::Done);
    assert_eq!(store.get_job(id).await?.map(|j| j.attempts), Some(1));
    assert_eq!(outcomes(&store, id).await?, [LogOutcome::Deferred]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_leaves_it_to_be_claimed_after_the_lease() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let lease = Duration::from_millis(400);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = Arc::new(std::sync::Mutex::new(Some(started_tx)));
    // This pool's handler never finishes; the pool is then killed.
    let (_stop, doomed) = start_pool(&store, worker_config(lease), move |_ctx| {
        let started_tx = Arc::clone(&started_tx);
        async move {
            if let Some(tx) = started_tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(());
            }
            std::future::pending::<()>().await;
            Outcome::Done
        }
    });
    let id = store
        .enqueue(JobKind::Create, &json!({}), Timestamp::now())
        .await?;
    started_rx.await?;
    doomed.abort();
    let _ = doomed.await;
    let killed_at = tokio::time::Instant::now();
    let held = store.get_job(id).await?.ok_or("lost")?;
    assert_eq!(held.state, JobState::Running);

    let (stop, pool) = start_pool(&store, worker_config(lease), |ctx| async move {
        if ctx.attempt() == 2 {
            Outcome::Done
        } else {
            Outcome::Validation(format!("unexpected attempt {}", ctx.attempt()))
        }
    });
    let state = wait_final(&store, id, Duration::from_secs(10)).await?;
    let waited = killed_at.elapsed();
    let _ = stop.send(());
    pool.await?;
    assert_eq!(state, JobState::Done);
    assert_eq!(store.get_job(id).await?.map(|j| j.attempts), Some(2));
    // Not before the lease (renewed by the killed worker at most until its end) ran out.
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_job_keeps_its_lease_while_it_runs() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let mut config = worker_config(Duration::from_millis(150));
    config.concurrency = 3;
    let (stop, pool) = start_pool(&store, config, move |_ctx| {
        let seen = Arc::clone(&seen);
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(700)).await;
            Outcome::Done
        }
    });
    let id = store
        .enqueue(JobKind::Update, &json!({}), Timestamp::now())
        .await?;
    let state = wait_final(&store, id, Duration::from_secs(10)).await?;
    let _ = stop.send(());
    pool.await?;
    assert_eq!(state, JobState::Done);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(store.get_job(id).await?.map(|j| j.attempts), Some(1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_attempt_lost_to_a_crash_gives_the_job_up() -> TestResult {
    let dir = TempDir::new()?;
    let store = open(&dir).await?;
    let id = store.enqueue(JobKind::Create, &json!({}), ms(0)).await?;
    let lease = Duration::from_millis(1);
    // Ten claims whose workers all vanished.
    for n in 0..10 {
        let now = ms(10 + n * 10);
        let job = store
            .claim("gone", lease, now)
            .await?
            .ok_or("not claimable")?;
        assert_eq!(job.attempts, (n + 1) as u32);
    }
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let (stop, pool) = start_pool(
        &store,
        worker_config(Duration::from_secs(30)),
        move |_ctx| {
            let seen = Arc::clone(&seen);
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                Outcome::Done
            }
        },
    );
    let state = wait_final(&store, id, Duration::from_secs(10)).await?;
    let _ = stop.send(());
    pool.await?;
    assert_eq!(state, JobState::GaveUp);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(store.get_job(id).await?.map(|j| j.attempts), Some(10));
    assert_eq!(outcomes(&store, id).await?, [LogOutcome::GaveUp]);
    Ok(())
}
