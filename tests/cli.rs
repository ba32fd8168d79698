//! The `amap` binary on temporary projects: exit statuses, output formats, `explain`, and
//! `compile` refusing to write a bundle for a project with errors.

use std::path::Path;
use std::process::Command;

const CLEAN: &str = r#"create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}
"#;

/// `field.clearance` is optional and `aurora.description` required: E0202.
const OPTIONAL_INTO_REQUIRED: &str = r#"create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.clearance
}
"#;

/// Only a warning: the table is never used (W0403).
const WARNING_ONLY: &str = r#"table unused_codes: text -> text {
    "a" => "b"
}

create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}
"#;

const AMAP_TOML: &str = "[project]\ntemplates = [\"templates/*.amap\"]\naurora_schema = \"schema/aurora.toml\"\nconnect_schema = \"schema/connect.toml\"\n";

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn amap(args: &[&str], cwd: &Path) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_amap"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("AMAP_LOG")
        .output()
        .expect("run amap");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A project with the shared fixture schemas and one template file.
fn project(template: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("schema")).expect("mkdir");
    std::fs::create_dir_all(root.join("templates")).expect("mkdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema");
    for name in ["aurora.toml", "connect.toml"] {
        std::fs::copy(fixtures.join(name), root.join("schema").join(name)).expect("copy schema");
    }
    std::fs::write(root.join("amap.toml"), AMAP_TOML).expect("write amap.toml");
    std::fs::write(root.join("templates/potholes.amap"), template).expect("write template");
    dir
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn explain_prints_the_explanation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = amap(&["explain", "E0202"], dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("E0202 (error): optional value into a required target")
    );
    assert!(
        out.stdout
            .contains(amap::diagnostics::Code::E0202.explanation().trim())
    );
    // Codes are accepted in any case.
    assert_eq!(amap(&["explain", "w0404"], dir.path()).code, 0);
}

#[test]
fn explain_without_a_code_lists_every_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = amap(&["explain"], dir.path());
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout.lines().count(),
        amap::diagnostics::Code::ALL.len()
    );
    assert!(out.stdout.contains("S0006"));
}

#[test]
fn explain_of_an_unknown_code_exits_2_and_says_how_codes_look() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = amap(&["explain", "E9999"], dir.path());
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr
            .starts_with("error: `E9999` is not a diagnostic code")
    );
    assert!(out.stderr.contains("E0202"), "{}", out.stderr);
}

#[test]
fn bad_arguments_exit_2() {
    let dir = project(CLEAN);
    assert_eq!(amap(&["frobnicate"], dir.path()).code, 2);
    assert_eq!(amap(&["check", "--format", "xml"], dir.path()).code, 2);
    assert_eq!(amap(&["compile"], dir.path()).code, 2, "-o is required");
    assert_eq!(amap(&["--version"], dir.path()).code, 0);
}

#[test]
fn a_clean_project_checks_with_exit_0() {
    let dir = project(CLEAN);
    let out = amap(&["check"], dir.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "checked 1 template in 1 file: no problems\n");
    // DIR may be given, and may be below the project root.
    let out = amap(
        &["check", &path_str(&dir.path().join("templates"))],
        Path::new("/"),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn errors_exit_1_with_rustc_like_text() {
    let dir = project(OPTIONAL_INTO_REQUIRED);
    let out = amap(&["check"], dir.path());
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("error[E0202]: "), "{}", out.stdout);
    assert!(
        out.stdout.contains("templates/potholes.amap:3:27"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("= help: "));
    assert!(
        out.stdout
            .ends_with("error: could not check: 1 error emitted\n")
    );
    assert!(
        !out.stdout.contains('\u{1b}'),
        "no colour when NO_COLOR is set"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = project(WARNING_ONLY);
    let out = amap(&["check"], dir.path());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("warning[W0403]: "), "{}", out.stdout);
    assert!(out.stdout.ends_with("warning: 1 warning emitted\n"));
    let out = amap(&["check", "--deny-warnings"], dir.path());
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.ends_with("(warnings are denied)\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn json_output_has_the_documented_shape() {
    let dir = project(OPTIONAL_INTO_REQUIRED);
    let out = amap(&["check", "--format", "json"], dir.path());
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["files"], 1);
    assert_eq!(v["templates"], 1);
    assert_eq!(v["errors"], 1);
    assert_eq!(v["warnings"], 0);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "E0202");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "templates/potholes.amap");
    assert_eq!(d["line"], 3);
    assert_eq!(d["column"], 27);
    assert_eq!(d["end_line"], 3);
    assert_eq!(d["end_column"], 42);
    assert!(d["message"].is_string());
    assert!(d["labels"].is_array());
    assert!(d["help"].is_string());

    let clean = project(CLEAN);
    let out = amap(&["check", "--format", "json"], clean.path());
    assert_eq!(out.code, 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["diagnostics"], serde_json::json!([]));
}

