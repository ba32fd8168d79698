//! The log page in headless Chromium against a running service: it loads, shows the entries
//! (reasons escaped, times in UTC, the next attempt), and a filter URL narrows them.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it when missing). Without it the test fails and
//! says how to install it.

mod http_harness;

use std::path::Path;
use std::process::Command;

use amap::service::store::{JobId, LogOutcome, NewLogEntry};
use http_harness::{Api, KEY, TestResult, small_limits};

const CHROMIUM: &str = "/usr/bin/chromium";

/// The DOM of `url` after Chromium loaded it.
async fn dump_dom(url: String) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install it with `apt-get update && apt-get install -y chromium` \
         (.ci/run does this when it is missing)"
    );
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().expect("profile dir");
        let output = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(&url)
            .output()
            .expect("chromium runs");
        assert!(
            output.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 DOM")
    })
    .await
    .expect("chromium task")
}

fn rows(dom: &str) -> usize {
    dom.matches("<tr class=\"entry\"").count()
}

#[tokio::test]
async fn the_log_page_shows_the_entries_and_filters_them() -> TestResult {
    let api = Api::start(small_limits()).await;
    let at = |t: &str| t.parse::<jiff::Timestamp>().expect("time");
    api.store
        .append_log(
            &NewLogEntry::new(LogOutcome::Created)
                .at(at("2025-12-02T09:46:56Z"))
                .case_ref("CAS-2025-004711")
                .template("Pothole report")
                .aurora_case_number("10001")
                .job(JobId(1), 1),
        )
        .await?;
    api.store
        .append_log(
            &NewLogEntry::new(LogOutcome::TransientFailure)
                .at(at("2025-12-02T10:00:00Z"))
                .case_ref("CAS-2025-004802")
                .template("Fly-tipping report")
                .job(JobId(2), 3)
                .reason("Aurora answered 503 <script>alert('x')</script>")
                .next_attempt_at(at("2025-12-02T10:30:00Z")),
        )
        .await?;
    api.store
        .append_log(
            &NewLogEntry::new(LogOutcome::ValidationFailure)
                .at(at("2025-12-02T11:00:00Z"))
                .case_ref("CAS-2025-004711")
                .template("Pothole report")
                .reason(
                    "mapping description at templates/potholes.amap:41: required value is empty",
                ),
        )
        .await?;

    let all = dump_dom(api.url(&format!("/log?key={KEY}"))).await;
    assert!(all.contains("<title>Integration log</title>"), "{all}");
    assert_eq!(rows(&all), 3, "{all}");
    assert!(all.contains("2025-12-02 09:46:56 UTC"));
    assert!(all.contains("10001"));
    assert!(all.contains("templates/potholes.amap:41"));
    assert!(all.contains("next attempt") || all.contains("Next attempt"));
    assert!(
        all.contains("2025-12-02 10:30:00 UTC"),
        "the next attempt is shown"
    );
    assert!(all.contains("class=\"outcome transient_failure\""));
    // The reason's markup is text, not an element.
    assert!(
        all.contains("&lt;script&gt;alert('x')&lt;/script&gt;"),
        "{all}"
    );
    assert!(!all.contains("<script>alert"), "{all}");

    // A case link narrows the page to that case.
    let by_case = dump_dom(api.url(&format!("/log?case=CAS-2025-004711&key={KEY}"))).await;
    assert_eq!(rows(&by_case), 2, "{by_case}");
    assert!(!by_case.contains("CAS-2025-004802</a>"));
    assert!(
        by_case.contains("value=\"CAS-2025-004711\""),
        "the form shows the filter"
    );

    let by_outcome = dump_dom(api.url(&format!(
        "/log?case=CAS-2025-004711&outcome=validation_failure&key={KEY}"
    )))
    .await;
    assert_eq!(rows(&by_outcome), 1, "{by_outcome}");
    assert!(by_outcome.contains("required value is empty"));

    let by_template =
        dump_dom(api.url(&format!("/log?template=Fly-tipping+report&key={KEY}"))).await;
    assert_eq!(rows(&by_template), 1, "{by_template}");

    let none = dump_dom(api.url(&format!("/log?case=CAS-NONE&key={KEY}"))).await;
    assert_eq!(rows(&none), 0);
    assert!(none.contains("No log entries match."));

    // Without the key the page is refused.
    let refused = dump_dom(api.url("/log")).await;
    assert!(refused.contains("unauthorized"), "{refused}");
    assert_eq!(rows(&refused), 0);
    api.stop().await;
    Ok(())
}
