//! `amap serve` as an operator runs it: the real binary, configured by an `amap.toml` in a
//! temporary folder, an SQLite file, and the Aurora simulator on loopback.
//!
//! - `kill -9` in the middle of 200 applies, then a restart: every case created exactly once;
//! - a trigger raised in Aurora reaches the Connect case through the poller, and the same blob seen
//!   again (pushed, listed after a restart) is applied once;
//! - at a 50 % failure rate every job ends created within 10 attempts; at 100 % a job gives up after
//!   exactly 10 (a compressed schedule from the configuration);
//! - configuration errors are all reported with their keys, before anything starts (fixtures in
//!   `tests/serve/`: `NAME.toml` and the expected `NAME.stderr`; `AMAP_BLESS=1 cargo test --test
//!   serve` rewrites the expected output).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amap::sim::{self, FaultsUpdate, SimConfig, SimHandle, TriggerRequest};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::time::Instant;

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;
type AnyError = Box<dyn std::error::Error + Send + Sync>;

const KEY: &str = "serve-test-key-0123456789abcdef";

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// The example project in a temporary folder, with service tables pointing at `sim`.
struct Project {
    dir: TempDir,
    config: PathBuf,
}

/// What differs between the tests' configurations.
struct Tweaks {
    /// `[aurora].read_back_path` set.
    read_back: bool,
    /// `[updates].enabled`.
    updates: bool,
    /// `[server].concurrency`.
    concurrency: usize,
}

impl Default for Tweaks {
    fn default() -> Self {
        Tweaks {
            read_back: true,
            updates: true,
            concurrency: 4,
        }
    }
}

impl Project {
    fn new(sim: &SimHandle, tweaks: &Tweaks) -> Result<Project, AnyError> {
        let dir = TempDir::new()?;
        copy_dir(
            &manifest().join("examples/schema"),
            &dir.path().join("schema"),
        )?;
        copy_dir(
            &manifest().join("examples/templates"),
            &dir.path().join("templates"),
        )?;
        std::fs::write(
            dir.path().join("sas.txt"),
            format!("{}\n", sim.sas().expose()),
        )?;
        let text = format!(
            r#"[project]
templates = ["templates/**/*.amap"]
aurora_schema = "schema/aurora.toml"
connect_schema = "schema/connect.toml"

[aurora]
identity_url = "{identity}"
api_url = "{api}"
client_id = "amap-sim"
client_secret = {{ env = "AMAP_TEST_CLIENT_SECRET" }}
username = "sim-user"
password = {{ env = "AMAP_TEST_PASSWORD" }}
lookup_by_reference_path = "Cases/Case/FindByExternalReference?externalReference="
{read_back}
request_timeout_ms = 2000

[updates]
enabled = {updates}
container_url = "{container}"
sas = {{ file = "sas.txt" }}
poll_interval_ms = 100

[store]
url = "amap.db"

[server]
listen = "127.0.0.1:0"
api_keys = [{{ env = "AMAP_TEST_API_KEY" }}]
concurrency = {concurrency}
lease_seconds = 2
shutdown_grace_seconds = 5
worker_poll_interval_ms = 100

[retry]
base_delay_ms = 10
max_delay_ms = 80
jitter = "none"

[connect]
base_url = "https://connect.example.gov.uk"
"#,
            identity = sim.identity_url,
            api = sim.api_url,
            container = sim.container_url,
            read_back = if tweaks.read_back {
                "read_back_path = \"Cases/Case/{caseNumber}\""
            } else {
                ""
            },
            updates = tweaks.updates,
            concurrency = tweaks.concurrency,
        );
        let config = dir.path().join("amap.toml");
        std::fs::write(&config, text)?;
        Ok(Project { dir, config })
    }
}

