//! `GET /metrics`: Prometheus text format. Counts of the store (jobs by kind and state, attempts,
//! log entries by outcome, durations of finished jobs) are computed by the database at scrape
//! time, so every instance sharing a store reports the same numbers; HTTP request counts and
//! latencies are this process's own.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::service::store::{JOB_DURATION_BUCKETS, JobKind, JobState, LogOutcome, StoreStats};

/// Upper bounds (seconds) of the HTTP latency histogram's buckets.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Latency {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Recorded {
    /// By (route, method).
    latency: BTreeMap<(String, String), Latency>,
    /// By (route, method, status).
    requests: BTreeMap<(String, String, u16), u64>,
}

/// Request counts and latencies of this process, by route.
#[derive(Default)]
pub(crate) struct HttpMetrics(Mutex<Recorded>);

impl HttpMetrics {
    fn record(&self, route: String, method: String, status: u16, seconds: f64) {
        let mut recorded = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *recorded
            .requests
            .entry((route.clone(), method.clone(), status))
            .or_default() += 1;
        let latency = recorded.latency.entry((route, method)).or_default();
        latency.count += 1;
        latency.sum += seconds;
        for (bucket, bound) in latency.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
    }

    fn write(&self, out: &mut String) {
        let recorded = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        header(
            out,
            "amap_http_requests_total",
            "counter",
            "HTTP requests answered, by route, method and status.",
        );
        for ((route, method, status), n) in &recorded.requests {
            let _ = writeln!(
                out,
                "amap_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                label(route),
                label(method)
            );
        }
        header(
            out,
            "amap_http_request_duration_seconds",
            "histogram",
            "Time to answer an HTTP request, by route and method.",
        );
        for ((route, method), l) in &recorded.latency {
            let labels = format!("route=\"{}\",method=\"{}\"", label(route), label(method));
            for (bound, n) in LATENCY_BUCKETS.iter().zip(l.buckets) {
                let _ = writeln!(
                    out,
                    "amap_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "amap_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                l.count
            );
            let _ = writeln!(
                out,
                "amap_http_request_duration_seconds_sum{{{labels}}} {}",
                l.sum
            );
            let _ = writeln!(
                out,
                "amap_http_request_duration_seconds_count{{{labels}}} {}",
                l.count
            );
        }
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Records the latency and status of every request, by its route pattern (never the path
/// itself, which may hold a case reference, nor the query, which may hold a key).
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let start = Instant::now();
    let response = next.run(request).await;
    let seconds = start.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    tracing::debug!(%route, %method, status, ms = seconds * 1000.0, "answered");
    state.http_metrics.record(route, method, status, seconds);
    response
}

const KINDS: [JobKind; 2] = [JobKind::Create, JobKind::Update];
const STATES: [JobState; 5] = [
    JobState::Queued,
    JobState::Running,
    JobState::Done,
    JobState::Failed,
    JobState::GaveUp,
];

fn write_store(out: &mut String, stats: &StoreStats) {
    header(
        out,
        "amap_jobs",
        "gauge",
        "Jobs in the store, by kind and state.",
    );
    for kind in KINDS {
        for state in STATES {
            let n = stats
                .jobs
                .iter()
                .find(|(k, s, _)| *k == kind && *s == state)
                .map_or(0, |(_, _, n)| *n);
            let _ = writeln!(
                out,
                "amap_jobs{{kind=\"{}\",state=\"{}\"}} {n}",
                kind.as_str(),
                state.as_str()
            );
        }
    }
    header(
        out,
        "amap_job_attempts_total",
        "counter",
        "Attempts started over all jobs in the store.",
    );
    let _ = writeln!(out, "amap_job_attempts_total {}", stats.attempts);
    header(
        out,
        "amap_log_entries_total",
        "counter",
        "Integration log entries, by outcome.",
    );
    for outcome in LogOutcome::ALL {
        let n = stats
            .log
            .iter()
            .find(|(o, _)| o == outcome)
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(
            out,
            "amap_log_entries_total{{outcome=\"{}\"}} {n}",
            outcome.as_str()
        );
    }
    header(
        out,
        "amap_job_duration_seconds",
        "histogram",
        "Time from enqueue to finish of the finished jobs (done, failed, gave up), by kind.",
    );
    for kind in KINDS {
        let h = stats
            .durations
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, h)| h.clone())
            .unwrap_or_default();
        let labels = format!("kind=\"{}\"", kind.as_str());
        for (i, bound) in JOB_DURATION_BUCKETS.iter().enumerate() {
            let n = h.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "amap_job_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "amap_job_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "amap_job_duration_seconds_sum{{{labels}}} {}",
            h.sum_seconds
        );
        let _ = writeln!(
            out,
            "amap_job_duration_seconds_count{{{labels}}} {}",
            h.count
        );
    }
}

/// `GET /metrics`.
pub(crate) async fn scrape(State(state): State<AppState>) -> Response {
    let mut out = String::with_capacity(8192);
    let stats = state.ctx.store.stats().await;
    header(
        &mut out,
        "amap_store_up",
        "gauge",
        "Whether the store answered this scrape.",
    );
    let _ = writeln!(out, "amap_store_up {}", u8::from(stats.is_ok()));
    match &stats {
        Ok(stats) => write_store(&mut out, stats),
        Err(err) => tracing::error!(error = %err, "metrics: the store does not answer"),
    }
    state.http_metrics.write(&mut out);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
