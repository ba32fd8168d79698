//! Fixture tests: the checker's behaviour as data.
//!
//! - `tests/fixtures/check/*.amap`: each file is a project of its own, checked against the
//!   shared schemas in `tests/fixtures/schema/` with `amap check --format json`. The reported
//!   diagnostics must be exactly the `//~ CODE` markers of the file (same codes on the same
//!   lines), and the whole output must equal the `.json` snapshot beside the fixture.
//! - `tests/fixtures/projects/*/`: whole projects (own `amap.toml` and schemas); markers are
//!   `//~ CODE` in templates and `#~ CODE` in TOML files.
//! - `tests/fixtures/valid/*.amap`: must check clean and compile to the `.plan.json` beside it.
//!
//! `AMAP_BLESS=1 cargo test --test fixtures` rewrites every snapshot from the current output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn bless() -> bool {
    std::env::var_os("AMAP_BLESS").is_some()
}

fn sorted_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

/// A temporary project holding one template file and the shared schemas.
fn single_file_project(template: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = fixtures().join("schema");
    for name in ["aurora.toml", "connect.toml"] {
        std::fs::copy(schema.join(name), dir.path().join(name)).expect("copy schema");
    }
    let name = template.file_name().expect("file name");
    std::fs::copy(template, dir.path().join(name)).expect("copy template");
    std::fs::write(
        dir.path().join("amap.toml"),
        "[project]\ntemplates = [\"*.amap\"]\naurora_schema = \"aurora.toml\"\nconnect_schema = \"connect.toml\"\n",
    )
    .expect("write amap.toml");
    dir
}

/// The `//~ CODE` / `#~ CODE` markers of every file under `dir`: (file, line) → codes.
fn markers(dir: &Path) -> BTreeMap<(String, u64), Vec<String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let rel = path
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/");
            for (i, line) in text.lines().enumerate() {
                let marker = line
                    .find("//~")
                    .map(|p| p + 3)
                    .or_else(|| line.find("#~").map(|p| p + 2));
                if let Some(at) = marker {
                    let mut codes: Vec<String> =
                        line[at..].split_whitespace().map(str::to_string).collect();
                    codes.sort();
                    out.insert((rel.clone(), i as u64 + 1), codes);
                }
            }
        }
    }
    out
}

fn amap(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_amap"))
        .args(args)
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run amap");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Compares `actual` with the snapshot at `path` (or writes it when blessing).
fn snapshot(path: &Path, actual: &str, failures: &mut Vec<String>) {
    if bless() {
        std::fs::write(path, actual).expect("write snapshot");
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{}: output differs from the snapshot (AMAP_BLESS=1 to update)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )),
        Err(_) => failures.push(format!("{}: no snapshot (AMAP_BLESS=1 to create it)\n{actual}", path.display())),
    }
}

/// Runs `amap check --format json` on a project and compares with its markers.
fn check_project(dir: &Path, label: &str, snapshot_path: &Path, failures: &mut Vec<String>) {
    let (code, stdout, stderr) = amap(&["check", "--format", "json"], dir);
    let json: serde_json::Value = match serde_json::from_str(&stdout) {
        Ok(v) => v,
        Err(e) => {
            failures.push(format!(
                "{label}: output is not JSON ({e}); exit {code}\nstdout: {stdout}\nstderr: {stderr}"
            ));
            return;
        }
    };
    let mut reported: BTreeMap<(String, u64), Vec<String>> = BTreeMap::new();
    for d in json["diagnostics"].as_array().into_iter().flatten() {
        let file = d["file"].as_str().unwrap_or_default().to_string();
        let line = d["line"].as_u64().unwrap_or_default();
        let code = d["code"].as_str().unwrap_or_default().to_string();
        reported.entry((file, line)).or_default().push(code);
    }
    for codes in reported.values_mut() {
        codes.sort();
    }
    let expected = markers(dir);
    if reported != expected {
        failures.push(format!(
            "{label}: expected diagnostics {expected:?}\n  but amap reported {reported:?}\n{stdout}"
        ));
    }
    let has_errors = json["errors"].as_u64().unwrap_or(0) > 0;
    if code != i32::from(has_errors) {
        failures.push(format!(
            "{label}: exit status {code}, expected {}",
            i32::from(has_errors)
        ));
    }
    snapshot(snapshot_path, &stdout, failures);
}

#[test]
fn check_fixtures_report_exactly_their_markers() {
    let mut failures = Vec::new();
    let dir = fixtures().join("check");
    for file in sorted_files(&dir, "amap") {
        let project = single_file_project(&file);
        let label = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        check_project(
            project.path(),
            &label,
            &file.with_extension("json"),
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn project_fixtures_report_exactly_their_markers() {
    let mut failures = Vec::new();
    let root = fixtures().join("projects");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("projects dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let label = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let snap = root.join(format!("{label}.json"));
        check_project(&dir, &label, &snap, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn valid_fixtures_check_clean_and_compile_to_their_plans() {
    let mut failures = Vec::new();
    for file in sorted_files(&fixtures().join("valid"), "amap") {
        let label = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let project = single_file_project(&file);
        let (code, stdout, stderr) = amap(&["check", "--format", "json"], project.path());
        if code != 0
            || (!stdout.contains("\"diagnostics\": []") && !stdout.contains("\"diagnostics\":[]"))
        {
            failures.push(format!(
                "{label}: expected a clean check, got exit {code}\n{stdout}{stderr}"
            ));
            continue;
        }
        let out = project.path().join("plans.json");
        let out_str = out.to_string_lossy().into_owned();
        let (code, _, stderr) = amap(&["compile", "-o", &out_str], project.path());
        if code != 0 {
            failures.push(format!(
                "{label}: compile failed with exit {code}: {stderr}"
            ));
            continue;
        }
        let plan = std::fs::read_to_string(&out).expect("read plan");
        snapshot(&file.with_extension("plan.json"), &plan, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_code_has_a_fixture_that_produces_it() {
    let mut marked = std::collections::BTreeSet::new();
    for dir in [fixtures().join("check"), fixtures().join("projects")] {
        for codes in markers(&dir).into_values() {
            marked.extend(codes);
        }
    }
    let missing: Vec<&str> = amap::diagnostics::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !marked.contains(*c))
        .collect();
    assert!(missing.is_empty(), "codes with no fixture: {missing:?}");
    let unknown: Vec<&String> = marked
        .iter()
        .filter(|c| amap::diagnostics::Code::parse(c).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "fixtures mark codes that do not exist: {unknown:?}"
    );
}
