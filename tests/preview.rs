//! `amap preview` as data: each `tests/preview/NAME.args` holds the arguments (one a line,
//! run from the repository root), and `NAME.out` beside it the exit status, stdout and
//! stderr they must give. Every example template has a run; so do a validation failure,
//! values that do not fit the Connect schema, a project with errors, and bad input files.
//!
//! `AMAP_BLESS=1 cargo test --test preview` rewrites the `.out` files from the current output.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bless() -> bool {
    std::env::var_os("AMAP_BLESS").is_some()
}

fn arg_files() -> Vec<PathBuf> {
    let dir = root().join("tests/preview");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/preview")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "args"))
        .collect();
    files.sort();
    files
}

fn args_of(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .expect("read .args")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Runs `amap preview ARGS` and records what it did.
fn run(args: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_amap"))
        .arg("preview")
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("AMAP_LOG")
        .env_remove("AMAP_BLESS")
        .output()
        .expect("run amap");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn preview_output_matches_the_snapshots() {
    let mut mismatches = Vec::new();
    for file in arg_files() {
        let got = run(&args_of(&file));
        let snapshot = file.with_extension("out");
        if bless() {
            std::fs::write(&snapshot, &got).expect("write snapshot");
            continue;
        }
        let want = std::fs::read_to_string(&snapshot).unwrap_or_default();
        if want != got {
            mismatches.push(format!(
                "{}:\n--- expected\n{want}\n--- got\n{got}",
                snapshot.display()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "preview output differs (AMAP_BLESS=1 cargo test --test preview rewrites the snapshots):\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn every_example_template_has_a_preview_run() {
    let ws = amap::workspace::load(&root().join("examples")).expect("the examples load");
    let checked = ws.check();
    let templates: BTreeSet<String> = checked.templates.iter().map(|t| t.name.clone()).collect();
    assert_eq!(templates.len(), 6, "{templates:?}");
    let mut previewed = BTreeSet::new();
    for file in arg_files() {
        let args = args_of(&file);
        let out = std::fs::read_to_string(file.with_extension("out")).unwrap_or_default();
        if let Some(at) = args.iter().position(|a| a == "--template")
            && out.starts_with("exit: 0\n")
        {
            previewed.insert(args[at + 1].clone());
        }
    }
    let missing: Vec<_> = templates.difference(&previewed).collect();
    assert!(
        missing.is_empty(),
        "example templates without a successful preview run: {missing:?}"
    );
}

#[test]
fn the_failure_and_bad_input_runs_exit_as_documented() {
    // Beyond the snapshots: the statuses are the contract scripts rely on.
    let status = |name: &str| {
        let text = std::fs::read_to_string(root().join(format!("tests/preview/{name}.out")))
            .expect("snapshot");
        text.lines().next().unwrap_or_default().to_string()
    };
    for name in [
        "validation_failure_no_map_pin",
        "incoming_validation_failure",
        "values_that_do_not_fit",
        "project_with_errors",
    ] {
        assert_eq!(status(name), "exit: 1", "{name}");
    }
    for name in [
        "bad_case_not_json",
        "bad_case_missing",
        "bad_case_wrong_shape",
        "bad_snapshot",
        "unknown_template",
        "incoming_without_snapshot",
    ] {
        assert_eq!(status(name), "exit: 2", "{name}");
        let out = run(&args_of(&root().join(format!("tests/preview/{name}.args"))));
        let stderr = out.split("--- stderr\n").nth(1).unwrap_or_default();
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert!(
            out.contains("--- stdout\n--- stderr"),
            "{name} printed on stdout: {out}"
        );
    }
}
