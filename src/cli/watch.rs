//! `amap check --watch`: check once, then keep the project in the incremental database and
//! re-check on every change to its files, printing only what changed: the new diagnostics in
//! full and one line per fixed one. An edited template re-checks only that file's templates; a
//! changed `amap.toml`, or a template file added or removed, reloads the project.

use super::CliError;
use crate::diagnostics::render::{self, HumanOptions};
use crate::diagnostics::{Code, Diagnostic, SourceMap};
use crate::ide::project::ProjectDb;
use notify::{RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the files must be quiet before a re-check (editors write in several steps).
const SETTLE: Duration = Duration::from_millis(80);

/// A diagnostic as it is compared between two checks: where it is by file and source text
/// rather than by offset, so that an edit above it does not make it "new".
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    file: String,
    code: Code,
    message: String,
    excerpt: String,
}

struct Seen {
    key: Key,
    /// `file:line:column`, as it was when last checked.
    place: String,
}

fn snapshot(diags: &[Diagnostic], sources: &SourceMap) -> Vec<Seen> {
    diags
        .iter()
        .map(|d| {
            let id = d.primary.file;
            let known = (id.0 as usize) < sources.len();
            let (file, excerpt, place) = if known {
                let f = sources.get(id);
                let excerpt = f.text.get(d.primary.span.range()).unwrap_or("").to_string();
                let at = f.line_col(d.primary.span.start);
                let place = format!("{}:{}:{}", f.name, at.line, at.column);
                (f.name.clone(), excerpt, place)
            } else {
                (String::new(), String::new(), String::from("<unknown>"))
            };
            Seen {
                key: Key {
                    file,
                    code: d.code,
                    message: d.message.clone(),
                    excerpt,
                },
                place,
            }
        })
        .collect()
}

/// Runs the watch loop; returns only when the watcher fails.
pub fn run(dir: Option<&Path>, deny_warnings: bool, color: bool) -> Result<i32, CliError> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::current_dir().map_err(|source| CliError::Directory {
            path: ".".into(),
            source,
        })?,
    };
    let load = |dir: &Path| {
        ProjectDb::load(dir, &[]).map_err(|e| CliError::Project {
            message: e.to_string(),
            help: None,
        })
    };
    let mut project = load(&dir)?;
    let options = HumanOptions {
        color,
        action: "check",
        deny_warnings,
    };

    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).map_err(watch_error)?;
    watcher
        .watch(&project.root, RecursiveMode::Recursive)
        .map_err(watch_error)?;

    let mut out = std::io::stdout();
    let sources = project.source_map();
    let diags = project.diagnostics().to_vec();
    let _ = write!(out, "{}", render::human(&diags, &sources, &options));
    let _ = writeln!(out, "{}", status(&project, &diags, None));
    let _ = writeln!(
        out,
        "watching {} for changes (Ctrl-C to stop)",
        project.root.display()
    );
    let _ = out.flush();
    let mut before = snapshot(&diags, &sources);

    loop {
        // Wait for a change, then for the files to settle.
        let mut paths: BTreeSet<PathBuf> = BTreeSet::new();
        match rx.recv() {
            Ok(Ok(event)) => paths.extend(event.paths),
            Ok(Err(e)) => return Err(watch_error(e)),
            Err(_) => return Ok(super::COULD_NOT_RUN),
        }
        while let Ok(next) = rx.recv_timeout(SETTLE) {
            if let Ok(event) = next {
                paths.extend(event.paths);
            }
        }
        let relevant: Vec<PathBuf> = paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "amap" || e == "toml"))
            .collect();
        if relevant.is_empty() {
            continue;
        }
        let started = Instant::now();
        if !apply(&mut project, &relevant) {
            match load(&project.root.clone()) {
                Ok(p) => project = p,
                Err(e) => {
                    let _ = writeln!(out, "error: {e}");
                    let _ = out.flush();
                    continue;
                }
            }
        }
        let sources = project.source_map();
        let diags = project.diagnostics().to_vec();
        let after = snapshot(&diags, &sources);
        let elapsed = started.elapsed();

        // New: in `after` more often than in `before` (a multiset difference).
        let mut unmatched: Vec<&Key> = before.iter().map(|s| &s.key).collect();
        let mut new = Vec::new();
        for (d, s) in diags.iter().zip(&after) {
            match unmatched.iter().position(|k| **k == s.key) {
                Some(i) => {
                    unmatched.swap_remove(i);
                }
                None => new.push(d.clone()),
            }
        }
        let mut remaining: Vec<&Key> = after.iter().map(|s| &s.key).collect();
        let mut fixed = Vec::new();
        for s in &before {
            match remaining.iter().position(|k| **k == s.key) {
                Some(i) => {
                    remaining.swap_remove(i);
                }
                None => fixed.push(s),
            }
        }

        for s in &fixed {
            let _ = writeln!(
                out,
                "fixed: {} {}[{}]: {}",
                s.place,
                s.key.code.severity().as_str(),
                s.key.code,
                s.key.message
            );
        }
        if !new.is_empty() {
            let text = render::human(&new, &sources, &options);
            // The renderer ends with a count of what it was given; the status line below
            // counts the whole project instead.
            let summary = render::summary(&new, options.action, deny_warnings);
            let text = match summary {
                Some(line) => text
                    .strip_suffix(&format!("{line}\n"))
                    .unwrap_or(&text)
                    .to_string(),
                None => text,
            };
            let _ = write!(out, "{text}");
        }
        let _ = writeln!(
            out,
            "{}",
            status(&project, &diags, Some((new.len(), fixed.len(), elapsed)))
        );
        let _ = out.flush();
        before = after;
    }
}

/// Applies changed files to the database; `false` when the project must be reloaded.
fn apply(project: &mut ProjectDb, paths: &[PathBuf]) -> bool {
    for path in paths {
        let Some(name) = project.name_of_path(path) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            // Removed (or unreadable): the project's file list changes.
            return false;
        };
        if !project.set_template_text(&name, &text) && !project.set_schema_text(&name, &text) {
            if name.ends_with(".toml") && name != crate::workspace::PROJECT_FILE {
                // Some other TOML file in the folder: not the project's business.
                continue;
            }
            // `amap.toml`, or a template file the project does not have yet.
            return false;
        }
    }
    true
}

fn status(
    project: &ProjectDb,
    diags: &[Diagnostic],
    change: Option<(usize, usize, Duration)>,
) -> String {
    let (errors, warnings) = render::tally(diags);
    let (files, templates) = project.counts();
    let mut s = format!(
        "{}: {} error{}, {} warning{} in {templates} template{} ({files} file{})",
        if errors == 0 { "ok" } else { "failed" },
        errors,
        if errors == 1 { "" } else { "s" },
        warnings,
        if warnings == 1 { "" } else { "s" },
        if templates == 1 { "" } else { "s" },
        if files == 1 { "" } else { "s" },
    );
    if let Some((new, fixed, took)) = change {
        s.push_str(&format!(
            "; {new} new, {fixed} fixed, re-checked in {:.1} ms",
            took.as_secs_f64() * 1000.0
        ));
    }
    s
}

fn watch_error(e: notify::Error) -> CliError {
    CliError::Project {
        message: format!("cannot watch the project's files: {e}"),
        help: None,
    }
}
