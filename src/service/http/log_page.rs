//! `GET /log`: the integration log as a web page for people. Server-rendered HTML with a little
//! inline CSS and no script; filters by case, template and outcome through a GET form; every value
//! HTML-escaped. Opened in a browser, which cannot send an `Authorization` header, the page also
//! takes the API key as the `key` query parameter and carries it in its own links and form.

use std::fmt::Write;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::AppState;
use super::auth::query_key;
use super::error::ApiResult;
use super::extract::QueryPairs;
use super::log::log_query;
use crate::service::store::{LogEntry, LogOutcome, LogQuery};

/// `&`, `<`, `>`, `"` and `'` as entities.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time in UTC for people: `2025-12-02 09:46:56 UTC`.
fn utc(at: Timestamp) -> String {
    at.to_zoned_datetime(TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// A query string of `pairs` (values percent-encoded), starting with `?`, or empty.
fn query_string(pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<&(&str, &str)> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
    if pairs.is_empty() {
        return String::new();
    }
    match serde_urlencoded::to_string(pairs) {
        Ok(q) => format!("?{q}"),
        Err(_) => String::new(),
    }
}

fn outcome_label(outcome: LogOutcome) -> &'static str {
    match outcome {
        LogOutcome::Created => "created",
        LogOutcome::Updated => "updated",
        LogOutcome::ValidationFailure => "validation failure",
        LogOutcome::TransientFailure => "transient failure",
        LogOutcome::GaveUp => "gave up",
        LogOutcome::AttachmentFallback => "attachment fallback",
        LogOutcome::PossibleDuplicate => "possible duplicate",
        LogOutcome::Deferred => "deferred",
        LogOutcome::Skipped => "skipped",
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}\
h1{font-size:1.4rem}form{margin:0 0 1rem}label{margin-right:.8rem}\
input,select{font:inherit;padding:.15rem .3rem}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;\
text-align:left;vertical-align:top}th{background:#f4f4f4}td.reason{max-width:40rem;white-space:pre-wrap}\
.outcome{display:inline-block;padding:.05rem .45rem;border-radius:.6rem;font-size:.85em;white-space:nowrap}\
.created,.updated{background:#d9f2dd;color:#14532d}\
.validation_failure,.gave_up{background:#fbdada;color:#7f1d1d}\
.transient_failure,.possible_duplicate,.attachment_fallback{background:#fdf0c9;color:#713f12}\
.deferred,.skipped{background:#e5e7eb;color:#374151}\
.empty{color:#666;font-style:italic}.nav{margin-top:1rem}";

/// Renders the page for `entries` under the filters of `q`; `key` is carried in links.
pub(crate) fn render(entries: &[LogEntry], q: &LogQuery, key: Option<&str>) -> String {
    let key = key.unwrap_or_default();
    let case = q.case_ref.as_deref().unwrap_or_default();
    let template = q.template.as_deref().unwrap_or_default();
    let outcome = q.outcome.map(|o| o.as_str()).unwrap_or_default();
    let mut html = String::with_capacity(4096 + entries.len() * 400);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Integration log</title><style>{STYLE}</style></head><body>\
         <h1>Integration log</h1>\
         <form method=\"get\" action=\"/log\" id=\"filters\">"
    );
    if !key.is_empty() {
        let _ = write!(
            html,
            "<input type=\"hidden\" name=\"key\" value=\"{}\">",
            escape(key)
        );
    }
    let _ = write!(
        html,
        "<label>Case <input name=\"case\" value=\"{}\"></label>\
         <label>Template <input name=\"template\" value=\"{}\"></label>\
         <label>Outcome <select name=\"outcome\"><option value=\"\">any</option>",
        escape(case),
        escape(template)
    );
    for o in LogOutcome::ALL {
        let selected = if o.as_str() == outcome {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            html,
            "<option value=\"{}\"{selected}>{}</option>",
            o.as_str(),
            outcome_label(*o)
        );
    }
    let _ = write!(
        html,
        "</select></label><button type=\"submit\">Filter</button> \
         <a href=\"/log{}\">clear</a></form>",
        escape(&query_string(&[("key", key)]))
    );
    if entries.is_empty() {
        html.push_str("<p class=\"empty\" id=\"no-entries\">No log entries match.</p>");
    } else {
        html.push_str(
            "<table id=\"log\"><thead><tr><th>Time (UTC)</th><th>Outcome</th><th>Case</th>\
             <th>Template</th><th>Aurora case</th><th>Job</th><th>Reason</th>\
             <th>Next attempt (UTC)</th></tr></thead><tbody>",
        );
        for e in entries {
            let _ = write!(
                html,
                "<tr class=\"entry\" data-outcome=\"{o}\"><td>{at}</td>\
                 <td><span class=\"outcome {o}\">{label}</span></td><td>",
                o = e.outcome.as_str(),
                at = utc(e.at),
                label = outcome_label(e.outcome),
            );
            if let Some(case_ref) = &e.case_ref {
                let _ = write!(
                    html,
                    "<a class=\"case\" href=\"/log{}\">{}</a>",
                    escape(&query_string(&[("case", case_ref), ("key", key)])),
                    escape(case_ref)
                );
            }
            let job = match (e.job_id, e.attempt) {
                (Some(id), Some(attempt)) => format!("{id} (attempt {attempt})"),
                (Some(id), None) => id.to_string(),
                _ => String::new(),
            };
            let _ = write!(
                html,
                "</td><td>{}</td><td>{}</td><td>{}</td><td class=\"reason\">{}</td><td>{}</td></tr>",
                escape(e.template.as_deref().unwrap_or_default()),
                escape(e.aurora_case_number.as_deref().unwrap_or_default()),
                escape(&job),
                escape(e.reason.as_deref().unwrap_or_default()),
                e.next_attempt_at.map(utc).unwrap_or_default(),
            );
        }
        html.push_str("</tbody></table>");
        if entries.len() == q.effective_limit() as usize
            && let Some(last) = entries.last()
        {
            let before = last.id.to_string();
            let _ = write!(
                html,
                "<p class=\"nav\"><a href=\"/log{}\">Older entries</a></p>",
                escape(&query_string(&[
                    ("case", case),
                    ("template", template),
                    ("outcome", outcome),
                    ("before", &before),
                    ("key", key),
                ]))
            );
        }
    }
    html.push_str("</body></html>\n");
    html
}

/// `GET /log`.
pub(crate) async fn page(
    State(state): State<AppState>,
    query: QueryPairs,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = log_query(&query, &["key"])?;
    let entries = state.ctx.store.query_log(&q).await?;
    let key = query_key(raw.as_deref());
    let html = render(&entries, &q, key.as_deref());
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
            ),
        ],
        html,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::store::{JobId, LogId};

    fn entry(id: i64, outcome: LogOutcome, reason: &str) -> LogEntry {
        LogEntry {
            id: LogId(id),
            at: "2025-12-02T09:46:56Z".parse().expect("time"),
            case_ref: Some("CAS-<1>".into()),
            template: Some("Pothole report".into()),
            aurora_case_number: Some("10001".into()),
            job_id: Some(JobId(3)),
            attempt: Some(2),
            outcome,
            reason: Some(reason.into()),
            next_attempt_at: Some("2025-12-02T10:00:00Z".parse().expect("time")),
        }
    }

    #[test]
    fn every_value_is_escaped() {
        let html = render(
            &[entry(
                1,
                LogOutcome::TransientFailure,
                "<script>alert('x')</script> & more",
            )],
            &LogQuery {
                case_ref: Some("\"><script>".into()),
                ..LogQuery::default()
            },
            Some("k\"ey"),
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
        assert!(html.contains("CAS-&lt;1&gt;"));
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(html.contains("2025-12-02 09:46:56 UTC"));
        assert!(html.contains("2025-12-02 10:00:00 UTC"));
        assert!(
            html.contains("href=\"/log?case=CAS-%3C1%3E&amp;key=k%22ey\""),
            "{html}"
        );
        assert!(html.contains("class=\"outcome transient_failure\""));
    }

    #[test]
    fn an_empty_log_says_so() {
        let html = render(&[], &LogQuery::default(), None);
        assert!(html.contains("No log entries match."));
        assert!(!html.contains("name=\"key\""));
    }
}