/// A running `amap serve`.
struct Serve {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl Serve {
    /// Starts the binary and waits for its "listening on" line.
    async fn start(project: &Project) -> Result<Serve, AnyError> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_amap"))
            .args(["serve", "--config"])
            .arg(&project.config)
            .current_dir(project.dir.path())
            .env("AMAP_TEST_CLIENT_SECRET", "sim-client-secret")
            .env("AMAP_TEST_PASSWORD", "sim-password")
            .env("AMAP_TEST_API_KEY", KEY)
            .env("AMAP_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            });
        }
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut tx = Some(tx);
            while let Some(Ok(line)) = lines.next() {
                if let Some(addr) = line.strip_prefix("listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let base = match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(base)) => base,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let log = stderr.lock().map(|s| s.clone()).unwrap_or_default();
                return Err(format!("amap serve did not start:\n{log}").into());
            }
        };
        Ok(Serve {
            child,
            base,
            stderr,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        })
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The logs so far hold none of the secrets the service was given.
    fn assert_no_secrets_logged(&self, sim: &SimHandle) {
        let log = self.stderr();
        assert!(log.contains("DEBUG"), "no debug logs were written");
        let sas = sim.sas();
        let signature = sas.expose().rsplit("sig=").next().unwrap_or_default();
        for secret in ["sim-client-secret", "sim-password", KEY, signature] {
            assert!(!log.contains(secret), "a secret is in the logs:\n{log}");
        }
    }

    /// `kill -9`.
    fn kill(mut self) -> Result<(), AnyError> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits for a clean exit.
    async fn stop(mut self) -> Result<(), AnyError> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status()?;
        if !status.success() {
            return Err("kill -TERM failed".into());
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if status.success() {
                    return Ok(());
                }
                return Err(format!("amap serve exited with {status}:\n{}", self.stderr()).into());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return Err("amap serve did not stop after SIGTERM".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), AnyError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    async fn put_case(&self, reference: &str, easting: Option<u32>) -> Result<(), AnyError> {
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/v1/cases/{reference}"),
                Some(pothole(reference, easting)),
            )
            .await?;
        if status != 200 && status != 201 {
            return Err(format!("PUT {reference}: {status} {body}").into());
        }
        Ok(())
    }

    async fn put_case_without_reporter(
        &self,
        reference: &str,
        easting: u32,
    ) -> Result<(), AnyError> {
        let mut case = pothole(reference, Some(easting));
        if let Some(fields) = case.as_object_mut() {
            fields.remove("person");
        }
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/v1/cases/{reference}"),
                Some(case),
            )
            .await?;
        if status != 200 && status != 201 {
            return Err(format!("PUT {reference}: {status} {body}").into());
        }
        Ok(())
    }

    async fn apply(&self, reference: &str) -> Result<i64, AnyError> {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/cases/{reference}/apply"),
                Some(json!({"template": "Pothole report"})),
            )
            .await?;
        if status != 202 {
            return Err(format!("apply {reference}: {status} {body}").into());
        }
        body["job"]
            .as_i64()
            .ok_or_else(|| format!("apply {reference}: no job in {body}").into())
    }

    async fn job(&self, id: i64) -> Result<Value, AnyError> {
        let (status, body) = self
            .call(reqwest::Method::GET, &format!("/v1/jobs/{id}"), None)
            .await?;
        if status != 200 {
            return Err(format!("job {id}: {status} {body}").into());
        }
        Ok(body["job"].clone())
    }

    /// Waits until every job is final; returns them.
    async fn finished(&self, ids: &[i64], within: Duration) -> Result<Vec<Value>, AnyError> {
        let deadline = Instant::now() + within;
        let mut done = Vec::with_capacity(ids.len());
        for id in ids {
            loop {
                let job = self.job(*id).await?;
                if matches!(job["state"].as_str(), Some("done" | "failed" | "gave_up")) {
                    done.push(job);
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("job {id} not finished in time: {job}").into());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(done)
    }

    async fn case(&self, reference: &str) -> Result<Value, AnyError> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/cases/{reference}"),
                None,
            )
            .await?;
        if status != 200 {
            return Err(format!("GET case {reference}: {status} {body}").into());
        }
        Ok(body["case"].clone())
    }

    async fn log(&self, query: &str) -> Result<Vec<Value>, AnyError> {
        let (status, body) = self
            .call(reqwest::Method::GET, &format!("/v1/log?{query}"), None)
            .await?;
        if status != 200 {
            return Err(format!("GET log: {status} {body}").into());
        }
        Ok(body["entries"].as_array().cloned().unwrap_or_default())
    }
}

fn pothole(reference: &str, easting: Option<u32>) -> Value {
    json!({
        "reference": reference,
        "type": "report_a_pothole",
        "status": "submitted",
        "fields": {
            "summary": "Deep pothole on the inside lane",
            "details": "About a foot across.",
            "hazard": "high",
            "surface": "road",
            "depth_mm": 60
        },
        "dates": {"reported": "2025-12-02"},
        "person": {"forename": "Ann", "surname": "Smith", "email": "ann.smith@example.org"},
        "address": {
            "summary": "12 High Street, Leeds, LS6 2AB",
            "town": "Leeds",
            "easting": easting,
            "northing": 435870
        },
        "references": {}
    })
}

