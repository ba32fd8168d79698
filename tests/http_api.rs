//! The HTTP API over real loopback HTTP, on a real SQLite file, with the example plans; the
//! settings PUT against the Aurora simulator. The malformed-request corpus is data in
//! `tests/http_corpus/`.

mod http_harness;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use amap::service::http::{Access, openapi_document, route_table};
use amap::service::settings::stored_aurora;
use amap::service::store::{JobKind, JobState, LogOutcome, NewLogEntry};
use amap::sim::{self, SimConfig};
use http_harness::{Api, KEY, OTHER_KEY, TestResult, dump, small_limits};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn example(path: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(path),
    )
    .expect("example file")
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, value)
}

#[tokio::test]
async fn the_happy_path_of_every_call() -> TestResult {
    let api = Api::start(small_limits()).await;
    let case = example("cases/pothole.json");
    let reference: Value = serde_json::from_str::<Value>(&case)?["reference"].clone();
    let reference = reference.as_str().expect("reference").to_owned();
    let path = format!("/v1/cases/{reference}");

    // PUT creates, then replaces.
    let (status, created) = json_of(
        api.request(Method::PUT, &path)
            .header("content-type", "application/json")
            .body(case.clone())
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["case"]["reference"], reference.as_str());
    assert_eq!(created["case"]["type"], "report_a_pothole");
    let (status, _) = json_of(
        api.request(Method::PUT, &path)
            .header("content-type", "application/json")
            .body(case.clone())
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The integration writes back a reference and a field; GET shows them.
    api.store
        .set_case_reference(&reference, "aurora_case", "10001")
        .await?;
    let mut stored = api.store.get_case(&reference).await?.expect("case");
    stored.case.body["fields"]["inspection_status"] = json!("Inspected");
    api.store
        .set_case_body(&reference, &stored.case.body)
        .await?;
    let (status, got) = json_of(api.request(Method::GET, &path).send().await?).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["case"]["references"]["aurora_case"], "10001");
    assert_eq!(got["case"]["fields"]["inspection_status"], "Inspected");
    assert_eq!(got["case"]["fields"]["depth_mm"], 60);

    // What GET shows can be sent back as it is; the integration's own state is kept.
    let mut stored = api.store.get_case(&reference).await?.expect("case");
    stored.case.body["integration"] = json!({"applied": {"aurora_case": "2025-12-02T10:00:00Z"}});
    api.store
        .set_case_body(&reference, &stored.case.body)
        .await?;
    let (_, got) = json_of(api.request(Method::GET, &path).send().await?).await;
    let mut sent_back = got["case"].clone();
    sent_back["integration"] = json!({"applied": {}});
    let (status, put_back) = json_of(
        api.request(Method::PUT, &path)
            .json(&sent_back)
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{put_back}");
    assert_eq!(
        put_back["case"]["integration"]["applied"]["aurora_case"],
        "2025-12-02T10:00:00Z"
    );
    assert_eq!(put_back["case"]["fields"]["inspection_status"], "Inspected");
    assert_eq!(put_back["case"]["references"]["aurora_case"], "10001");

    // A file.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"\xff\xd8\xff photo".to_vec())
            .file_name("hole.jpg")
            .mime_str("image/jpeg")?,
    );
    let (status, attached) = json_of(
        api.request(Method::POST, &format!("{path}/attachments"))
            .multipart(form)
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{attached}");
    assert_eq!(attached["attachment"]["name"], "hole.jpg");
    assert_eq!(attached["attachment"]["size"], 9);
    let files = api.store.list_attachments(&reference).await?;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].content_type, "image/jpeg");
    // A file of exactly the limit is accepted.
    let limit = api.limits.max_attachment_bytes;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![7u8; limit])
            .file_name("scan.pdf")
            .mime_str("application/pdf")?,
    );
    let (status, big) = json_of(
        api.request(Method::POST, &format!("{path}/attachments"))
            .multipart(form)
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{big}");
    assert_eq!(big["attachment"]["size"], limit);

    // Apply → 202 with a queued create job, deferred by delay_seconds.
    let (status, applied) = json_of(
        api.request(Method::POST, &format!("{path}/apply"))
            .json(&json!({"template": "Pothole report", "delay_seconds": 60}))
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{applied}");
    let job_id = applied["job"].as_i64().expect("job id");
    let (status, job) = json_of(
        api.request(Method::GET, &format!("/v1/jobs/{job_id}"))
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["job"]["kind"], "create");
    assert_eq!(job["job"]["state"], "queued");
    assert_eq!(
        job["job"]["payload"],
        json!({"case_ref": reference, "template": "Pothole report"})
    );
    let stored_job = api
        .store
        .get_job(amap::service::store::JobId(job_id))
        .await?
        .expect("job");
    assert_eq!(stored_job.kind, JobKind::Create);
    assert_eq!(stored_job.state, JobState::Queued);
    let delay = stored_job
        .run_at
        .duration_since(stored_job.created_at)
        .as_secs();
    assert!(
        (59..=61).contains(&delay),
        "run_at is 60 s after enqueue: {delay}"
    );

    // A pushed snapshot → 202; the same name again → 200, nothing enqueued.
    let snapshot = example("snapshots/pothole_cleared.json");
    let name = "20251202_10000000_1_CS_CHANGE_QUEUE.json";
    let (status, pushed) = json_of(
        api.request(Method::POST, &format!("/v1/aurora/snapshots?name={name}"))
            .header("content-type", "application/json")
            .body(snapshot.clone())
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pushed}");
    let update = pushed["job"].as_i64().expect("job");
    let (status, again) = json_of(
        api.request(Method::POST, &format!("/v1/aurora/snapshots?name={name}"))
            .header("content-type", "application/json")
            .body(snapshot)
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["already_processed"], true);
    let (_, job) = json_of(
        api.request(Method::GET, &format!("/v1/jobs/{update}"))
            .send()
            .await?,
    )
    .await;
    assert_eq!(job["job"]["kind"], "update");
    // Without a name the snapshot is named by its bytes: the same bytes pushed twice apply once.
    let unnamed = r#"{"Message": {"CaseNumber": "10002", "Status": "Open"}}"#;
    let mut answers = Vec::new();
    for _ in 0..2 {
        answers.push(
            json_of(
                api.request(Method::POST, "/v1/aurora/snapshots")
                    .header("content-type", "application/json")
                    .body(unnamed)
                    .send()
                    .await?,
            )
            .await,
        );
    }
    assert_eq!(answers[0].0, StatusCode::ACCEPTED, "{}", answers[0].1);
    assert_eq!(answers[1].0, StatusCode::OK, "{}", answers[1].1);
    assert_eq!(answers[0].1["name"], answers[1].1["name"]);
    assert_eq!(api.store.job_counts().await?.queued, 3);

    // The log, filtered.
    for (case_ref, outcome) in [
        (reference.as_str(), LogOutcome::Created),
        (reference.as_str(), LogOutcome::AttachmentFallback),
        ("CAS-OTHER", LogOutcome::ValidationFailure),
    ] {
        api.store
            .append_log(
                &NewLogEntry::new(outcome)
                    .case_ref(case_ref)
                    .template("Pothole report")
                    .reason("in words"),
            )
            .await?;
    }
    let (status, log) = json_of(api.request(Method::GET, "/v1/log").send().await?).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log["entries"].as_array().map(Vec::len), Some(3));
    let (_, log) = json_of(
        api.request(
            Method::GET,
            &format!("/v1/log?case={reference}&outcome=created"),
        )
        .send()
        .await?,
    )
    .await;
    let entries = log["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["outcome"], "created");
    let (_, log) = json_of(api.request(Method::GET, "/v1/log?limit=2").send().await?).await;
    assert_eq!(log["entries"].as_array().map(Vec::len), Some(2));
    let before = log["next_before"].as_i64().expect("a next page");
    let (_, log) = json_of(
        api.request(Method::GET, &format!("/v1/log?limit=2&before={before}"))
            .send()
            .await?,
    )
    .await;
    assert_eq!(log["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(log["next_before"], Value::Null);
    let (_, log) = json_of(
        api.request(
            Method::GET,
            "/v1/log?since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z",
        )
        .send()
        .await?,
    )
    .await;
    assert_eq!(log["entries"].as_array().map(Vec::len), Some(0));

    // Liveness needs no key; the second key works too.
    let health = api.client.get(api.url("/healthz")).send().await?;
    assert_eq!(health.status(), StatusCode::OK);
    let other = api
        .client
        .get(api.url(&path))
        .bearer_auth(OTHER_KEY)
        .send()
        .await?;
    assert_eq!(other.status(), StatusCode::OK);
    api.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_missing_and_a_wrong_key_get_the_same_401() -> TestResult {
    let api = Api::start(small_limits()).await;
    let missing = api.client.get(api.url("/v1/log")).send().await?;
    let wrong = api
        .client
        .get(api.url("/v1/log"))
        .bearer_auth("not-a-key")
        .send()
        .await?;
    for response in [missing, wrong] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("Bearer")),
            "{:?}",
            response.headers()
        );
        let (_, body) = json_of(response).await;
        assert_eq!(body["error"]["code"], "unauthorized");
        let text = body.to_string();
        assert!(!text.contains(KEY) && !text.contains(OTHER_KEY), "{text}");
    }
    // `?key=` is accepted for the log page only.
    let page = api
        .client
        .get(api.url(&format!("/log?key={KEY}")))
        .send()
        .await?;
    assert_eq!(page.status(), StatusCode::OK);
    let api_call = api
        .client
        .get(api.url(&format!("/v1/log?key={KEY}")))
        .send()
        .await?;
    assert_eq!(api_call.status(), StatusCode::UNAUTHORIZED);
    api.stop().await;
    Ok(())
}

/// Every response body of the settings test, to check no secret is in any of them.
struct Bodies(Vec<String>);

impl Bodies {
    async fn send(&mut self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("send");
        let status = response.status();
        let text = response.text().await.expect("body");
        self.0.push(text.clone());
        (status, serde_json::from_str(&text).expect("JSON"))
    }
}

#[tokio::test]
async fn settings_are_saved_only_after_the_token_grant_and_never_shown() -> TestResult {
    let sim = sim::start(SimConfig::default(), "127.0.0.1:0".parse()?).await?;
    let api = Api::start(small_limits()).await;
    let good = sim.aurora_settings();
    let secret = good.client_secret.expose().to_owned();
    let password = good.password.expose().to_owned();
    let mut bodies = Bodies(Vec::new());

    let (status, empty) = bodies.send(api.request(Method::GET, "/v1/settings")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        empty,
        json!({"enabled": false, "aurora": null, "source": null})
    );

    // Good settings: the grant runs, they are saved and put in force.
    let mut aurora = serde_json::to_value(&good)?;
    aurora["client_secret"] = json!(secret);
    aurora["password"] = json!(password);
    let (status, saved) = bodies
        .send(
            api.request(Method::PUT, "/v1/settings")
                .json(&json!({"enabled": true, "aurora": aurora})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["aurora"]["password"], "***");
    assert_eq!(saved["aurora"]["client_secret"], "***");
    assert_eq!(sim.counts().grants, 1);
    let in_force = api.aurora.get().expect("a client in force");
    assert_eq!(in_force.settings().password.expose(), password);
    let before = stored_aurora(&api.store).await?.expect("saved");
    let rows_before = dump(&api.db_path).await;

    // A wrong password: refused with the reason, nothing saved, the old client kept.
    let mut wrong = aurora.clone();
    wrong["password"] = json!("a-wrong-password");
    wrong["client_id"] = json!("another-client");
    let (status, refused) = bodies
        .send(
            api.request(Method::PUT, "/v1/settings")
                .json(&json!({"enabled": true, "aurora": wrong})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["code"], "aurora_credentials_refused");
    let message = refused["error"]["message"].as_str().expect("message");
    assert!(message.contains("nothing was saved"), "{message}");
    assert!(
        message.contains("invalid_"),
        "the reason Aurora gave: {message}"
    );
    assert!(!message.contains("a-wrong-password"), "{message}");
    assert_eq!(stored_aurora(&api.store).await?, Some(before.clone()));
    assert_eq!(dump(&api.db_path).await, rows_before, "no row changed");
    let (_, shown) = bodies.send(api.request(Method::GET, "/v1/settings")).await;
    assert_eq!(shown["aurora"]["client_id"], good.client_id.as_str());
    assert_eq!(shown["source"], "api");
    assert_eq!(
        api.aurora.get().expect("client").settings().client_id,
        good.client_id
    );

    // `***` keeps the saved secrets; other settings change.
    let mut kept = aurora.clone();
    kept["password"] = json!("***");
    kept.as_object_mut()
        .expect("object")
        .remove("client_secret");
    kept["request_timeout_ms"] = json!(5000);
    let (status, saved) = bodies
        .send(
            api.request(Method::PUT, "/v1/settings")
                .json(&json!({"enabled": true, "aurora": kept})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let after = stored_aurora(&api.store).await?.expect("saved");
    let after_settings = after.settings.expect("settings");
    assert_eq!(after_settings.password.expose(), password);
    assert_eq!(after_settings.client_secret.expose(), secret);
    assert_eq!(after_settings.request_timeout_ms, 5000);

    // Disabling needs no grant and takes the client out of force.
    let grants = sim.counts().grants;
    let (status, off) = bodies
        .send(
            api.request(Method::PUT, "/v1/settings")
                .json(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["enabled"], false);
    assert_eq!(off["aurora"]["api_url"], good.api_url.as_str());
    assert!(api.aurora.get().is_none());
    assert_eq!(sim.counts().grants, grants);

    for body in &bodies.0 {
        assert!(!body.contains(&secret), "client secret in {body}");
        assert!(!body.contains(&password), "password in {body}");
        assert!(!body.contains("a-wrong-password"), "password in {body}");
        assert!(!body.contains(KEY), "API key in {body}");
    }
    api.stop().await;
    sim.shutdown().await;
    Ok(())
}

/// A sample line of the Prometheus text format: name, labels, value.
fn parse_sample(line: &str) -> Option<(String, BTreeMap<String, String>, f64)> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')?),
        None => (series, ""),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return None;
    }
    let mut map = BTreeMap::new();
    let mut rest = labels;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    let (_, escaped) = chars.next()?;
                    value.push(if escaped == 'n' { '\n' } else { escaped });
                }
                '"' => {
                    end = Some(i);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end?;
        map.insert(key.to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some((name.to_owned(), map, value))
}

#[tokio::test]
async fn metrics_are_prometheus_text() -> TestResult {
    let api = Api::start(small_limits()).await;
    api.request(Method::PUT, "/v1/cases/CAS-M")
        .json(&json!({"type": "report_a_pothole"}))
        .send()
        .await?;
    api.request(Method::POST, "/v1/cases/CAS-M/apply")
        .json(&json!({"template": "Pothole report"}))
        .send()
        .await?;
    api.request(Method::GET, "/v1/cases/NOPE").send().await?;
    api.store
        .append_log(&NewLogEntry::new(LogOutcome::Created).case_ref("CAS-M"))
        .await?;
    let response = api.client.get(api.url("/metrics")).send().await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain; version=0.0.4")),
    );
    let text = response.text().await?;
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "one TYPE per metric: {line}"
            );
        } else if line.starts_with("# HELP ") || line.is_empty() {
        } else {
            let sample = parse_sample(line).unwrap_or_else(|| panic!("not a sample: {line:?}"));
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    sample
                        .0
                        .strip_suffix(s)
                        .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
                })
                .unwrap_or(&sample.0)
                .to_owned();
            assert!(
                types.contains_key(&family),
                "sample before its TYPE: {line}"
            );
            samples.push(sample);
        }
    }
    let value = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.2)
    };
    assert_eq!(value("amap_store_up", &[]), Some(1.0));
    assert_eq!(
        value("amap_jobs", &[("kind", "create"), ("state", "queued")]),
        Some(1.0)
    );
    assert_eq!(
        value("amap_jobs", &[("kind", "update"), ("state", "done")]),
        Some(0.0)
    );
    assert_eq!(
        value("amap_log_entries_total", &[("outcome", "created")]),
        Some(1.0)
    );
    assert_eq!(value("amap_job_attempts_total", &[]), Some(0.0));
    assert_eq!(
        value(
            "amap_http_requests_total",
            &[
                ("route", "/v1/cases/{ref}"),
                ("method", "GET"),
                ("status", "404")
            ]
        ),
        Some(1.0)
    );
    // Every histogram: buckets never decrease and +Inf equals the count.
    for (name, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (n, labels, v) in &samples {
            if *n == format!("{name}_bucket") {
                let mut key = labels.clone();
                let le = key.remove("le").expect("le");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().expect("le number")
                };
                series.entry(format!("{key:?}")).or_default().push((le, *v));
            }
        }
        assert!(
            !series.is_empty() || name == "amap_http_request_duration_seconds",
            "{name}"
        );
        for (key, buckets) in series {
            assert!(
                buckets
                    .windows(2)
                    .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                "{name} {key}"
            );
            let inf = buckets.last().expect("buckets");
            assert_eq!(inf.0, f64::INFINITY, "{name} {key} ends with +Inf");
        }
    }
    let latency = value(
        "amap_http_request_duration_seconds_count",
        &[("route", "/v1/cases/{ref}/apply"), ("method", "POST")],
    );
    assert_eq!(latency, Some(1.0));
    api.stop().await;
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes() -> TestResult {
    let api = Api::start(small_limits()).await;
    let served: Value = api
        .client
        .get(api.url("/openapi.json"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(served, openapi_document());
    assert_eq!(served["openapi"], "3.1.0");
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    let mut documented = BTreeSet::new();
    for (path, item) in served["paths"].as_object().expect("paths") {
        for (key, operation) in item.as_object().expect("path item") {
            if methods.contains(&key.as_str()) {
                assert!(
                    operation["responses"].is_object(),
                    "{key} {path} has responses"
                );
                documented.insert((key.to_uppercase(), path.clone()));
            }
        }
    }
    let routed: BTreeSet<(String, String)> = route_table()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_owned()))
        .collect();
    assert_eq!(documented, routed);
    // Every route is answered by its handler, not the fallback; the open ones need no key.
    for (method, path, access) in route_table() {
        let concrete = path.replace("{ref}", "CAS-X").replace("{id}", "1");
        let response = api
            .client
            .request(method.clone(), api.url(&concrete))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        assert!(
            !text.contains("no_route") && !text.contains("method_not_allowed"),
            "{method} {path}: {text}"
        );
        match access {
            Access::Open => assert!(status.is_success(), "{method} {path}: {status}"),
            _ => assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}"),
        }
    }
    // Documented security matches access.
    for (method, path, access) in route_table() {
        let op = &served["paths"][path][method.as_str().to_lowercase()];
        let open = op.get("security").is_some_and(|s| s == &json!([]));
        assert_eq!(open, access == Access::Open, "{method} {path}");
    }
    api.stop().await;
    Ok(())
}

