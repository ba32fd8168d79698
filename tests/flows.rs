//! The create and update flows, end to end: the examples' plans, a real SQLite file, the worker
//! pool, and the Aurora simulator over loopback HTTP.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use amap::runtime::aurora::{AuroraClient, AuroraSettings, Secret};
use amap::runtime::eval::PreparedBundle;
use amap::schema::AuroraSchema;
use amap::service::aurora_slot::AuroraSlot;
use amap::service::flows::{Flows, FlowsConfig};
use amap::service::payload::{ApplyJob, UpdateJob};
use amap::service::retry::{RetryConfig, RetryPolicy};
use amap::service::store::{
    CaseRecord, Job, JobId, JobKind, JobState, LogEntry, LogOutcome, LogQuery, Store, StoreConfig,
};
use amap::service::worker::{WorkerConfig, run_workers};
use amap::sim::{self, Faults, FaultsUpdate, SimConfig, SimHandle};
use jiff::Timestamp;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const CONNECT: &str = "https://connect.example.gov.uk";
const POTHOLE: &str = "Pothole report";

/// The examples' plans and Aurora schema.
fn examples() -> (PreparedBundle, AuroraSchema) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let ws = amap::workspace::load(&dir).expect("the examples load");
    let checked = ws.check();
    assert_eq!(checked.error_count(), 0, "{:?}", checked.diagnostics);
    let bundle = ws.compile(&checked);
    let plans = PreparedBundle::new(&bundle).expect("the plans prepare");
    (plans, ws.aurora.clone())
}

/// A running service core: store, simulator, worker pool with the flows.
struct Harness {
    store: Store,
    sim: SimHandle,
    aurora: AuroraSlot,
    stop: Option<oneshot::Sender<()>>,
    workers: Option<JoinHandle<()>>,
    _dir: TempDir,
}

struct Setup {
    faults: Faults,
    seed: u64,
    concurrency: usize,
    retry: RetryConfig,
    /// Adjusts the client settings derived from the simulator.
    settings: fn(&mut AuroraSettings),
    /// Whether an Aurora client is in force.
    connected: bool,
    /// Adjusts the Aurora schema the simulator validates against (the plans keep the examples').
    schema: fn(&mut AuroraSchema),
    /// Adjusts the simulator's configuration.
    sim: fn(&mut SimConfig),
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            faults: Faults::default(),
            seed: 7,
            concurrency: 4,
            retry: RetryConfig::compressed(10),
            settings: |_| {},
            connected: true,
            schema: |_| {},
            sim: |_| {},
        }
    }
}

