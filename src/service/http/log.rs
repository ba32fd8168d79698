//! `GET /v1/log`: the integration log, newest first, filtered by case, template, outcome, job and
//! time, paged by id.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult, Detail, did_you_mean};
use super::extract::{QueryPairs, shorten};
use crate::service::store::{JobId, LogId, LogOutcome, LogQuery};

/// The filters of the log, as query parameters.
pub(crate) const LOG_FILTERS: &[&str] = &[
    "case", "template", "outcome", "job", "since", "until", "before", "limit",
];

fn time(name: &str, text: &str, details: &mut Vec<Detail>) -> Option<Timestamp> {
    match text.parse::<Timestamp>() {
        Ok(t) => Some(t),
        Err(_) => {
            details.push(Detail::new(
                name,
                format!(
                    "{:?} is not a time; give an RFC 3339 time such as 2025-12-02T09:00:00Z",
                    shorten(text)
                ),
            ));
            None
        }
    }
}

fn positive(name: &str, text: &str, details: &mut Vec<Detail>) -> Option<i64> {
    match text.parse::<i64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            details.push(Detail::new(
                name,
                format!("{:?} is not a positive whole number", shorten(text)),
            ));
            None
        }
    }
}

/// Reads the log filters of a query (other parameters named in `extra` are allowed and ignored).
pub(crate) fn log_query(query: &QueryPairs, extra: &[&str]) -> ApiResult<LogQuery> {
    let allowed: Vec<&str> = LOG_FILTERS.iter().chain(extra).copied().collect();
    query.check(&allowed)?;
    let mut details = Vec::new();
    let mut q = LogQuery {
        case_ref: query.get("case").map(str::to_owned),
        template: query.get("template").map(str::to_owned),
        ..LogQuery::default()
    };
    if let Some(outcome) = query.get("outcome") {
        match outcome.parse::<LogOutcome>() {
            Ok(o) => q.outcome = Some(o),
            Err(_) => {
                let names: Vec<&str> = LogOutcome::ALL.iter().map(|o| o.as_str()).collect();
                details.push(Detail::new(
                    "outcome",
                    format!(
                        "{:?} is not an outcome{}; the outcomes are {}",
                        shorten(outcome),
                        did_you_mean(outcome, names.iter().copied()),
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(job) = query.get("job") {
        q.job_id = positive("job", job, &mut details).map(JobId);
    }
    if let Some(since) = query.get("since") {
        q.since = time("since", since, &mut details);
    }
    if let Some(until) = query.get("until") {
        q.until = time("until", until, &mut details);
    }
    if let (Some(since), Some(until)) = (q.since, q.until)
        && since >= until
    {
        details.push(Detail::new("until", "is not after since"));
    }
    if let Some(before) = query.get("before") {
        q.before_id = positive("before", before, &mut details).map(LogId);
    }
    if let Some(limit) = query.get("limit") {
        match limit.parse::<u32>() {
            Ok(n) if (1..=LogQuery::MAX_LIMIT).contains(&n) => q.limit = Some(n),
            _ => details.push(Detail::new(
                "limit",
                format!(
                    "{:?} is not a limit; give a whole number from 1 to {}",
                    shorten(limit),
                    LogQuery::MAX_LIMIT
                ),
            )),
        }
    }
    if details.is_empty() {
        Ok(q)
    } else {
        Err(ApiError::bad_request(
            "invalid_query",
            super::validate::count("the query string", &details),
        )
        .with_details(details))
    }
}

/// `GET /v1/log` → `{"entries": [...], "next_before": id | null}`.
pub(crate) async fn get_log(
    State(state): State<AppState>,
    query: QueryPairs,
) -> ApiResult<Json<Value>> {
    let q = log_query(&query, &[])?;
    let entries = state.ctx.store.query_log(&q).await?;
    let full = entries.len() == q.effective_limit() as usize;
    let next_before = entries.last().filter(|_| full).map(|e| e.id);
    Ok(Json(
        json!({ "entries": entries, "next_before": next_before }),
    ))
}
