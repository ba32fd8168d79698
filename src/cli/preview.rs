//! `amap preview --template NAME --case case.json [DIR]`: compile the project and show what
//! a template makes of a case, without any network: the CreateCase request, the contact
//! and the UDFs, or (with `--snapshot`) the Connect field writes of the incoming templates.
//! A validation failure prints as a diagnostic pointing into the template and exits 1.

use super::project::Project;
use super::{CliError, FAILURE, SUCCESS};
use crate::diagnostics::SourceMap;
use crate::diagnostics::render::{self, HumanOptions};
use crate::runtime::aurora::returns::Snapshot;
use crate::runtime::case::{self, Case};
use crate::runtime::eval::EvalFailure;
use crate::runtime::preview::{self, PreviewError};
use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::termcolor::Buffer;
use codespan_reporting::term::{self, Config, Styles, StylesWriter};
use jiff::Timestamp;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory (or any directory below it); default: the current directory.
    pub dir: Option<PathBuf>,
    /// The template to evaluate, by name.
    #[arg(long, value_name = "NAME")]
    pub template: String,
    /// The Connect case, in its JSON form (docs/connect-case.md). Needed for a create
    /// template; with --snapshot it is the case the incoming templates read (default: empty).
    #[arg(long, value_name = "FILE", required_unless_present = "snapshot")]
    pub case: Option<PathBuf>,
    /// An Aurora update snapshot (the PascalCase return-path JSON): show the field writes of
    /// the incoming templates of the template's reference (or of the template itself when it
    /// is an incoming one).
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// What `now()` returns, as RFC 3339 (default: the current time).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

pub fn run(args: &Args) -> Result<i32, CliError> {
    let now = match &args.now {
        None => Timestamp::now(),
        Some(text) => text.parse::<Timestamp>().map_err(|_| CliError::Project {
            message: format!("--now `{text}` is not an RFC 3339 time"),
            help: Some("write it like 2025-12-02T10:00:00Z".into()),
        })?,
    };
    let case = match &args.case {
        Some(path) => read_case(path)?,
        None => Case::default(),
    };
    let snapshot = args.snapshot.as_deref().map(read_snapshot).transpose()?;

    let project = Project::load(args.dir.as_deref())?;
    if let Some(status) = stop_on_errors(&project, "preview") {
        return Ok(status);
    }
    let bundle = project.compile();
    if let Some(path) = &args.case {
        for problem in case::validate(&case, &project.workspace().connect) {
            eprintln!("warning: {}: {problem}", path.display());
        }
    }
    let outcome = preview::evaluate(&bundle, &args.template, &case, snapshot.as_ref(), now)
        .map_err(|e| preview_error(&e))?;
    match outcome {
        Ok(doc) => {
            print!("{}", preview::pretty(&doc));
            Ok(SUCCESS)
        }
        Err(failure) => {
            let color = super::color(std::io::stderr().is_terminal());
            eprint!(
                "{}",
                render_failure(&failure, project.sources(), snapshot.is_some(), color)
            );
            Ok(FAILURE)
        }
    }
}

/// Prints the diagnostics of a project with errors as `amap check` does (`action` names the
/// command in the summary line); the exit status when it has errors.
pub(super) fn stop_on_errors(project: &Project, action: &str) -> Option<i32> {
    let diagnostics = project.diagnostics();
    let (errors, _) = render::tally(diagnostics);
    if errors == 0 {
        return None;
    }
    let options = HumanOptions {
        color: super::color(std::io::stderr().is_terminal()),
        action,
        deny_warnings: false,
    };
    eprint!(
        "{}",
        render::human(diagnostics, project.sources(), &options)
    );
    Some(FAILURE)
}

pub(super) fn preview_error(e: &PreviewError) -> CliError {
    CliError::Project {
        message: e.to_string(),
        help: e.help(),
    }
}

fn bad_file(what: &str, path: &Path, why: impl std::fmt::Display) -> CliError {
    CliError::Project {
        message: format!("the {what} file `{}` {why}", path.display()),
        help: None,
    }
}

fn read_json(what: &str, path: &Path) -> Result<Value, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| bad_file(what, path, format_args!("cannot be read: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| bad_file(what, path, format_args!("is not JSON: {e}")))
}

pub(super) fn read_case(path: &Path) -> Result<Case, CliError> {
    let value = read_json("case", path)?;
    preview::read_case(value)
        .map_err(|e| bad_file("case", path, format_args!("is not a Connect case: {e}")))
}

fn read_snapshot(path: &Path) -> Result<Value, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| bad_file("snapshot", path, format_args!("cannot be read: {e}")))?;
    Snapshot::parse(&bytes).map(|s| s.body).map_err(|e| {
        bad_file(
            "snapshot",
            path,
            format_args!("is not an Aurora snapshot: {}", e.message),
        )
    })
}

