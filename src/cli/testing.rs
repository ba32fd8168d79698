//! `amap test [DIR]`: run the mapping tests of a project (`tests/**/*.toml` beside its
//! `amap.toml`; the format is in `docs/testing.md`). One line per test, a unified diff of
//! the JSON for each failure, a summary. Exit 0 when all pass, 1 when one fails (or the
//! project has errors), 2 when a test could not run (a file missing or malformed).

use super::preview::{preview_error, stop_on_errors};
use super::project::Project;
use super::{COULD_NOT_RUN, CliError, FAILURE, SUCCESS};
use crate::plan::Bundle;
use crate::runtime::aurora::returns::Snapshot;
use crate::runtime::case::{self, Case};
use crate::runtime::mapping_test::{self as mt, Input, MappingTest};
use crate::runtime::preview;
use crate::schema::ConnectSchema;
use serde_json::Value;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Where the tests of a project are, relative to its root.
pub const TESTS_DIR: &str = "tests";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory (or any directory below it); default: the current directory.
    pub dir: Option<PathBuf>,
    /// Run only the tests whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Record the current outcome as the expectation of every test that fails or has none
    /// (expectations kept in JSON files only; also `AMAP_BLESS=1`).
    #[arg(long, env = "AMAP_BLESS", value_parser = clap::builder::FalseyValueParser::new())]
    pub bless: bool,
}

/// How one test ended.
enum Verdict {
    Pass,
    Fail(String),
    Blessed(String),
    /// The test could not run (a file missing, malformed input, an unknown template).
    Error(String),
}

struct Runner<'a> {
    root: PathBuf,
    bundle: &'a Bundle,
    connect: &'a ConnectSchema,
    bless: bool,
    /// Expectation files already claimed, with the test that claimed them.
    claimed: HashMap<PathBuf, String>,
}

pub fn run(args: &Args) -> Result<i32, CliError> {
    let project = Project::load(args.dir.as_deref())?;
    if let Some(status) = stop_on_errors(&project, "test") {
        return Ok(status);
    }
    let ws = project.workspace();
    let root = ws.root.clone();
    let files = test_files(&root.join(TESTS_DIR));
    if files.is_empty() {
        return Err(CliError::Project {
            message: format!(
                "no mapping tests: {} holds no .toml files",
                root.join(TESTS_DIR).display()
            ),
            help: Some(
                "each test is a [[test]] table in a TOML file under tests/; see docs/testing.md"
                    .into(),
            ),
        });
    }
    let bundle = project.compile();
    let mut runner = Runner {
        root: root.clone(),
        bundle: &bundle,
        connect: &ws.connect,
        bless: args.bless,
        claimed: HashMap::new(),
    };
    let color = super::color(std::io::stdout().is_terminal());
    let (mut passed, mut failed, mut errors, mut blessed) = (0, 0, 0, 0);
    for file in &files {
        let shown = runner.shown(file);
        let tests = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot be read: {e}"))
            .and_then(|text| mt::parse_file(&text));
        let tests = match tests {
            Ok(t) => t,
            Err(e) => {
                println!("{}  {shown}: {e}", status("ERROR", color));
                errors += 1;
                continue;
            }
        };
        for test in tests {
            if let Some(f) = &args.filter
                && !test.name.contains(f.as_str())
            {
                continue;
            }
            let head = format!("{shown}:{}  {}", test.line, test.name);
            match runner.run(file, &test) {
                Verdict::Pass => {
                    passed += 1;
                    println!("{}  {head}", status("ok", color));
                }
                Verdict::Blessed(what) => {
                    blessed += 1;
                    println!("{}  {head}: {what}", status("blessed", color));
                }
                Verdict::Fail(why) => {
                    failed += 1;
                    println!("{}  {head}", status("FAILED", color));
                    print!("{}", indent(&why, color));
                }
                Verdict::Error(why) => {
                    errors += 1;
                    println!("{}  {head}: {why}", status("ERROR", color));
                }
            }
        }
    }
    let total = passed + failed + errors + blessed;
    let mut parts = vec![format!("{passed} passed"), format!("{failed} failed")];
    if errors > 0 {
        parts.push(format!("{errors} could not run"));
    }
    if blessed > 0 {
        parts.push(format!("{blessed} blessed"));
    }
    let verdict = if failed + errors == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {} ({})",
        parts.join(", "),
        if total == 1 {
            "1 test".to_string()
        } else {
            format!("{total} tests")
        }
    );
    Ok(if errors > 0 {
        COULD_NOT_RUN
    } else if failed > 0 {
        FAILURE
    } else {
        SUCCESS
    })
}