/// One malformed request of `tests/http_corpus/*.toml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Malformed {
    name: String,
    method: String,
    path: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_hex: Option<String>,
    #[serde(default)]
    parts: Vec<Part>,
    status: u16,
    code: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Part {
    text: String,
    times: usize,
}

#[derive(Debug, serde::Deserialize)]
struct CorpusFile {
    request: Vec<Malformed>,
}

impl Malformed {
    fn body(&self) -> Vec<u8> {
        if let Some(hex) = &self.body_hex {
            let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            return digits
                .chunks(2)
                .map(|pair| {
                    u8::from_str_radix(std::str::from_utf8(pair).expect("hex"), 16).expect("hex")
                })
                .collect();
        }
        if !self.parts.is_empty() {
            return self
                .parts
                .iter()
                .flat_map(|p| p.text.repeat(p.times).into_bytes())
                .collect();
        }
        self.body.clone().unwrap_or_default().into_bytes()
    }
}

fn corpus() -> Vec<(String, Malformed)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("corpus file");
        let parsed: CorpusFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        all.extend(parsed.request.into_iter().map(|r| (stem.clone(), r)));
    }
    all
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_and_change_nothing() -> TestResult {
    let corpus = corpus();
    assert!(
        corpus.len() >= 50,
        "the corpus has {} requests",
        corpus.len()
    );
    let api = Api::start(small_limits()).await;
    // Something in every table: a case with a reference and a file, a job, a log entry.
    let (status, _) = json_of(
        api.request(Method::PUT, "/v1/cases/CAS-1")
            .json(
                &json!({"type": "report_a_pothole", "fields": {"summary": "hole"},
                "references": {"aurora_case": "10001"}}),
            )
            .send()
            .await?,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    api.store
        .add_attachment("CAS-1", "a.txt", "text/plain", b"hello")
        .await?;
    api.store
        .enqueue(
            JobKind::Create,
            &json!({"case_ref": "CAS-1", "template": "Pothole report"}),
            jiff::Timestamp::now(),
        )
        .await?;
    api.store
        .append_log(&NewLogEntry::new(LogOutcome::Created).case_ref("CAS-1"))
        .await?;
    let before = dump(&api.db_path).await;
    assert!(before.len() >= 4, "{before:?}");
    let mut failures = Vec::new();
    for (file, r) in &corpus {
        let method = Method::from_bytes(r.method.as_bytes()).expect("method");
        let path = r.path.replace("{KEY}", KEY);
        let mut request = api.client.request(method, api.url(&path));
        match r.key.as_deref().unwrap_or("valid") {
            "valid" => request = request.bearer_auth(KEY),
            "wrong" => request = request.bearer_auth("wrong-key-0123456789"),
            "none" => {}
            other => panic!(
                "{file}: {}: key must be valid, wrong or none, not {other}",
                r.name
            ),
        }
        for (name, value) in &r.headers {
            request = request.header(name, value);
        }
        let body = r.body();
        if !body.is_empty() || r.body.is_some() {
            request = request.body(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let what = format!("{file}: {}", r.name);
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let mut problems = Vec::new();
        if !(400..500).contains(&status) {
            problems.push(format!("status {status} is not 4xx"));
        }
        if status != r.status {
            problems.push(format!("status {status}, expected {}", r.status));
        }
        match error {
            None => problems.push("the body is not {\"error\": …}".to_owned()),
            Some(error) => {
                if error["code"] != r.code.as_str() {
                    problems.push(format!("code {}, expected {}", error["code"], r.code));
                }
                let message = error["message"].as_str().unwrap_or_default();
                if message.is_empty() {
                    problems.push("no message".to_owned());
                }
                if let Some(expected) = &r.message
                    && !message.contains(expected.as_str())
                {
                    problems.push(format!("message {message:?} lacks {expected:?}"));
                }
                if !error["details"].is_array() {
                    problems.push("details is not a list".to_owned());
                }
                if let Some(detail) = &r.detail {
                    let paths: Vec<&str> = error["details"]
                        .as_array()
                        .map(|d| d.iter().filter_map(|d| d["path"].as_str()).collect())
                        .unwrap_or_default();
                    if !paths.contains(&detail.as_str()) {
                        problems.push(format!("no detail at {detail:?}: {paths:?}"));
                    }
                }
            }
        }
        if text.contains(KEY) || text.contains(OTHER_KEY) {
            problems.push("the answer shows an API key".to_owned());
        }
        if dump(&api.db_path).await != before {
            problems.push("a row changed".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!("{what}: {} — answer: {text}", problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} requests:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
    api.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_store_that_fails_gets_503_without_its_cause() -> TestResult {
    let api = Api::start(small_limits()).await;
    api.store.close().await;
    let (status, body) = json_of(api.request(Method::GET, "/v1/cases/CAS-1").send().await?).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "store_unavailable");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("sqlite") && !message.contains("pool"),
        "{message}"
    );
    let health = api.client.get(api.url("/healthz")).send().await?;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let metrics = api
        .client
        .get(api.url("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(metrics.contains("amap_store_up 0"), "{metrics}");
    api.stop().await;
    Ok(())
}
