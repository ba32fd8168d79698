//! `amap demo`: the whole loop on this machine, in a few seconds.
//!
//! Starts the Aurora simulator (validating against the example Aurora schema, with an upload size
//! limit) and the service (a temporary SQLite file, a compressed retry schedule, four workers,
//! the return-path poller) on ephemeral loopback ports, with the example project embedded in the
//! binary. It then sends example cases through the HTTP API (one with a file the simulator
//! refuses, one the pothole template cannot map), applies the create templates, raises triggers
//! in the simulator so that updates flow back through the poller, waits for every job, and prints
//! the integration log and the Connect fields written back. An overall time limit makes sure it
//! never hangs.

use super::{CliError, FAILURE, SUCCESS};
use crate::diagnostics::SourceMap;
use crate::runtime::aurora::install_crypto_provider;
use crate::schema::load_aurora;
use crate::service::app::{self, RunningService};
use crate::service::config::{ServiceConfig, UpdatesConfig};
use crate::service::retry::RetryConfig;
use crate::service::store::{LogEntry, LogOutcome, LogQuery};
use crate::sim::{self, FaultsUpdate, SimConfig, SimHandle};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Give up (exit status 1) when the demo has not finished after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
}

/// The example project, embedded so that the demo runs from any directory.
const PROJECT: &[(&str, &str)] = &[
    ("amap.toml", include_str!("../../examples/amap.toml")),
    (
        "schema/aurora.toml",
        include_str!("../../examples/schema/aurora.toml"),
    ),
    (
        "schema/connect.toml",
        include_str!("../../examples/schema/connect.toml"),
    ),
    (
        "templates/potholes.amap",
        include_str!("../../examples/templates/potholes.amap"),
    ),
    (
        "templates/fly_tipping.amap",
        include_str!("../../examples/templates/fly_tipping.amap"),
    ),
    (
        "templates/street_lighting.amap",
        include_str!("../../examples/templates/street_lighting.amap"),
    ),
];

/// The simulator refuses uploads larger than this (the survey PDF of the first case is).
const SIM_MAX_UPLOAD: usize = 64 * 1024;

/// Where Connect is said to be, for the links to files Aurora refused.
const CONNECT_BASE_URL: &str = "https://connect.example.gov.uk";

/// What the demo is doing, for the message when it runs out of time.
#[derive(Clone, Default)]
struct Stage(Arc<Mutex<String>>);

impl Stage {
    fn set(&self, what: impl Into<String>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = what.into();
    }

    fn get(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

pub fn run(args: &Args) -> Result<i32, CliError> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::Project {
        message: format!("cannot start the async runtime: {e}"),
        help: None,
    })?;
    let stage = Stage::default();
    let limit = Duration::from_secs(args.timeout.max(1));
    let outcome = runtime.block_on(async {
        tokio::time::timeout(limit, demo(stage.clone()))
            .await
            .map_err(|_| {
                format!(
                    "the demo did not finish within {} s (it was {})",
                    limit.as_secs(),
                    stage.get()
                )
            })
            .and_then(|r| r)
    });
    // Anything still running (the service, the simulator) stops with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(2));
    match outcome {
        Ok(()) => Ok(SUCCESS),
        Err(message) => {
            eprintln!("error: {message}");
            Ok(FAILURE)
        }
    }
}