impl Runner<'_> {
    /// A path as shown: relative to the project root.
    fn shown(&self, path: &Path) -> String {
        let path = lexical(path);
        let rel = path.strip_prefix(lexical(&self.root)).unwrap_or(&path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }

    fn run(&mut self, file: &Path, test: &MappingTest) -> Verdict {
        match self.outcome(file, test) {
            Ok(Ok(actual)) => self.judge(file, test, &actual),
            Ok(Err(fail)) => fail,
            Err(e) => Verdict::Error(e),
        }
    }

    /// The outcome as a document, or a verdict reached before evaluating.
    fn outcome(&self, file: &Path, test: &MappingTest) -> Result<Result<Value, Verdict>, String> {
        let dir = file.parent().unwrap_or(Path::new("."));
        let case: Case = match &test.case {
            None => Case::default(),
            Some(input) => {
                let mut value = self.input(dir, input, "case")?;
                if let Some(patch) = &test.patch {
                    mt::merge_patch(&mut value, patch);
                }
                preview::read_case(value)
                    .map_err(|e| format!("the case is not a Connect case: {e}"))?
            }
        };
        if test.case.is_some() {
            let problems = case::validate(&case, self.connect);
            if !problems.is_empty() {
                let mut why = String::from("the case does not fit the Connect schema:\n");
                for p in problems {
                    why.push_str(&format!("  {p}\n"));
                }
                return Ok(Err(Verdict::Fail(why)));
            }
        }
        let snapshot = match &test.snapshot {
            None => None,
            Some(input) => {
                let value = self.input(dir, input, "snapshot")?;
                let bytes = serde_json::to_vec(&value).unwrap_or_default();
                let parsed = Snapshot::parse(&bytes).map_err(|e| {
                    format!("the snapshot is not an Aurora snapshot: {}", e.message)
                })?;
                Some(parsed.body)
            }
        };
        let outcome = preview::evaluate(
            self.bundle,
            &test.template,
            &case,
            snapshot.as_ref(),
            test.now,
        )
        .map_err(|e| {
            let e = preview_error(&e);
            match miette::Diagnostic::help(&e) {
                Some(help) => format!("{e} ({help})"),
                None => e.to_string(),
            }
        })?;
        Ok(Ok(match outcome {
            Ok(doc) => doc,
            Err(failure) => preview::failure_json(&failure),
        }))
    }

    /// A test input: a JSON file relative to the test file, or the inline value.
    fn input(&self, dir: &Path, input: &Input, what: &str) -> Result<Value, String> {
        match input {
            Input::Inline(v) => Ok(v.clone()),
            Input::File(rel) => {
                let path = dir.join(rel);
                let bytes = std::fs::read(&path).map_err(|e| {
                    format!(
                        "the {what} file `{}` cannot be read: {e}",
                        self.shown(&path)
                    )
                })?;
                serde_json::from_slice(&bytes).map_err(|e| {
                    format!("the {what} file `{}` is not JSON: {e}", self.shown(&path))
                })
            }
        }
    }

    fn judge(&mut self, file: &Path, test: &MappingTest, actual: &Value) -> Verdict {
        let rel = match &test.expect {
            Input::Inline(expected) => {
                return match mt::compare(expected, actual) {
                    Ok(()) => Verdict::Pass,
                    Err(diff) if self.bless => Verdict::Fail(format!(
                        "{diff}(the expectation is inline in the test file; edit it there, --bless writes only expectation files)\n"
                    )),
                    Err(diff) => Verdict::Fail(diff),
                };
            }
            Input::File(rel) => rel,
        };
        let path = file.parent().unwrap_or(Path::new(".")).join(rel);
        let key = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
        if let Some(other) = self.claimed.insert(key, test.name.clone()) {
            return Verdict::Error(format!(
                "its expectation `{}` is also the expectation of \"{other}\"; rename the test or give it its own `expect`",
                self.shown(&path)
            ));
        }
        let previous = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => match mt::check_expectation(&v) {
                    Ok(()) => Some(v),
                    Err(e) => {
                        return Verdict::Error(format!("`{}`: {e}", self.shown(&path)));
                    }
                },
                Err(e) => {
                    return Verdict::Error(format!(
                        "the expectation `{}` is not JSON: {e}",
                        self.shown(&path)
                    ));
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Verdict::Error(format!(
                    "the expectation `{}` cannot be read: {e}",
                    self.shown(&path)
                ));
            }
        };
        let verdict = match &previous {
            Some(expected) => match mt::compare(expected, actual) {
                Ok(()) => return Verdict::Pass,
                Err(diff) => diff,
            },
            None => format!(
                "no expectation yet: `{}` does not exist (`amap test --bless` records the current outcome)\n",
                self.shown(&path)
            ),
        };
        if !self.bless {
            return Verdict::Fail(verdict);
        }
        let text = preview::pretty(&mt::blessed(previous.as_ref(), actual));
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        match written {
            Ok(()) => Verdict::Blessed(format!("wrote {}", self.shown(&path))),
            Err(e) => Verdict::Error(format!("cannot write `{}`: {e}", self.shown(&path))),
        }
    }
}

/// A path with `.` and `..` taken out without asking the file system.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Every `.toml` file under `dir` (not hidden ones), sorted by path.
fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn status(word: &str, color: bool) -> String {
    let padded = format!("{word:<7}");
    if !color {
        return padded;
    }
    let code = match word {
        "ok" => "32",
        "blessed" => "33",
        _ => "31;1",
    };
    format!("\u{1b}[{code}m{padded}\u{1b}[0m")
}

/// The explanation under a FAILED line, indented; diff lines coloured on a terminal.
fn indent(text: &str, color: bool) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let painted = match (color, line.chars().next()) {
            (true, Some('-')) if !line.starts_with("---") => format!("\u{1b}[31m{line}\u{1b}[0m"),
            (true, Some('+')) if !line.starts_with("+++") => format!("\u{1b}[32m{line}\u{1b}[0m"),
            _ => line.to_string(),
        };
        out.push_str("    ");
        out.push_str(&painted);
        out.push('\n');
    }
    out
}