#[test]
fn github_and_sarif_formats() {
    let dir = project(OPTIONAL_INTO_REQUIRED);
    let out = amap(&["check", "--format", "github"], dir.path());
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.starts_with(
            "::error file=templates/potholes.amap,line=3,col=27,endLine=3,endColumn=42,title=E0202::"
        ),
        "{}",
        out.stdout
    );
    let out = amap(&["check", "--format", "sarif"], dir.path());
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("SARIF is JSON");
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"][0]["results"][0]["ruleId"], "E0202");
}

#[test]
fn github_and_sarif_paths_are_relative_to_the_current_directory() {
    let outer = tempfile::tempdir().expect("temp dir");
    let dir = project(OPTIONAL_INTO_REQUIRED);
    let inner = outer.path().join("council");
    std::fs::rename(dir.path(), &inner).expect("move project");
    let out = amap(&["check", "council", "--format", "github"], outer.path());
    assert!(
        out.stdout
            .starts_with("::error file=council/templates/potholes.amap,"),
        "{}",
        out.stdout
    );
    let out = amap(&["check", "council", "--format", "sarif"], outer.path());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("SARIF is JSON");
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "council/templates/potholes.amap"
    );
    // JSON and text name files from the project root.
    let out = amap(&["check", "council", "--format", "json"], outer.path());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["diagnostics"][0]["file"], "templates/potholes.amap");
}

#[test]
fn no_project_file_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = amap(&["check", &path_str(dir.path())], dir.path());
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains("amap.toml"), "{}", out.stderr);
}

#[test]
fn a_missing_schema_file_exits_2_with_one_line_naming_it() {
    let dir = project(CLEAN);
    std::fs::remove_file(dir.path().join("schema/aurora.toml")).expect("remove schema");
    let out = amap(&["check"], dir.path());
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("aurora.toml"), "{}", out.stderr);
}

#[test]
fn compile_writes_a_deterministic_bundle() {
    let dir = project(CLEAN);
    let first = dir.path().join("plans.json");
    let out = amap(&["compile", "-o", &path_str(&first)], dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&first).expect("bundle written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("bundle is JSON");
    assert_eq!(v["format"], "amap-plan/1");
    assert_eq!(v["templates"][0]["name"], "Pothole report");
    let second = dir.path().join("again.json");
    let out = amap(
        &["compile", ".", "--output", &path_str(&second)],
        dir.path(),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read(&second).expect("second bundle"),
        text.as_bytes()
    );
}

#[test]
fn compile_refuses_to_write_when_there_are_errors() {
    let dir = project(OPTIONAL_INTO_REQUIRED);
    let plan = dir.path().join("plans.json");
    let out = amap(&["compile", "-o", &path_str(&plan)], dir.path());
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!plan.exists(), "no bundle for a project with errors");
    assert!(out.stderr.contains("error[E0202]"), "{}", out.stderr);
    assert!(out.stderr.contains("could not compile"), "{}", out.stderr);
}

#[test]
fn compile_to_an_unwritable_place_exits_2() {
    let dir = project(CLEAN);
    let plan = dir.path().join("no/such/dir/plans.json");
    let out = amap(&["compile", "-o", &path_str(&plan)], dir.path());
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("error: cannot write"),
        "{}",
        out.stderr
    );
}
