//! `amap demo`: the whole loop on this machine, run as a user runs it, from a folder that is not
//! the repository (the example project is embedded in the binary).

use std::process::{Command, Stdio};

#[test]
fn the_demo_exits_0_and_prints_the_log_and_the_fields_written_back()
-> Result<(), Box<dyn std::error::Error>> {
    let elsewhere = tempfile::TempDir::new()?;
    let output = Command::new(env!("CARGO_BIN_EXE_amap"))
        .args(["demo", "--timeout", "120"])
        .current_dir(elsewhere.path())
        .env_remove("AMAP_LOG")
        .stdin(Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("time ") && l.contains("outcome") && l.contains("reason"))
        .ok_or("no log table header")?;
    let column = lines[header].find("outcome").ok_or("no outcome column")?;
    let rows: Vec<&str> = lines[header + 2..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    // Every row has its outcome in the outcome column.
    let outcome_of = |row: &str| -> String {
        row.get(column..)
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let outcomes: Vec<String> = rows.iter().map(|r| outcome_of(r)).collect();
    let count = |o: &str| outcomes.iter().filter(|x| *x == o).count();
    assert_eq!(count("created"), 3, "{stdout}");
    assert_eq!(count("validation_failure"), 1, "{stdout}");
    assert_eq!(count("attachment_fallback"), 1, "{stdout}");
    assert_eq!(count("updated"), 2, "{stdout}");
    assert!(
        outcomes.iter().all(|o| !o.is_empty() && o != "gave_up"),
        "{stdout}"
    );

    // The validation failure names the mapping's file and line; the fallback links the file.
    let failure = rows
        .iter()
        .find(|r| outcome_of(r) == "validation_failure")
        .ok_or("no validation row")?;
    assert!(
        failure.contains("DEMO-0004") && failure.contains("templates/potholes.amap:"),
        "{failure}"
    );
    let fallback = rows
        .iter()
        .find(|r| outcome_of(r) == "attachment_fallback")
        .ok_or("no fallback row")?;
    assert!(
        fallback.contains("site-survey.pdf")
            && fallback.contains("https://connect.example.gov.uk/cases/DEMO-0001/attachments/"),
        "{fallback}"
    );

    let written = stdout
        .split("Connect fields written back")
        .nth(1)
        .ok_or("no written-back section")?;
    assert!(
        written.contains("field.clearance_code = \"REPAIRED\""),
        "{written}"
    );
    assert!(
        written.contains("field.aurora_status = \"Repair completed\""),
        "{written}"
    );
    assert!(
        written.contains("DEMO-0004   (nothing written back)"),
        "{written}"
    );
    assert!(stdout.contains("(0 duplicate(s))"), "{stdout}");
    Ok(())
}