impl Harness {
    async fn start(setup: Setup) -> Harness {
        let (plans, mut schema) = examples();
        (setup.schema)(&mut schema);
        let mut sim_config = SimConfig::with_schema(&schema);
        sim_config.faults = setup.faults;
        sim_config.seed = setup.seed;
        (setup.sim)(&mut sim_config);
        let sim = sim::start(sim_config, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("the simulator starts");
        let dir = TempDir::new().expect("temporary directory");
        let store = Store::open_sqlite(&dir.path().join("amap.db"), StoreConfig::default())
            .await
            .expect("the store opens");
        let mut settings = sim.aurora_settings();
        // Long enough that a slow answer on a busy machine is not taken for a lost one.
        settings.request_timeout_ms = 10_000;
        (setup.settings)(&mut settings);
        let client = AuroraClient::new(settings).expect("client");
        let aurora = AuroraSlot::new(setup.connected.then_some(client));
        let flows = Flows::new(FlowsConfig {
            store: store.clone(),
            plans: Arc::new(plans),
            aurora: aurora.clone(),
            connect_base_url: format!("{CONNECT}/"),
        });
        let config = WorkerConfig {
            concurrency: setup.concurrency,
            lease: Duration::from_secs(5),
            poll_interval: Duration::from_millis(50),
            shutdown_grace: Duration::from_secs(5),
            retry: Arc::new(RetryPolicy::with_seed(setup.retry, 3)),
            name: Some("flows-test".into()),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let workers = tokio::spawn(run_workers(store.clone(), config, flows, async move {
            let _ = stopped.await;
        }));
        Harness {
            store,
            sim,
            aurora,
            stop: Some(stop),
            workers: Some(workers),
            _dir: dir,
        }
    }

    async fn put_case(&self, case: CaseRecord) {
        self.store.upsert_case(&case).await.expect("case stored");
    }

    async fn apply(&self, case_ref: &str, template: &str) -> JobId {
        let payload = serde_json::to_value(ApplyJob {
            case_ref: case_ref.into(),
            template: template.into(),
        })
        .expect("payload");
        self.store
            .enqueue(JobKind::Create, &payload, Timestamp::now())
            .await
            .expect("enqueued")
    }

    async fn update(&self, job: &UpdateJob) -> JobId {
        let payload = serde_json::to_value(job).expect("payload");
        self.store
            .enqueue(JobKind::Update, &payload, Timestamp::now())
            .await
            .expect("enqueued")
    }

    /// Waits until the job has finished (done, failed or gave up) and its last log entry is
    /// written (the worker logs a failure just after recording it on the job).
    async fn finished(&self, id: JobId) -> Job {
        for _ in 0..1200 {
            let job = self.store.get_job(id).await.expect("job read");
            if let Some(job) = job.filter(|j| j.state.is_final()) {
                let last = match job.state {
                    JobState::Failed => Some(LogOutcome::ValidationFailure),
                    JobState::GaveUp => Some(LogOutcome::GaveUp),
                    _ => None,
                };
                let logged = match last {
                    Some(last) => self.log_of(id).await.iter().any(|e| e.outcome == last),
                    None => true,
                };
                if logged {
                    return job;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("job {id} did not finish within 30 seconds");
    }

    /// The log entries of a job, oldest first.
    async fn log_of(&self, id: JobId) -> Vec<LogEntry> {
        let mut entries = self
            .store
            .query_log(&LogQuery {
                job_id: Some(id),
                limit: Some(1000),
                ..LogQuery::default()
            })
            .await
            .expect("log read");
        entries.sort_by_key(|e| e.id.0);
        entries
    }

    async fn case(&self, reference: &str) -> CaseRecord {
        self.store
            .get_case(reference)
            .await
            .expect("case read")
            .expect("case stored")
            .case
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(workers) = self.workers.take() {
            let _ = workers.await;
        }
        self.sim.shutdown().await;
    }
}

fn outcomes(entries: &[LogEntry]) -> Vec<LogOutcome> {
    entries.iter().map(|e| e.outcome).collect()
}

/// A pothole report as Connect sends it. `person` adds the reporter (so that a contact is found
/// or created); `easting` is required by the template.
fn pothole(reference: &str, person: bool, easting: Option<u32>) -> CaseRecord {
    let mut address = json!({
        "summary": "12 High Street, Exampleton",
        "northing": 287654,
        "usrn": "12345678",
    });
    if let Some(easting) = easting {
        address["easting"] = json!(easting);
    }
    let mut body = json!({
        "fields": {
            "summary": "Deep pothole by the bus stop",
            "details": "About a foot across.",
            "surface": "road",
            "hazard": "high",
            "depth_mm": 40,
        },
        "dates": {"reported": "2025-12-01"},
        "address": address,
    });
    if person {
        body["person"] = json!({
            "forename": "Ann",
            "surname": "Smith",
            "email": format!("{}@example.org", reference.to_ascii_lowercase()),
            "mobile": "+44 7700 900123",
        });
    }
    CaseRecord {
        reference: reference.into(),
        case_type: "pothole".into(),
        status: Some("submitted".into()),
        body,
        references: Default::default(),
    }
}

// ------------------------------------------------------------------------------ the create flow

#[tokio::test]
async fn a_create_with_a_refused_file_links_it_from_a_note() -> TestResult {
    let h = Harness::start(Setup::default()).await;
    h.put_case(pothole("CAS-100", true, Some(412345))).await;
    let photo = h
        .store
        .add_attachment(
            "CAS-100",
            "photo.jpg",
            "image/jpeg",
            b"\xff\xd8\xff jpeg bytes",
        )
        .await?;
    let program = h
        .store
        .add_attachment(
            "CAS-100",
            "route planner.exe",
            "application/x-msdownload",
            b"MZ not a picture",
        )
        .await?;

    let id = h.apply("CAS-100", POTHOLE).await;
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    assert_eq!(job.attempts, 1);

    // Created once, with the accepted file listed by id and name.
    let counts = h.sim.counts();
    assert_eq!(counts.cases, 1);
    assert_eq!(counts.duplicates, 0);
    assert_eq!(counts.attachments, 1);
    assert_eq!(counts.notes, 1);
    let number = job.progress.case_number.clone().expect("case number");
    let aurora = h.sim.case(&number).expect("the case is in Aurora");
    let listed = aurora["body"]["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "photo.jpg");
    let uploaded = h
        .sim
        .attachment(listed[0]["id"].as_str().unwrap_or_default())
        .expect("uploaded");
    assert_eq!(uploaded["fileName"], "photo.jpg");
    assert_eq!(aurora["body"]["externalReference"], "CAS-100");
    assert!(aurora["body"]["contactId"].is_number() || aurora["body"]["contactId"].is_string());
    assert_eq!(job.progress.uploaded_attachments[0].attachment, photo);
    assert_eq!(job.progress.rejected_attachments, [program]);

    // One note, linking the refused file in Connect.
    let notes = aurora["notes"].as_array().cloned().unwrap_or_default();
    assert_eq!(notes.len(), 1);
    let link = format!("{CONNECT}/cases/CAS-100/attachments/{program}");
    let text = notes[0]["noteText"].as_str().unwrap_or_default();
    assert!(
        text.contains(&format!("route planner.exe: {link}")),
        "{text}"
    );
    assert!(!text.contains("photo.jpg"), "{text}");

    // The case number is in the reference; the incoming template's fields are written back.
    let case = h.case("CAS-100").await;
    assert_eq!(case.references.get("aurora_case"), Some(&number));
    let fields = &case.body["fields"];
    assert_eq!(fields["aurora_case_number"], json!(number));
    assert_eq!(fields["aurora_case_type"], "POTC");
    assert_eq!(fields["hazard_level"], "H");
    assert_eq!(fields["aurora_status"], "Updated in Aurora");
    assert_eq!(
        fields["summary"], "Deep pothole by the bus stop",
        "Connect's own fields stay"
    );
    assert!(case.body["dates"]["aurora_updated"].is_string());

    // The log: the fallback with its reason, then the create.
    let log = h.log_of(id).await;
    assert_eq!(
        outcomes(&log),
        [LogOutcome::AttachmentFallback, LogOutcome::Created]
    );
    let fallback = log[0].reason.clone().unwrap_or_default();
    assert!(fallback.contains("route planner.exe"), "{fallback}");
    assert!(fallback.contains("415"), "{fallback}");
    assert!(fallback.contains(&link), "{fallback}");
    let created = &log[1];
    assert_eq!(created.aurora_case_number.as_deref(), Some(number.as_str()));
    assert_eq!(created.case_ref.as_deref(), Some("CAS-100"));
    assert_eq!(created.template.as_deref(), Some(POTHOLE));
    let reason = created.reason.clone().unwrap_or_default();
    assert!(reason.contains("field.aurora_case_number"), "{reason}");
    assert!(
        reason.contains("1 file attached, 1 linked from a note"),
        "{reason}"
    );
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn applying_a_template_again_raises_no_second_case() -> TestResult {
    let h = Harness::start(Setup::default()).await;
    h.put_case(pothole("CAS-150", false, Some(412345))).await;
    let first = h.finished(h.apply("CAS-150", POTHOLE).await).await;
    assert_eq!(first.state, JobState::Done, "{:?}", first.last_error);
    let number = first.progress.case_number.clone().expect("case number");
    let again = h.apply("CAS-150", POTHOLE).await;
    let job = h.finished(again).await;
    assert_eq!(job.state, JobState::Done);
    let log = h.log_of(again).await;
    assert_eq!(outcomes(&log), [LogOutcome::Skipped]);
    let reason = log[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains(&format!(
            "already holds Aurora case {number} in ref.aurora_case"
        )),
        "{reason}"
    );
    assert_eq!(h.sim.counts().cases, 1);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_retry_sends_only_the_files_the_first_attempt_saw() -> TestResult {
    let h = Harness::start(Setup {
        // Every upload's answer is lost at first.
        faults: Faults {
            lost_response_rate: 1.0,
            ..Faults::default()
        },
        // The reporter is already an Aurora contact: finding them changes nothing.
        sim: |sim| {
            sim.contacts = vec![json!({"firstName": "Ann", "lastName": "Smith",
                                       "emailAddress": "cas-160@example.org"})]
        },
        settings: |s| s.request_timeout_ms = 300,
        retry: RetryConfig::compressed(1_000),
        ..Setup::default()
    })
    .await;
    h.put_case(pothole("CAS-160", true, Some(412345))).await;
    h.store
        .add_attachment("CAS-160", "photo.jpg", "image/jpeg", b"jpeg")
        .await?;
    let id = h.apply("CAS-160", POTHOLE).await;
    let mut failed = false;
    for _ in 0..500 {
        if h.log_of(id)
            .await
            .iter()
            .any(|e| e.outcome == LogOutcome::TransientFailure)
        {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(failed, "the first attempt fails on the lost upload");
    // A file added after the first attempt, then Aurora answers again.
    h.store
        .add_attachment("CAS-160", "later.jpg", "image/jpeg", b"jpeg")
        .await?;
    h.sim.update_faults(&FaultsUpdate {
        lost_response_rate: Some(0.0),
        ..FaultsUpdate::default()
    })?;
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    assert_eq!(job.attempts, 2);
    let number = job.progress.case_number.clone().expect("case number");
    let aurora = h.sim.case(&number).expect("in Aurora");
    let names: Vec<&str> = aurora["body"]["attachments"]
        .as_array()
        .map(|list| list.iter().filter_map(|a| a["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["photo.jpg"]);
    let counts = h.sim.counts();
    assert_eq!(counts.contacts, 1, "the contact was found, not created");
    // The lost upload and its repeat; never the later file.
    assert_eq!(counts.attachments, 2);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_linked_and_the_snapshot_is_built_from_the_request()
-> TestResult {
    let h = Harness::start(Setup {
        faults: Faults {
            max_attachment_bytes: 64,
            ..Faults::default()
        },
        // No read-back: the incoming templates read the snapshot built from the request.
        settings: |s| s.read_back_path = None,
        ..Setup::default()
    })
    .await;
    h.put_case(pothole("CAS-200", false, Some(412345))).await;
    let big = h
        .store
        .add_attachment("CAS-200", "survey.pdf", "application/pdf", &[b'%'; 200])
        .await?;
    let id = h.apply("CAS-200", POTHOLE).await;
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    let number = job.progress.case_number.clone().expect("case number");
    assert_eq!(job.progress.rejected_attachments, [big]);
    assert_eq!(h.sim.counts().calls.get("read_back"), None);
    let case = h.case("CAS-200").await;
    assert_eq!(case.body["fields"]["aurora_case_number"], json!(number));
    assert_eq!(case.body["fields"]["aurora_case_type"], "POTC");
    assert_eq!(case.body["fields"]["hazard_level"], "H");
    let log = h.log_of(id).await;
    assert_eq!(
        outcomes(&log),
        [LogOutcome::AttachmentFallback, LogOutcome::Created]
    );
    let fallback = log[0].reason.clone().unwrap_or_default();
    assert!(fallback.contains("survey.pdf"), "{fallback}");
    assert!(fallback.contains("413"), "{fallback}");
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_missing_required_value_fails_once_naming_the_mapping() -> TestResult {
    let h = Harness::start(Setup::default()).await;
    h.put_case(pothole("CAS-300", true, None)).await;
    let id = h.apply("CAS-300", POTHOLE).await;
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.attempts, 1);
    let log = h.log_of(id).await;
    assert_eq!(outcomes(&log), [LogOutcome::ValidationFailure]);
    let reason = log[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("templates/potholes.amap:"), "{reason}");
    assert!(reason.contains(POTHOLE), "{reason}");
    assert!(reason.contains("aurora.easting"), "{reason}");
    assert!(reason.contains("address.easting!"), "{reason}");
    let counts = h.sim.counts();
    assert_eq!(counts.cases, 0);
    assert_eq!(counts.calls.get("create_case"), None);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn unknown_cases_and_templates_fail_validation() -> TestResult {
    let h = Harness::start(Setup::default()).await;
    h.put_case(pothole("CAS-400", false, Some(1))).await;
    let cases = [
        (
            "NOPE-1",
            POTHOLE,
            "no Connect case with reference \"NOPE-1\"",
        ),
        (
            "CAS-400",
            "Pothole reprot",
            "no template named \"Pothole reprot\"",
        ),
        ("CAS-400", "Pothole progress", "is an incoming template"),
    ];
    for (case_ref, template, expected) in cases {
        let id = h.apply(case_ref, template).await;
        let job = h.finished(id).await;
        assert_eq!(job.state, JobState::Failed);
        assert_eq!(job.attempts, 1);
        let reason = job.last_error.unwrap_or_default();
        assert!(reason.contains(expected), "{reason}");
    }
    assert_eq!(h.sim.counts().calls.get("create_case"), None);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn without_an_aurora_connection_a_create_waits() -> TestResult {
    let h = Harness::start(Setup {
        connected: false,
        retry: RetryConfig {
            max_attempts: 2,
            ..RetryConfig::compressed(10)
        },
        ..Setup::default()
    })
    .await;
    h.put_case(pothole("CAS-500", false, Some(1))).await;
    let id = h.apply("CAS-500", POTHOLE).await;
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::GaveUp);
    assert_eq!(job.attempts, 2);
    let log = h.log_of(id).await;
    assert_eq!(
        outcomes(&log),
        [LogOutcome::TransientFailure, LogOutcome::GaveUp]
    );
    let reason = log[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains("the Aurora connection is not configured"),
        "{reason}"
    );
    assert_eq!(h.sim.counts().calls.get("create_case"), None);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn aurora_validation_messages_are_kept_and_not_retried() -> TestResult {
    // This Aurora site takes shorter descriptions than the schema the templates were checked
    // against: only Aurora can tell.
    let h = Harness::start(Setup {
        schema: |schema| {
            for field in &mut schema.create {
                if field.name == "description" {
                    field.max_length = Some(20);
                }
            }
        },
        ..Setup::default()
    })
    .await;
    h.put_case(pothole("CAS-800", false, Some(412345))).await;
    let id = h.apply("CAS-800", POTHOLE).await;
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.attempts, 1);
    assert_eq!(h.sim.counts().cases, 0);
    assert_eq!(h.sim.counts().calls.get("create_case"), Some(&1));
    let log = h.log_of(id).await;
    assert_eq!(outcomes(&log), [LogOutcome::ValidationFailure]);
    let reason = log[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("CreateCase rejected (400)"), "{reason}");
    assert!(reason.contains("description:"), "{reason}");
    assert!(reason.contains("20"), "{reason}");
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn refused_credentials_wait_for_corrected_settings() -> TestResult {
    let h = Harness::start(Setup {
        retry: RetryConfig::compressed(100),
        settings: |s| s.password = Secret::new("wrong-password"),
        ..Setup::default()
    })
    .await;
    h.put_case(pothole("CAS-900", true, Some(412345))).await;
    let id = h.apply("CAS-900", POTHOLE).await;
    // The first attempt fails on the token grant…
    let mut failure = None;
    for _ in 0..400 {
        let log = h.log_of(id).await;
        if let Some(entry) = log.first() {
            failure = Some(entry.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let failure = failure.expect("the first attempt is logged");
    assert_eq!(failure.outcome, LogOutcome::TransientFailure);
    let reason = failure.reason.unwrap_or_default();
    assert!(reason.contains("authentication failed"), "{reason}");
    assert!(reason.contains("PUT /v1/settings"), "{reason}");
    assert!(!reason.contains("wrong-password"), "{reason}");
    // …the settings are corrected, and a later attempt creates the case.
    h.aurora
        .replace(Some(AuroraClient::new(h.sim.aurora_settings())?));
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    assert!(job.attempts >= 2);
    assert_eq!(h.sim.counts().cases, 1);
    assert!(h.sim.counts().failed_grants >= 1);
    h.stop().await;
    Ok(())
}

// ------------------------------------------------------------------------------ failures

#[tokio::test]
async fn at_a_fifty_percent_failure_rate_every_job_ends_created() -> TestResult {
    // Cases without a reporter and no read-back: each attempt makes one Cases API call
    // (CreateCase) besides the shared token grant, so a job needs ten failures in a row to give
    // up (about 1 in 1000 per job). The simulator draws each request's fate from the seed and
    // the request itself, so with this seed every run sees the same failures.
    let h = Harness::start(Setup {
        faults: Faults {
            failure_rate: 0.5,
            ..Faults::default()
        },
        seed: 11,
        concurrency: 1,
        settings: |s| s.read_back_path = None,
        ..Setup::default()
    })
    .await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let reference = format!("HALF-{n:02}");
        h.put_case(pothole(&reference, false, Some(412_000 + n)))
            .await;
        ids.push((reference.clone(), h.apply(&reference, POTHOLE).await));
    }
    let mut retried = 0;
    for (reference, id) in &ids {
        let job = h.finished(*id).await;
        assert_eq!(
            job.state,
            JobState::Done,
            "{reference}: {:?}",
            job.last_error
        );
        assert!(job.attempts <= 10, "{reference}: {} attempts", job.attempts);
        if job.attempts > 1 {
            retried += 1;
        }
        let log = h.log_of(*id).await;
        assert_eq!(log.last().map(|e| e.outcome), Some(LogOutcome::Created));
        let transient = log
            .iter()
            .filter(|e| e.outcome == LogOutcome::TransientFailure)
            .count();
        assert_eq!(transient as u32, job.attempts - 1, "{reference}");
        let case = h.case(reference).await;
        assert!(case.references.contains_key("aurora_case"), "{reference}");
    }
    assert!(retried > 0, "at 50 % some job must have been retried");
    let counts = h.sim.counts();
    assert_eq!(counts.cases, 20);
    assert_eq!(counts.duplicates, 0);
    assert!(counts.injected_failures > 0);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn at_a_hundred_percent_failure_rate_a_job_gives_up_after_ten_attempts() -> TestResult {
    let h = Harness::start(Setup {
        faults: Faults {
            failure_rate: 1.0,
            ..Faults::default()
        },
        ..Setup::default()
    })
    .await;
    h.put_case(pothole("ALL-1", true, Some(412345))).await;
    let id = h.apply("ALL-1", POTHOLE).await;
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::GaveUp);
    assert_eq!(job.attempts, 10);
    let log = h.log_of(id).await;
    assert_eq!(log.len(), 10);
    assert!(
        log[..9]
            .iter()
            .all(|e| e.outcome == LogOutcome::TransientFailure && e.next_attempt_at.is_some())
    );
    assert_eq!(log[9].outcome, LogOutcome::GaveUp);
    let reason = log[9].reason.clone().unwrap_or_default();
    assert!(reason.contains("attempt 10 of 10"), "{reason}");
    assert!(reason.contains("503"), "{reason}");
    assert_eq!(h.sim.counts().cases, 0);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn lost_answers_never_create_a_case_twice_when_it_can_be_looked_up() -> TestResult {
    let h = Harness::start(Setup {
        faults: Faults {
            lost_response_rate: 0.4,
            ..Faults::default()
        },
        seed: 5,
        settings: |s| {
            s.request_timeout_ms = 400;
            assert!(s.lookup_by_reference_path.is_some());
        },
        ..Setup::default()
    })
    .await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let reference = format!("LOST-{n:02}");
        h.put_case(pothole(&reference, n % 2 == 0, Some(412_000 + n)))
            .await;
        ids.push((reference.clone(), h.apply(&reference, POTHOLE).await));
    }
    let mut looked_up = 0;
    for (reference, id) in &ids {
        let job = h.finished(*id).await;
        assert_eq!(
            job.state,
            JobState::Done,
            "{reference}: {:?}",
            job.last_error
        );
        let log = h.log_of(*id).await;
        assert!(
            !log.iter()
                .any(|e| e.outcome == LogOutcome::PossibleDuplicate),
            "{reference}"
        );
        let number = job.progress.case_number.clone().expect("case number");
        let aurora = h.sim.case(&number).expect("in Aurora");
        assert_eq!(aurora["body"]["externalReference"], json!(reference));
        if log.iter().any(|e| {
            e.reason
                .as_deref()
                .is_some_and(|r| r.contains("CreateCase sent but its answer was lost"))
        }) {
            looked_up += 1;
        }
    }
    let counts = h.sim.counts();
    assert!(counts.lost_answers > 0);
    assert!(looked_up > 0, "some CreateCase answer was lost");
    assert_eq!(counts.cases, 12);
    assert_eq!(counts.duplicates, 0);
    assert!(
        counts
            .calls
            .get("lookup_by_reference")
            .copied()
            .unwrap_or(0)
            >= looked_up
    );
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn without_a_look_up_a_lost_answer_is_sent_again_and_logged() -> TestResult {
    let h = Harness::start(Setup {
        faults: Faults {
            lost_response_rate: 0.5,
            ..Faults::default()
        },
        seed: 9,
        settings: |s| {
            s.request_timeout_ms = 300;
            s.lookup_by_reference_path = None;
        },
        ..Setup::default()
    })
    .await;
    let mut ids = Vec::new();
    for n in 0..8 {
        let reference = format!("DUP-{n:02}");
        h.put_case(pothole(&reference, false, Some(412_000 + n)))
            .await;
        ids.push(h.apply(&reference, POTHOLE).await);
    }
    let mut possible = 0;
    for id in &ids {
        let job = h.finished(*id).await;
        assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
        let log = h.log_of(*id).await;
        for entry in log
            .iter()
            .filter(|e| e.outcome == LogOutcome::PossibleDuplicate)
        {
            possible += 1;
            let reason = entry.reason.clone().unwrap_or_default();
            assert!(
                reason.contains("no look-up by externalReference"),
                "{reason}"
            );
        }
    }
    let counts = h.sim.counts();
    assert!(possible > 0, "some answer was lost");
    // Every duplicate follows a resend that was logged (a resend after a timeout that came before
    // Aurora committed makes none).
    assert!(counts.duplicates > 0);
    assert!(
        counts.duplicates <= possible,
        "{} > {possible}",
        counts.duplicates
    );
    h.stop().await;
    Ok(())
}

// ------------------------------------------------------------------------------ the update flow

/// Raises a trigger through the simulator's admin endpoint; returns the blob name and snapshot.
async fn trigger(sim: &SimHandle, body: Value) -> (String, Value) {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/admin/trigger", sim.base_url))
        .json(&body)
        .send()
        .await
        .expect("trigger sent")
        .error_for_status()
        .expect("trigger accepted")
        .json()
        .await
        .expect("trigger answer");
    let name = answer["name"].as_str().unwrap_or_default().to_owned();
    (name, answer["snapshot"].clone())
}

fn update_job(name: &str, snapshot: Value) -> UpdateJob {
    UpdateJob {
        snapshot_name: Some(name.into()),
        case_number: snapshot["Message"]["CaseNumber"]
            .as_str()
            .unwrap_or_default()
            .into(),
        taken_at: snapshot["Date"].as_str().unwrap_or_default().into(),
        snapshot,
    }
}

#[tokio::test]
async fn snapshots_update_connect_cases_in_time_order() -> TestResult {
    let h = Harness::start(Setup::default()).await;
    h.put_case(pothole("CAS-600", true, Some(412345))).await;
    let job = h.finished(h.apply("CAS-600", POTHOLE).await).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    let number = job.progress.case_number.clone().expect("case number");

    // The inspector clears the case: Aurora writes a snapshot.
    let (name, snapshot) = trigger(
        &h.sim,
        json!({
            "caseNumber": number,
            "trigger": "CS_CLEAR_CASE",
            "at": "2026-01-10T10:00:00Z",
            "message": {
                "ClearanceReasonCode": "DR02",
                "ClearanceReasonPortalText": "Filled today.\\nThank you for reporting it.",
            },
        }),
    )
    .await;
    assert!(name.ends_with("_CS_CLEAR_CASE.json"), "{name}");
    let newer = h.update(&update_job(&name, snapshot.clone())).await;
    let job = h.finished(newer).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    let case = h.case("CAS-600").await;
    let fields = &case.body["fields"];
    assert_eq!(fields["aurora_status"], "Closed");
    assert_eq!(fields["clearance_code"], "DR02");
    assert_eq!(
        fields["clearance_reason"],
        "Filled today.\nThank you for reporting it."
    );
    assert_eq!(fields["aurora_case_number"], json!(number));
    let cleared: Timestamp = case.body["dates"]["cleared"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    assert_eq!(cleared, "2026-01-10T10:00:00Z".parse::<Timestamp>()?);
    let log = h.log_of(newer).await;
    assert_eq!(outcomes(&log), [LogOutcome::Updated]);
    assert_eq!(log[0].case_ref.as_deref(), Some("CAS-600"));
    assert_eq!(log[0].template.as_deref(), Some("Pothole progress"));
    assert_eq!(log[0].aurora_case_number.as_deref(), Some(number.as_str()));
    let reason = log[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("field.aurora_status"), "{reason}");
    assert!(reason.contains("CS_CLEAR_CASE"), "{reason}");

    // A snapshot taken earlier arrives late: it writes nothing.
    let (old_name, old_snapshot) = trigger(
        &h.sim,
        json!({
            "caseNumber": number,
            "trigger": "CS_RE_QUEUE",
            "at": "2026-01-09T08:00:00Z",
        }),
    )
    .await;
    let older = h.update(&update_job(&old_name, old_snapshot)).await;
    let job = h.finished(older).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    assert_eq!(h.case("CAS-600").await.body, case.body);
    let log = h.log_of(older).await;
    assert_eq!(outcomes(&log), [LogOutcome::Skipped]);
    let reason = log[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("older than the snapshot of"), "{reason}");
    assert_eq!(log[0].case_ref.as_deref(), Some("CAS-600"));

    // A snapshot of a case no Connect case holds.
    let (stray_name, stray) = trigger(
        &h.sim,
        json!({"caseNumber": "999999", "trigger": "CS_CHANGE_QUEUE"}),
    )
    .await;
    let stray_job = h.update(&update_job(&stray_name, stray)).await;
    let job = h.finished(stray_job).await;
    assert_eq!(job.state, JobState::Done);
    let log = h.log_of(stray_job).await;
    assert_eq!(outcomes(&log), [LogOutcome::Skipped]);
    assert_eq!(log[0].aurora_case_number.as_deref(), Some("999999"));
    let reason = log[0].reason.clone().unwrap_or_default();
    assert!(
        reason.contains("no Connect case holds Aurora case 999999"),
        "{reason}"
    );
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn snapshots_applied_in_any_order_by_several_workers_leave_the_newest() -> TestResult {
    let h = Harness::start(Setup {
        concurrency: 4,
        ..Setup::default()
    })
    .await;
    let mut case = pothole("CAS-1000", false, Some(1));
    case.references
        .insert("aurora_case".into(), "777001".into());
    h.put_case(case).await;
    // Twenty snapshots of one case, an hour apart, enqueued in a scrambled order.
    let triggers = ["CS_CHANGE_QUEUE", "CS_RE_QUEUE", "CS_RECORD_CONTACT_EVENT"];
    let mut ids = Vec::new();
    for i in 0..20u32 {
        let hour = (i * 7) % 20;
        let snapshot = json!({
            "TriggerType": triggers[(hour % 3) as usize],
            "Date": format!("2026-03-01T{hour:02}:00:00Z"),
            "Message": {"CaseNumber": "777001", "CaseTypeCode": format!("T{hour:02}")},
        });
        let name = format!("20260301_{hour:02}0000000_{i}_X.json");
        ids.push(h.update(&update_job(&name, snapshot)).await);
    }
    let mut written = 0;
    let mut skipped = 0;
    for id in ids {
        let job = h.finished(id).await;
        assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
        for entry in h.log_of(id).await {
            match entry.outcome {
                LogOutcome::Updated => written += 1,
                LogOutcome::Skipped => skipped += 1,
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(written + skipped, 20);
    let case = h.case("CAS-1000").await;
    assert_eq!(case.body["fields"]["aurora_case_type"], "T19");
    let updated: Timestamp = case.body["dates"]["aurora_updated"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    assert_eq!(updated, "2026-03-01T19:00:00Z".parse::<Timestamp>()?);
    h.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_snapshot_reaches_every_case_holding_its_number_and_bad_ones_fail_once() -> TestResult {
    let h = Harness::start(Setup::default()).await;
    // Two Connect cases hold the same Aurora case (a duplicate report linked by hand).
    for reference in ["CAS-700", "CAS-701"] {
        let mut case = pothole(reference, false, Some(1));
        case.references
            .insert("aurora_case".into(), "555001".into());
        h.put_case(case).await;
    }
    let snapshot = json!({
        "TriggerType": "CS_INSPECTION_PROMPTED",
        "Date": "2026-02-01T09:00:00.1234567Z",
        "Message": {"CaseNumber": "555001", "CaseTypeCode": "POTF"},
    });
    let id = h
        .update(&update_job(
            "20260201_090000123_1_CS_INSPECTION_PROMPTED.json",
            snapshot.clone(),
        ))
        .await;
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::Done, "{:?}", job.last_error);
    let log = h.log_of(id).await;
    assert_eq!(outcomes(&log), [LogOutcome::Updated, LogOutcome::Updated]);
    for reference in ["CAS-700", "CAS-701"] {
        let case = h.case(reference).await;
        assert_eq!(case.body["fields"]["aurora_status"], "Inspection arranged");
        assert_eq!(case.body["fields"]["aurora_case_type"], "POTF");
    }

    // A snapshot whose UDF does not fit the schema's type fails once, naming the mapping.
    let mut bad = snapshot;
    bad["Date"] = json!("2026-02-02T09:00:00Z");
    bad["Message"]["UserDefinedFields"] = json!([{"Code": "HAZARD", "Value": {"not": "text"}}]);
    let id = h
        .update(&update_job(
            "20260202_090000000_2_CS_CHANGE_QUEUE.json",
            bad,
        ))
        .await;
    let job = h.finished(id).await;
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.attempts, 1);
    let reason = job.last_error.unwrap_or_default();
    assert!(reason.contains("templates/potholes.amap:"), "{reason}");
    assert!(reason.contains("Pothole progress"), "{reason}");
    h.stop().await;
    Ok(())
}
