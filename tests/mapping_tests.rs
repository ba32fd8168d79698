//! `amap test`: the example project's mapping tests pass; an edited expectation fails with
//! a diff naming the changed value; `--bless` records the outcome again; a test that cannot
//! run exits 2.

use std::path::Path;
use std::process::Command;

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn amap(args: &[&str], cwd: &Path) -> Output {
    amap_with(args, cwd, None)
}

/// Runs amap with `AMAP_BLESS` unset, or set to `bless`.
fn amap_with(args: &[&str], cwd: &Path, bless: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_amap"));
    command
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("AMAP_LOG")
        .env_remove("AMAP_BLESS");
    if let Some(value) = bless {
        command.env("AMAP_BLESS", value);
    }
    let out = command.output().expect("run amap");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// A copy of `examples/` in a temporary folder.
fn examples_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&repo().join("examples"), dir.path());
    dir
}

const ROAD: &str = "tests/expected/a-pothole-on-the-road.json";

#[test]
fn the_example_tests_pass() {
    let out = amap(&["test", "examples"], repo());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    let (summary, tests) = lines.split_last().expect("output");
    assert!(tests.len() >= 6, "{}", out.stdout);
    for line in tests {
        assert!(line.starts_with("ok  "), "{line}");
    }
    assert_eq!(
        *summary,
        format!(
            "test result: ok. {} passed, 0 failed ({} tests)",
            tests.len(),
            tests.len()
        )
    );
    // Every example template has at least one test.
    for template in [
        "Pothole report",
        "Pothole progress",
        "Fly-tipping report",
        "Fly-tipping progress",
        "Street light fault",
        "Street light progress",
    ] {
        let tested = std::fs::read_dir(repo().join("examples/tests"))
            .expect("examples/tests")
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
            .any(|e| {
                std::fs::read_to_string(e.path())
                    .unwrap_or_default()
                    .contains(&format!("template = \"{template}\""))
            });
        assert!(tested, "no mapping test for \"{template}\"");
    }
}

#[test]
fn an_edited_expectation_fails_with_a_diff_and_bless_records_the_outcome() {
    let dir = examples_copy();
    let path = dir.path().join(ROAD);
    let text = std::fs::read_to_string(&path).expect("expectation");
    let edited = text.replacen(
        "\"caseTypeCode\": \"POTC\"",
        "\"caseTypeCode\": \"POTF\"",
        1,
    );
    assert_ne!(edited, text, "the expectation names the case type");
    std::fs::write(&path, &edited).expect("edit");

    let out = amap(&["test"], dir.path());
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("FAILED   tests/potholes.toml:5  A pothole on the road\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("    --- expected\n    +++ actual\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "    -    \"caseTypeCode\": \"POTF\",\n    +    \"caseTypeCode\": \"POTC\",\n"
        ),
        "{}",
        out.stdout
    );
    // Only the edited test fails.
    assert_eq!(out.stdout.matches("FAILED  ").count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains(", 1 failed ("), "{}", out.stdout);

    let out = amap(&["test", "--bless"], dir.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "blessed  tests/potholes.toml:5  A pothole on the road: wrote {ROAD}\n"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(std::fs::read_to_string(&path).expect("blessed"), text);
    assert_eq!(amap(&["test"], dir.path()).code, 0);
}

#[test]
fn an_edited_inline_expectation_fails_and_is_not_blessed() {
    let dir = examples_copy();
    let path = dir.path().join("tests/street_lighting.toml");
    let text = std::fs::read_to_string(&path).expect("test file");
    let edited = text.replacen("SLFAULT = \"WIR\"", "SLFAULT = \"DMG\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, &edited).expect("edit");
    let out = amap(&["test", "--filter", "wiring", "--bless"], dir.path());
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("    -    \"SLFAULT\": \"DMG\",\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("    +    \"SLFAULT\": \"WIR\",\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("inline in the test file"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(1 test)"), "{}", out.stdout);
    assert_eq!(std::fs::read_to_string(&path).expect("unchanged"), edited);
}

#[test]
fn a_new_test_without_an_expectation_fails_until_blessed() {
    let dir = examples_copy();
    let tests = dir.path().join("tests/potholes.toml");
    let mut text = std::fs::read_to_string(&tests).expect("test file");
    text.push_str(
        "\n[[test]]\nname = \"A cycle lane pothole\"\ntemplate = \"Pothole report\"\ncase = \"../cases/pothole.json\"\npatch = { fields = { surface = \"cycle_lane\" } }\n",
    );
    std::fs::write(&tests, text).expect("add a test");
    let out = amap(&["test", "--filter", "cycle"], dir.path());
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "no expectation yet: `tests/expected/a-cycle-lane-pothole.json` does not exist"
        ),
        "{}",
        out.stdout
    );
    let out = amap(&["test", "--filter", "cycle", "--bless"], dir.path());
    assert_eq!(out.code, 0, "{}", out.stdout);
    let recorded =
        std::fs::read_to_string(dir.path().join("tests/expected/a-cycle-lane-pothole.json"))
            .expect("recorded");
    let recorded: serde_json::Value = serde_json::from_str(&recorded).expect("JSON");
    assert_eq!(recorded["request"]["assetTypeCode"], "CYCL");
    assert_eq!(recorded["contact"]["firstName"], "Ann");
    assert_eq!(amap(&["test"], dir.path()).code, 0);
}

#[test]
fn a_test_that_cannot_run_exits_2_and_the_others_still_run() {
    let dir = examples_copy();
    let path = dir.path().join("tests/fly_tipping.toml");
    let text = std::fs::read_to_string(&path).expect("test file");
    std::fs::write(
        &path,
        text.replace("../cases/fly_tipping.json", "../cases/gone.json"),
    )
    .expect("edit");
    let out = amap(&["test"], dir.path());
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "ERROR    tests/fly_tipping.toml:3  Household waste in a lay-by: the case file `cases/gone.json` cannot be read"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("ok       tests/potholes.toml:5  A pothole on the road\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("3 could not run"), "{}", out.stdout);
}

#[test]
fn a_case_that_does_not_fit_the_schema_fails_the_test() {
    let dir = examples_copy();
    let path = dir.path().join("tests/potholes.toml");
    let text = std::fs::read_to_string(&path).expect("test file");
    let edited = text.replacen(
        "patch = { fields = { surface = \"pavement\", hazard = \"low\"",
        "patch = { fields = { surface = \"pavement\", hazard = \"lowish\"",
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&path, edited).expect("edit");
    let out = amap(&["test", "--filter", "footway"], dir.path());
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "    the case does not fit the Connect schema:\n      field.hazard holds \"lowish\", which is not one of its options (low, medium, high)\n"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_project_without_tests_cannot_run() {
    let dir = examples_copy();
    std::fs::remove_dir_all(dir.path().join("tests")).expect("remove tests");
    let out = amap(&["test"], dir.path());
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with("error: no mapping tests: "),
        "{}",
        out.stderr
    );
}

#[test]
fn amap_bless_in_the_environment_blesses_and_zero_does_not() {
    let dir = examples_copy();
    let path = dir.path().join(ROAD);
    let text = std::fs::read_to_string(&path).expect("expectation");
    std::fs::write(&path, text.replacen("\"POTC\"", "\"POTF\"", 1)).expect("edit");
    let out = amap_with(&["test"], dir.path(), Some("0"));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let out = amap_with(&["test"], dir.path(), Some("1"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(", 1 blessed ("), "{}", out.stdout);
    assert_eq!(std::fs::read_to_string(&path).expect("blessed"), text);
}