/// One example case and what the demo does with it.
struct DemoCase {
    body: Value,
    template: &'static str,
    files: Vec<(&'static str, &'static str, Vec<u8>)>,
    /// Raised in the simulator once the case exists: `(trigger, Message keys)`.
    trigger: Option<(&'static str, Value)>,
}

fn cases() -> Vec<DemoCase> {
    // The project's example cases, under the demo's own references. Their files are the demo's
    // own uploads (below), not the examples' listed attachments.
    let example = |text: &str, reference: &str| -> Value {
        let mut case: Value = serde_json::from_str(text).unwrap_or_default();
        case["reference"] = json!(reference);
        case["attachments"] = json!([]);
        case
    };
    let pothole = example(
        include_str!("../../examples/cases/pothole.json"),
        "DEMO-0001",
    );
    let fly_tipping = example(
        include_str!("../../examples/cases/fly_tipping.json"),
        "DEMO-0002",
    );
    let street_light = example(
        include_str!("../../examples/cases/street_lighting.json"),
        "DEMO-0003",
    );
    // No map pin: the pothole template requires the easting, so this one fails validation.
    let no_pin = json!({
        "reference": "DEMO-0004",
        "type": "report_a_pothole",
        "status": "submitted",
        "fields": {
            "summary": "Pothole somewhere on Otley Road",
            "details": "Near the lights, I think.",
            "hazard": "medium",
            "surface": "road"
        },
        "dates": {"reported": "2025-12-04"},
        "person": {"forename": "Sam", "surname": "Jones", "email": "sam.jones@example.org"},
        "address": {"summary": "Otley Road, Leeds", "town": "Leeds"},
        "references": {}
    });
    vec![
        DemoCase {
            body: pothole,
            template: "Pothole report",
            files: vec![
                (
                    "pothole.jpg",
                    "image/jpeg",
                    fake_file(b"\xFF\xD8\xFF\xE0", 4 * 1024),
                ),
                (
                    "site-survey.pdf",
                    "application/pdf",
                    fake_file(b"%PDF-1.7\n", SIM_MAX_UPLOAD * 3),
                ),
            ],
            trigger: Some((
                "CS_CLEAR_CASE",
                json!({
                    "ClearanceReasonCode": "REPAIRED",
                    "ClearanceReasonPortalText": "Repaired with a permanent patch.\\nThank you for reporting it."
                }),
            )),
        },
        DemoCase {
            body: fly_tipping,
            template: "Fly-tipping report",
            files: Vec::new(),
            trigger: None,
        },
        DemoCase {
            body: street_light,
            template: "Street light fault",
            files: Vec::new(),
            trigger: Some(("CS_MAINTENANCE_COMPLETED", json!({}))),
        },
        DemoCase {
            body: no_pin,
            template: "Pothole report",
            files: Vec::new(),
            trigger: None,
        },
    ]
}

/// `size` bytes starting with `magic`.
fn fake_file(magic: &[u8], size: usize) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.resize(size.max(magic.len()), b'.');
    bytes
}