/// A validation failure (of a create, or of `incoming` templates on a snapshot) as a
/// diagnostic: the reason, pointing at the mapping in its file
/// (found from the `file:line` the plan records); without a source excerpt when the file
/// is not in the project.
pub(super) fn render_failure(
    f: &EvalFailure,
    sources: &SourceMap,
    incoming: bool,
    color: bool,
) -> String {
    let message = format!("validation failure: {}", f.reason);
    let note = if incoming {
        format!(
            "template \"{}\" cannot be applied to this snapshot; no Connect field would be written",
            f.template
        )
    } else {
        format!(
            "template \"{}\" cannot be applied to this case; nothing would be sent to Aurora",
            f.template
        )
    };
    let located = f.location.rsplit_once(':').and_then(|(name, line)| {
        let line: usize = line.parse().ok()?;
        let (_, file) = sources.files().find(|(_, s)| s.name == name)?;
        let span = mapping_span(&file.text, line, &f.mapping)?;
        Some((file, span))
    });
    let Some((file, span)) = located else {
        return format!("error: {message}\n  --> {}\n  = {note}\n", f.location);
    };
    let files = SimpleFile::new(file.name.as_str(), file.text.as_str());
    let label = if f.mapping.is_empty() {
        "in this template".to_string()
    } else {
        "this mapping fails".to_string()
    };
    let diagnostic = Diagnostic::error()
        .with_message(&message)
        .with_labels(vec![Label::primary((), span).with_message(label)])
        .with_notes(vec![note.clone()]);
    let styles = if color {
        Styles::default()
    } else {
        Styles::no_color()
    };
    let mut buffer = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    let mut writer = StylesWriter::new(&mut buffer, &styles);
    if term::emit_to_write_style(&mut writer, &Config::default(), &files, &diagnostic).is_err() {
        return format!("error: {message}\n  --> {}\n  = {note}\n", f.location);
    }
    let text = String::from_utf8_lossy(buffer.as_slice()).into_owned();
    text.lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// The byte range of a mapping that starts on `line` (1-based): from its first non-blank
/// character over the text of `mapping` (which has its white space folded), or the rest of
/// the line when the text does not match.
fn mapping_span(text: &str, line: usize, mapping: &str) -> Option<std::ops::Range<usize>> {
    let start_of_line = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = &text[start_of_line..];
    let indent = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let start = start_of_line + indent;
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let mut at = start;
    let mut chars = text[start..]
        .char_indices()
        .map(|(i, c)| (start + i, c))
        .peekable();
    for want in mapping.chars() {
        if want == ' ' {
            let mut skipped = false;
            while let Some(&(_, c)) = chars.peek() {
                if !c.is_whitespace() {
                    break;
                }
                chars.next();
                skipped = true;
            }
            if !skipped {
                return Some(start..line_end.max(start));
            }
            continue;
        }
        match chars.next() {
            Some((i, c)) if c == want => at = i + c.len_utf8(),
            _ => return Some(start..line_end.max(start)),
        }
    }
    if mapping.is_empty() {
        return Some(start..line_end.max(start));
    }
    Some(start..at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_points_at_its_mapping_or_names_its_location() {
        let mut sources = SourceMap::new();
        sources.add("t.amap", "create \"T\" for ref.r {\n    aurora.a = x!\n}\n");
        let failure = EvalFailure {
            template: "T".into(),
            location: "t.amap:2".into(),
            mapping: "aurora.a = x!".into(),
            reason: "x! failed: x is empty".into(),
        };
        let text = render_failure(&failure, &sources, false, false);
        assert!(
            text.starts_with("error: validation failure: x! failed: x is empty\n"),
            "{text}"
        );
        assert!(text.contains("┌─ t.amap:2:5\n"), "{text}");
        assert!(
            text.contains("^^^^^^^^^^^^^ this mapping fails\n"),
            "{text}"
        );
        assert!(text.contains("nothing would be sent to Aurora"), "{text}");
        let elsewhere = EvalFailure {
            location: "gone.amap:9".into(),
            ..failure
        };
        assert_eq!(
            render_failure(&elsewhere, &sources, true, false),
            "error: validation failure: x! failed: x is empty\n  --> gone.amap:9\n  = template \"T\" cannot be applied to this snapshot; no Connect field would be written\n"
        );
    }

    #[test]
    fn a_mapping_span_covers_the_mapping_across_lines() {
        let text =
            "create \"T\" for ref.r {\n    aurora.a = x ??\n        y\n    aurora.b = z\n}\n";
        let span = mapping_span(text, 2, "aurora.a = x ?? y").unwrap();
        assert_eq!(&text[span], "aurora.a = x ??\n        y");
        let span = mapping_span(text, 4, "aurora.b = z").unwrap();
        assert_eq!(&text[span], "aurora.b = z");
        // Text that does not match: the rest of the line.
        let span = mapping_span(text, 4, "aurora.b = q").unwrap();
        assert_eq!(&text[span], "aurora.b = z");
        assert_eq!(mapping_span(text, 40, "x"), None);
    }
}