async fn start_sim() -> Result<SimHandle, AnyError> {
    amap::runtime::aurora::install_crypto_provider();
    let text = std::fs::read_to_string(manifest().join("examples/schema/aurora.toml"))?;
    let mut sources = amap::diagnostics::SourceMap::new();
    let file = sources.add("aurora.toml".to_owned(), text.clone());
    let (schema, _) = amap::schema::load_aurora(&text, file);
    Ok(sim::start(SimConfig::with_schema(&schema), "127.0.0.1:0".parse()?).await?)
}

async fn wait_for(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<bool, AnyError>,
) -> Result<(), AnyError> {
    let deadline = Instant::now() + within;
    loop {
        if check().await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ------------------------------------------------------------------------------ kill -9

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_200_applies_then_a_restart_creates_each_case_once() -> TestResult {
    let sim = start_sim().await?;
    // Slow enough (about 20 cases a second with 4 workers) that most jobs are still to run, and
    // some in flight, when the process is killed.
    sim.update_faults(&FaultsUpdate {
        latency_ms: Some(40),
        ..FaultsUpdate::default()
    })?;
    let project = Project::new(&sim, &Tweaks::default())?;
    let serve = Serve::start(&project).await?;

    let mut ids = Vec::new();
    for n in 0..200 {
        let reference = format!("KILL-{n:04}");
        serve.put_case(&reference, Some(427_000 + n)).await?;
        ids.push(serve.apply(&reference).await?);
    }
    // Every apply was answered 202: each job is durable from here on.
    wait_for(
        "some cases to be created",
        Duration::from_secs(60),
        async || Ok(sim.counts().cases >= 20),
    )
    .await?;
    serve.kill()?;
    let at_kill = sim.counts().cases;
    assert!(
        at_kill < 200,
        "every case was created before the kill ({at_kill})"
    );

    let serve = Serve::start(&project).await?;
    let jobs = serve.finished(&ids, Duration::from_secs(180)).await?;
    for job in &jobs {
        assert_eq!(job["state"], "done", "{job}");
    }
    let counts = sim.counts();
    assert_eq!(counts.cases, 200, "{counts:?}");
    assert_eq!(counts.duplicates, 0, "{counts:?}");
    let possible = serve.log("outcome=possible_duplicate").await?;
    assert!(possible.is_empty(), "{possible:?}");
    for n in [0, 99, 199] {
        let case = serve.case(&format!("KILL-{n:04}")).await?;
        assert!(case["references"]["aurora_case"].is_string(), "{case}");
    }
    serve.stop().await?;
    Ok(())
}

// ------------------------------------------------------------------------------ the poller

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_reaches_the_connect_case_through_the_poller_and_a_blob_seen_again_is_applied_once()
-> TestResult {
    let sim = start_sim().await?;
    let project = Project::new(&sim, &Tweaks::default())?;
    let serve = Serve::start(&project).await?;
    serve.put_case("POLL-1", Some(427_512)).await?;
    let job = serve.apply("POLL-1").await?;
    serve.finished(&[job], Duration::from_secs(60)).await?;
    let case = serve.case("POLL-1").await?;
    let number = case["references"]["aurora_case"]
        .as_str()
        .ok_or("no case number")?
        .to_owned();

    let trigger = |name: &str, code: &str| TriggerRequest {
        case_number: number.clone(),
        trigger: name.to_owned(),
        message: [("ClearanceReasonCode".to_owned(), json!(code))]
            .into_iter()
            .collect(),
        ..TriggerRequest::default()
    };
    let blob = sim.trigger(trigger("CS_CLEAR_CASE", "REPAIRED"))?;
    wait_for(
        "the snapshot to reach the case",
        Duration::from_secs(60),
        async || {
            let case = serve.case("POLL-1").await?;
            Ok(case["fields"]["clearance_code"] == "REPAIRED")
        },
    )
    .await?;
    let case = serve.case("POLL-1").await?;
    assert_eq!(case["fields"]["aurora_status"], "Closed", "{case}");
    assert!(case["dates"]["cleared"].is_string(), "{case}");

    // The same blob pushed by a relay: already processed, nothing enqueued.
    let bytes = reqwest::get(format!(
        "{}/{blob}?{}",
        sim.container_url,
        sim.sas().expose()
    ))
    .await?
    .bytes()
    .await?;
    let pushed = serve
        .http
        .post(format!("{}/v1/aurora/snapshots?name={blob}", serve.base))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(bytes.to_vec())
        .send()
        .await?;
    assert_eq!(pushed.status().as_u16(), 200, "{:?}", pushed.text().await);

    // A restart lists the window again; a later trigger shows the poller has run since.
    serve.stop().await?;
    let serve = Serve::start(&project).await?;
    sim.trigger(trigger("CS_RE_QUEUE", "REOPENED"))?;
    wait_for("the later snapshot", Duration::from_secs(60), async || {
        let case = serve.case("POLL-1").await?;
        Ok(case["fields"]["clearance_code"] == "REOPENED")
    })
    .await?;
    let updates = serve.log("case=POLL-1&outcome=updated").await?;
    let applied_first = updates
        .iter()
        .filter(|e| e["reason"].as_str().is_some_and(|r| r.contains(&blob)))
        .count();
    assert_eq!(applied_first, 1, "{updates:#?}");
    assert_eq!(updates.len(), 2, "{updates:#?}");
    serve.assert_no_secrets_logged(&sim);
    serve.stop().await?;
    Ok(())
}

// ------------------------------------------------------------------------------ failure rates

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_fifty_percent_failure_rate_every_job_ends_created_within_ten_attempts() -> TestResult
{
    let sim = start_sim().await?;
    sim.update_faults(&FaultsUpdate {
        failure_rate: Some(0.5),
        ..FaultsUpdate::default()
    })?;
    // Cases without a reporter and no read-back: an attempt makes one Cases API call (CreateCase)
    // besides the shared token grant, so a job gives up only after ten failures in a row (1 in
    // 1024). One worker and no poller keep the simulator's seeded draws in a near-fixed order.
    let tweaks = Tweaks {
        read_back: false,
        updates: false,
        concurrency: 1,
    };
    let project = Project::new(&sim, &tweaks)?;
    let serve = Serve::start(&project).await?;
    let mut ids = Vec::new();
    for n in 0..10 {
        let reference = format!("HALF-{n:02}");
        serve
            .put_case_without_reporter(&reference, 427_000 + n)
            .await?;
        ids.push(serve.apply(&reference).await?);
    }
    let jobs = serve.finished(&ids, Duration::from_secs(120)).await?;
    for job in &jobs {
        assert_eq!(job["state"], "done", "{job}");
        let attempts = job["attempts"].as_u64().unwrap_or(0);
        assert!((1..=10).contains(&attempts), "{job}");
    }
    assert!(
        jobs.iter().any(|j| j["attempts"].as_u64() > Some(1)),
        "no job was retried at a 50 % failure rate"
    );
    let counts = sim.counts();
    assert_eq!((counts.cases, counts.duplicates), (10, 0), "{counts:?}");
    assert!(counts.injected_failures > 0, "{counts:?}");
    serve.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_hundred_percent_failure_rate_a_job_gives_up_after_exactly_ten_attempts() -> TestResult
{
    let sim = start_sim().await?;
    sim.update_faults(&FaultsUpdate {
        failure_rate: Some(1.0),
        ..FaultsUpdate::default()
    })?;
    let project = Project::new(&sim, &Tweaks::default())?;
    let serve = Serve::start(&project).await?;
    serve.put_case("DOWN-1", Some(427_512)).await?;
    let id = serve.apply("DOWN-1").await?;
    let job = serve
        .finished(&[id], Duration::from_secs(60))
        .await?
        .remove(0);
    assert_eq!(job["state"], "gave_up", "{job}");
    assert_eq!(job["attempts"], 10, "{job}");
    let log = serve.log(&format!("job={id}")).await?;
    let outcomes: Vec<&str> = log.iter().filter_map(|e| e["outcome"].as_str()).collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == "transient_failure")
            .count(),
        9,
        "{outcomes:?}"
    );
    assert_eq!(outcomes.first(), Some(&"gave_up"), "{outcomes:?}");
    assert_eq!(sim.counts().cases, 0);
    serve.stop().await?;
    Ok(())
}

// ------------------------------------------------------------------------------ configuration

fn bless() -> bool {
    std::env::var_os("AMAP_BLESS").is_some()
}

/// Each `tests/serve/*.toml` is refused with exit status 2 and exactly the messages of the
/// `.stderr` beside it, before anything starts.
#[test]
fn configuration_errors_are_all_reported_with_their_keys() -> TestResult {
    let dir = manifest().join("tests/serve");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    fixtures.sort();
    assert!(!fixtures.is_empty(), "no fixtures in {}", dir.display());
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let name = fixture
            .file_name()
            .ok_or("name")?
            .to_string_lossy()
            .into_owned();
        let output = Command::new(env!("CARGO_BIN_EXE_amap"))
            .args(["serve", "--config", &name])
            .current_dir(&dir)
            .env_remove("AMAP_TEST_UNSET_SECRET")
            .env("AMAP_TEST_EMPTY_SECRET", "")
            .env("AMAP_TEST_API_KEY", KEY)
            .stdin(Stdio::null())
            .output()?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.code() != Some(2) {
            failures.push(format!("{name}: exit status {:?}\n{stderr}", output.status));
        }
        if stdout.contains("listening") {
            failures.push(format!("{name}: the service started:\n{stdout}"));
        }
        let expected_path = fixture.with_extension("stderr");
        if bless() {
            std::fs::write(&expected_path, &stderr)?;
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == stderr => {}
            Ok(expected) => failures.push(format!(
                "{name}: stderr differs (AMAP_BLESS=1 to update)\n--- expected\n{expected}\n--- actual\n{stderr}"
            )),
            Err(_) => failures.push(format!(
                "{name}: no {} (AMAP_BLESS=1 to create it)\n{stderr}",
                expected_path.display()
            )),
        }
        for secret in ["do-not-show-this-secret"] {
            if stderr.contains(secret) {
                failures.push(format!("{name}: a secret value was printed"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

/// `examples/amap.toml` is a configuration `amap serve` accepts, its secrets from the environment.
#[test]
fn the_example_configuration_is_accepted_with_secrets_from_the_environment() -> TestResult {
    let path = manifest().join("examples/amap.toml");
    let text = std::fs::read_to_string(&path)?;
    let env = |name: &str| match name {
        "AURORA_CLIENT_SECRET" => Some("sim-client-secret".to_owned()),
        "AURORA_PASSWORD" => Some("sim-password".to_owned()),
        "AURORA_SAS" => Some("sv=1&sig=sim-signature".to_owned()),
        "AMAP_API_KEY" => Some(KEY.to_owned()),
        _ => None,
    };
    let config = amap::service::config::ServiceConfig::parse(&text, &path, &env)
        .map_err(|e| format!("examples/amap.toml is refused:\n{e}"))?;
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert!(config.aurora.is_some() && config.updates.is_some());
    assert_eq!(config.server.api_keys.len(), 1);
    // Without the environment, every secret is named.
    let errors = amap::service::config::ServiceConfig::parse(&text, &path, &|_| None)
        .err()
        .ok_or("accepted without its secrets")?;
    let keys: Vec<&str> = errors.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "[aurora].client_secret",
            "[aurora].password",
            "[updates].sas",
            "[server].api_keys.0"
        ]
    );
    Ok(())
}

/// A project whose templates have errors is not served: the diagnostics are printed as
/// `amap check` prints them, and nothing listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_with_template_errors_does_not_start() -> TestResult {
    let sim = start_sim().await?;
    let project = Project::new(&sim, &Tweaks::default())?;
    std::fs::write(
        project.dir.path().join("templates/broken.amap"),
        "create \"Broken\" for ref.aurora_case {\n    aurora.no_such_field = \"x\"\n}\n",
    )?;
    let output = Command::new(env!("CARGO_BIN_EXE_amap"))
        .args(["serve", "--config"])
        .arg(&project.config)
        .env("AMAP_TEST_CLIENT_SECRET", "sim-client-secret")
        .env("AMAP_TEST_PASSWORD", "sim-password")
        .env("AMAP_TEST_API_KEY", KEY)
        .stdin(Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(stderr.contains("templates/broken.amap:2"), "{stderr}");
    assert!(stderr.contains("no_such_field"), "{stderr}");
    assert!(
        !project.dir.path().join("amap.db").exists(),
        "the store was created"
    );
    Ok(())
}