/// The service's HTTP API, as Connect would call it.
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Value), String> {
        let response = request
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .json::<Value>()
            .await
            .map_err(|e| format!("{what}: the answer is not JSON: {e}"))?;
        Ok((status, body))
    }

    async fn expect(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
        ok: &[u16],
    ) -> Result<Value, String> {
        let (status, body) = self.send(what, request).await?;
        if ok.contains(&status) {
            Ok(body)
        } else {
            Err(format!("{what}: HTTP {status}: {body}"))
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn demo(stage: Stage) -> Result<(), String> {
    install_crypto_provider();
    stage.set("writing the example project");
    let dir =
        tempfile::TempDir::new().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    for (name, text) in PROJECT {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }

    stage.set("starting the Aurora simulator");
    let sim = start_sim(dir.path()).await?;
    println!("Aurora simulator   {}", sim.base_url);

    stage.set("starting the service");
    let key = format!("demo-{:032x}", rand::random::<u128>());
    let config = service_config(dir.path(), &sim, &key);
    let service = app::start(config, dir.path())
        .await
        .map_err(|e| format!("the service did not start: {e}"))?;
    println!(
        "service            {}  (SQLite {})",
        service.base_url(),
        dir.path().join("amap.db").display()
    );
    println!();

    let result = exchange(&stage, &service, &sim, &key).await;
    stage.set("stopping the service");
    service.shutdown().await;
    sim.shutdown().await;
    result
}

async fn start_sim(dir: &Path) -> Result<SimHandle, String> {
    let path = dir.join("schema/aurora.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the Aurora schema: {e}"))?;
    let mut sources = SourceMap::new();
    let file = sources.add("schema/aurora.toml".to_owned(), text.clone());
    let (schema, diagnostics) = load_aurora(&text, file);
    if let Some(d) = diagnostics.iter().find(|d| d.is_error()) {
        return Err(format!(
            "the example Aurora schema has an error: {}",
            d.message
        ));
    }
    let config = SimConfig::with_schema(&schema);
    let sim = sim::start(config, "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
        .await
        .map_err(|e| format!("the simulator did not start: {e}"))?;
    sim.update_faults(&FaultsUpdate {
        max_attachment_bytes: Some(SIM_MAX_UPLOAD),
        // Some calls fail with 503 so that retries show in the log.
        failure_rate: Some(0.1),
        blob_page_size: Some(50),
        ..FaultsUpdate::default()
    })?;
    Ok(sim)
}

fn service_config(dir: &Path, sim: &SimHandle, key: &str) -> ServiceConfig {
    let mut config = ServiceConfig::new(&dir.join("amap.db"), CONNECT_BASE_URL);
    config.aurora = Some(sim.aurora_settings());
    config.updates = Some(UpdatesConfig {
        container: sim.blob_settings(),
        poll_interval: Duration::from_millis(100),
        window: Duration::from_secs(3600),
        max_catch_up: Duration::from_secs(24 * 3600),
        max_pages: 100,
    });
    config.server.listen = ([127, 0, 0, 1], 0).into();
    config.server.api_keys = vec![key.into()];
    config.server.concurrency = 4;
    config.server.lease = Duration::from_secs(30);
    config.server.shutdown_grace = Duration::from_secs(5);
    config.server.worker_poll_interval = Duration::from_millis(100);
    config.retry = RetryConfig::compressed(20);
    config
}

async fn exchange(
    stage: &Stage,
    service: &RunningService,
    sim: &SimHandle,
    key: &str,
) -> Result<(), String> {
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?,
        base: service.base_url(),
        key: key.to_owned(),
    };
    let cases = cases();
    let mut jobs = Vec::new();
    for case in &cases {
        let reference = case.body["reference"].as_str().unwrap_or_default();
        stage.set(format!("sending case {reference}"));
        api.expect(
            &format!("PUT /v1/cases/{reference}"),
            api.http
                .put(api.url(&format!("/v1/cases/{reference}")))
                .json(&case.body),
            &[200, 201],
        )
        .await?;
        println!("PUT  /v1/cases/{reference}");
        for (name, content_type, bytes) in &case.files {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(name.to_string())
                .mime_str(content_type)
                .map_err(|e| format!("{name}: {e}"))?;
            let form = reqwest::multipart::Form::new().part("file", part);
            api.expect(
                &format!("POST /v1/cases/{reference}/attachments ({name})"),
                api.http
                    .post(api.url(&format!("/v1/cases/{reference}/attachments")))
                    .multipart(form),
                &[201],
            )
            .await?;
            println!(
                "POST /v1/cases/{reference}/attachments  {name} ({} KiB)",
                bytes.len() / 1024
            );
        }
        let answer = api
            .expect(
                &format!("POST /v1/cases/{reference}/apply"),
                api.http
                    .post(api.url(&format!("/v1/cases/{reference}/apply")))
                    .json(&json!({"template": case.template})),
                &[202],
            )
            .await?;
        let job = answer["job"]
            .as_i64()
            .ok_or_else(|| format!("apply {reference}: no job id in {answer}"))?;
        println!(
            "POST /v1/cases/{reference}/apply  {:?} → job {job}",
            case.template
        );
        jobs.push(job);
    }

    stage.set("waiting for the create jobs");
    for job in &jobs {
        wait_for_job(&api, *job).await?;
    }

    // Triggers in Aurora: the snapshots reach the service through the poller.
    let mut expected_updates = 0usize;
    for case in &cases {
        let Some((trigger, message)) = &case.trigger else {
            continue;
        };
        let reference = case.body["reference"].as_str().unwrap_or_default();
        let view = api
            .expect(
                &format!("GET /v1/cases/{reference}"),
                api.http.get(api.url(&format!("/v1/cases/{reference}"))),
                &[200],
            )
            .await?;
        let references = view["case"]["references"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let Some(number) = references.values().find_map(Value::as_str) else {
            return Err(format!(
                "case {reference} holds no Aurora case number after its create"
            ));
        };
        stage.set(format!("raising {trigger} on Aurora case {number}"));
        let answer = reqwest::Client::new()
            .post(format!("{}/admin/trigger", sim.base_url))
            .json(&json!({"caseNumber": number, "trigger": trigger, "message": message}))
            .send()
            .await
            .map_err(|e| format!("raising a trigger in the simulator: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!(
                "the simulator refused the trigger: HTTP {}",
                answer.status()
            ));
        }
        let blob: Value = answer
            .json()
            .await
            .map_err(|e| format!("trigger answer: {e}"))?;
        println!(
            "Aurora {trigger} on {number} → blob {}",
            blob["name"].as_str().unwrap_or("?")
        );
        expected_updates += 1;
    }

    stage.set("waiting for the updates to come back through the poller");
    wait_for_updates(service, expected_updates).await?;
    stage.set("waiting for the update jobs");
    wait_until_idle(service).await?;

    stage.set("printing the log");
    let mut entries = service
        .store()
        .query_log(&LogQuery {
            limit: Some(LogQuery::MAX_LIMIT),
            ..LogQuery::default()
        })
        .await
        .map_err(|e| format!("reading the log: {e}"))?;
    entries.reverse();
    println!();
    println!("Integration log");
    print!("{}", log_table(&entries));

    println!();
    println!("Connect fields written back");
    for case in &cases {
        let reference = case.body["reference"].as_str().unwrap_or_default();
        let view = api
            .expect(
                &format!("GET /v1/cases/{reference}"),
                api.http.get(api.url(&format!("/v1/cases/{reference}"))),
                &[200],
            )
            .await?;
        print!("{}", written_back(reference, &case.body, &view["case"]));
    }

    let counts = sim.counts();
    let count = |o: LogOutcome| entries.iter().filter(|e| e.outcome == o).count();
    println!();
    println!(
        "{} cases sent: {} created in Aurora, {} validation failure(s), {} update(s) applied, {} retried failure(s); \
         the simulator holds {} case(s) ({} duplicate(s)), {} attachment(s), {} note(s)",
        cases.len(),
        count(LogOutcome::Created),
        count(LogOutcome::ValidationFailure),
        entries
            .iter()
            .filter(|e| e.outcome == LogOutcome::Updated)
            .count(),
        count(LogOutcome::TransientFailure),
        counts.cases,
        counts.duplicates,
        counts.attachments,
        counts.notes,
    );
    Ok(())
}

async fn wait_for_job(api: &Api, job: i64) -> Result<(), String> {
    loop {
        let answer = api
            .expect(
                &format!("GET /v1/jobs/{job}"),
                api.http.get(api.url(&format!("/v1/jobs/{job}"))),
                &[200],
            )
            .await?;
        match answer["job"]["state"].as_str() {
            Some("done" | "failed" | "gave_up") => return Ok(()),
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            None => return Err(format!("job {job}: no state in {answer}")),
        }
    }
}

/// Waits until the poller has enqueued `n` update jobs.
async fn wait_for_updates(service: &RunningService, n: usize) -> Result<(), String> {
    loop {
        let seen = service
            .store()
            .get_cursor(crate::service::poller::CURSOR)
            .await
            .map_err(|e| format!("reading the poller's cursor: {e}"))?;
        let counts = service
            .store()
            .job_counts()
            .await
            .map_err(|e| format!("counting jobs: {e}"))?;
        let all = counts.queued + counts.running + counts.done + counts.failed + counts.gave_up;
        // Every create job is final; the update jobs come on top of them.
        if seen.is_some() && all >= (cases().len() + n) as u64 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until no job is queued or running.
async fn wait_until_idle(service: &RunningService) -> Result<(), String> {
    loop {
        let counts = service
            .store()
            .job_counts()
            .await
            .map_err(|e| format!("counting jobs: {e}"))?;
        if counts.queued == 0 && counts.running == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The log as an aligned table, oldest first.
fn log_table(entries: &[LogEntry]) -> String {
    let header = [
        "time",
        "case",
        "template",
        "outcome",
        "Aurora case",
        "try",
        "reason",
    ];
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            let time = e.at.strftime("%H:%M:%S%.3f").to_string();
            let mut reason = e.reason.clone().unwrap_or_default().replace('\n', " ");
            if let Some(next) = e.next_attempt_at {
                let _ = write!(reason, " (next attempt {})", next.strftime("%H:%M:%S%.3f"));
            }
            [
                time,
                e.case_ref.clone().unwrap_or_default(),
                e.template.clone().unwrap_or_default(),
                e.outcome.to_string(),
                e.aurora_case_number.clone().unwrap_or_default(),
                e.attempt.map(|a| a.to_string()).unwrap_or_default(),
                reason,
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = w - cell.chars().count();
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, &header);
    // The last column is as wide as its longest reason; its rule only as wide as its heading.
    let last = header.len() - 1;
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| "-".repeat(if i == last { header[last].len() } else { *w }))
        .collect();
    let rule: Vec<&str> = rule.iter().map(String::as_str).collect();
    line(&mut out, &rule);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&mut out, &cells);
    }
    out
}

/// The references, fields and dates of `now` that are new or changed from `sent`.
fn written_back(reference: &str, sent: &Value, now: &Value) -> String {
    let mut out = String::new();
    let mut lines = Vec::new();
    for (section, label) in [
        ("references", "ref"),
        ("fields", "field"),
        ("dates", "date"),
    ] {
        let before = sent[section].as_object().cloned().unwrap_or_default();
        let after: Map<String, Value> = now[section].as_object().cloned().unwrap_or_default();
        for (name, value) in &after {
            if before.get(name) != Some(value) {
                lines.push(format!("{label}.{name} = {value}"));
            }
        }
    }
    if lines.is_empty() {
        let _ = writeln!(out, "{reference:<10}  (nothing written back)");
    }
    for (i, line) in lines.iter().enumerate() {
        let lead = if i == 0 { reference } else { "" };
        let _ = writeln!(out, "{lead:<10}  {line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::store::{JobId, LogId};
    use jiff::Timestamp;

    fn entry(outcome: LogOutcome, case: &str, reason: Option<&str>) -> LogEntry {
        LogEntry {
            id: LogId(1),
            at: "2025-12-02T09:46:56.123Z"
                .parse()
                .unwrap_or(Timestamp::UNIX_EPOCH),
            case_ref: Some(case.into()),
            template: Some("Pothole report".into()),
            aurora_case_number: Some("CS-1".into()),
            job_id: Some(JobId(1)),
            attempt: Some(1),
            outcome,
            reason: reason.map(str::to_owned),
            next_attempt_at: None,
        }
    }

    #[test]
    fn the_log_table_is_aligned() {
        let table = log_table(&[
            entry(LogOutcome::Created, "DEMO-0001", None),
            entry(
                LogOutcome::ValidationFailure,
                "DEMO-10",
                Some("line one\nline two"),
            ),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(
            lines[0].starts_with("time          case       template        outcome"),
            "{table}"
        );
        let column = lines[0].find("outcome").unwrap_or(0);
        assert_eq!(lines[2].find("created"), Some(column), "{table}");
        assert_eq!(lines[3].find("validation_failure"), Some(column), "{table}");
        assert!(lines[3].ends_with("line one line two"), "{table}");
        assert!(lines[2].starts_with("09:46:56.123"), "{table}");
    }

    #[test]
    fn only_new_or_changed_values_are_written_back() {
        let sent = json!({"fields": {"a": 1, "b": 2}, "references": {}});
        let now = json!({"fields": {"a": 1, "b": 3, "c": "x"}, "dates": {"d": "2025-01-01"}, "references": {"r": "CS-1"}});
        let text = written_back("DEMO-1", &sent, &now);
        assert_eq!(
            text,
            "DEMO-1      ref.r = \"CS-1\"\n            field.b = 3\n            field.c = \"x\"\n            date.d = \"2025-01-01\"\n"
        );
        assert_eq!(
            written_back("DEMO-2", &sent, &sent),
            "DEMO-2      (nothing written back)\n"
        );
    }
}
