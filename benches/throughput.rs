//! Cases per second created end to end: the service (HTTP API, SQLite store, workers) and the
//! Aurora simulator on loopback, in one process. A batch of cases is sent as Connect sends them
//! (`PUT /v1/cases/{ref}` then `POST /v1/cases/{ref}/apply`, 16 clients at a time; 8 workers;
//! `AMAP_BENCH_CLIENTS` and `AMAP_BENCH_WORKERS` change them) and the clock
//! stops when every create job is done: evaluated, contact found or created, CreateCase sent, the
//! case number stored and the incoming template applied.
//!
//! Both SQLite commit modes are measured: `synchronous = "full"` (every commit waits for the disk)
//! and `"normal"` (the default: commits survive `kill -9` without waiting for the disk). For each,
//! `cargo bench --bench throughput` first prints one timed batch of 1,000 cases (cases per second
//! and the process's peak resident memory), then runs the criterion measurement on batches of 200.

/// The allocator of the `amap` binary (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use amap::runtime::aurora::install_crypto_provider;
use amap::service::app::{self, RunningService};
use amap::service::config::ServiceConfig;
use amap::service::retry::RetryConfig;
use amap::service::store::SqliteSync;
use amap::sim::{self, SimConfig, SimHandle};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const KEY: &str = "throughput-bench-key-0123456789";
/// Connect clients sending at the same time (`AMAP_BENCH_CLIENTS`, default 16).
fn clients() -> usize {
    env_number("AMAP_BENCH_CLIENTS", 16)
}

/// The service's workers (`AMAP_BENCH_WORKERS`, default 8).
fn workers() -> usize {
    env_number("AMAP_BENCH_WORKERS", 8)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

struct Bench {
    _dir: TempDir,
    sim: SimHandle,
    service: RunningService,
    http: reqwest::Client,
    batches: AtomicU64,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

async fn setup(sync: SqliteSync) -> Bench {
    install_crypto_provider();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let dir = TempDir::new().expect("temporary folder");
    copy_dir(&examples.join("schema"), &dir.path().join("schema"));
    copy_dir(&examples.join("templates"), &dir.path().join("templates"));
    std::fs::write(
        dir.path().join("amap.toml"),
        "[project]\ntemplates = [\"templates/**/*.amap\"]\naurora_schema = \"schema/aurora.toml\"\nconnect_schema = \"schema/connect.toml\"\n",
    )
    .expect("amap.toml");

    let text = std::fs::read_to_string(examples.join("schema/aurora.toml")).expect("schema");
    let mut sources = amap::diagnostics::SourceMap::new();
    let file = sources.add("aurora.toml".to_owned(), text.clone());
    let (schema, _) = amap::schema::load_aurora(&text, file);
    let sim = sim::start(
        SimConfig::with_schema(&schema),
        "127.0.0.1:0".parse().expect("address"),
    )
    .await
    .expect("simulator");

    let mut config = ServiceConfig::new(&dir.path().join("amap.db"), "https://connect.example");
    config.aurora = Some(sim.aurora_settings());
    config.server.listen = ([127, 0, 0, 1], 0).into();
    config.server.api_keys = vec![KEY.into()];
    config.server.concurrency = workers();
    config.server.worker_poll_interval = Duration::from_millis(100);
    config.retry = RetryConfig::compressed(10);
    config.store.sqlite_sync = sync;
    let service = app::start(config, dir.path())
        .await
        .expect("service starts");
    Bench {
        _dir: dir,
        sim,
        service,
        http: reqwest::Client::new(),
        batches: AtomicU64::new(0),
    }
}

fn case(reference: &str, n: usize) -> Value {
    json!({
        "reference": reference,
        "type": "report_a_pothole",
        "status": "submitted",
        "fields": {
            "summary": "Deep pothole on the inside lane",
            "details": "About a foot across and getting worse.",
            "hazard": "high",
            "surface": "road",
            "depth_mm": 60
        },
        "dates": {"reported": "2025-12-02"},
        "person": {"forename": "Ann", "surname": format!("Smith{n}"), "email": format!("ann{n}@example.org")},
        "address": {"summary": "12 High Street, Leeds", "town": "Leeds", "easting": 427000 + n, "northing": 435870},
        "references": {}
    })
}

/// Sends `n` cases and applies the pothole template to each; returns when every job is final.
async fn batch(bench: &Bench, n: usize) -> Duration {
    let batch = bench.batches.fetch_add(1, Ordering::Relaxed);
    let base = bench.service.base_url();
    let before = bench.service.store().job_counts().await.expect("counts");
    let finished_before = before.done + before.failed + before.gave_up;
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..clients() {
        let http = bench.http.clone();
        let base = base.clone();
        let next = Arc::clone(&next);
        senders.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= n {
                    return;
                }
                let reference = format!("B{batch}-{i}");
                let put = http
                    .put(format!("{base}/v1/cases/{reference}"))
                    .bearer_auth(KEY)
                    .json(&case(&reference, i))
                    .send()
                    .await
                    .expect("PUT case");
                assert!(put.status().is_success(), "PUT {}", put.status());
                let apply = http
                    .post(format!("{base}/v1/cases/{reference}/apply"))
                    .bearer_auth(KEY)
                    .json(&json!({"template": "Pothole report"}))
                    .send()
                    .await
                    .expect("apply");
                assert_eq!(apply.status().as_u16(), 202);
            }
        });
    }
    while let Some(joined) = senders.join_next().await {
        joined.expect("client task");
    }
    loop {
        let counts = bench.service.store().job_counts().await.expect("counts");
        if counts.done + counts.failed + counts.gave_up >= finished_before + n as u64 {
            assert_eq!(counts.failed + counts.gave_up, 0, "{counts:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    started.elapsed()
}

/// The process's peak resident set, from `/proc/self/status` (`VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("throughput");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    let per_batch = 200;
    group.throughput(Throughput::Elements(per_batch as u64));
    for (label, sync) in [
        ("synchronous=full", SqliteSync::Full),
        ("synchronous=normal", SqliteSync::Normal),
    ] {
        let bench = runtime.block_on(setup(sync));
        let n = 1000;
        let took = runtime.block_on(batch(&bench, n));
        let counts = bench.sim.counts();
        println!(
            "{label}: {n} cases created end to end in {:.2} s: {:.0} cases/s ({} workers, \
             {} clients, SQLite); the simulator holds {} cases, {} duplicates; peak RSS {}",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            workers(),
            clients(),
            counts.cases,
            counts.duplicates,
            peak_rss_mib().map_or("unknown".to_owned(), |m| format!("{m:.1} MiB")),
        );
        runtime.block_on(async {
            bench.service.shutdown().await;
            bench.sim.shutdown().await;
        });
        // Each sample starts from a fresh service, database and simulator (off the clock), so
        // that the simulator, which keeps every case in memory, does not grow through the run.
        group.bench_function(
            format!("create 200 cases end to end, SQLite {label}"),
            |b| {
                b.iter_custom(|iterations| {
                    let bench = runtime.block_on(setup(sync));
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        total += runtime.block_on(batch(&bench, per_batch));
                    }
                    runtime.block_on(async {
                        bench.service.shutdown().await;
                        bench.sim.shutdown().await;
                    });
                    total
                });
            },
        );
    }
    group.finish();
    println!(
        "peak RSS of the whole run: {}",
        peak_rss_mib().map_or("unknown".to_owned(), |m| format!("{m:.1} MiB"))
    );
}

criterion_group!(benches, throughput);
criterion_main!(benches);
