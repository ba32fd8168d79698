//! rustc-like text through codespan-reporting: `error[E0202]: message`, the source excerpt
//! with the primary and secondary labels, `= help: …`, and a summary line at the end.

use super::{clamp, file, tally};
use crate::diagnostics::{Diagnostic, FileId, Severity, SourceMap};
use codespan_reporting::diagnostic::{self as cs, Label, LabelStyle};
use codespan_reporting::files::{self as csf, Files};
use codespan_reporting::term::termcolor::{Buffer, Color, ColorSpec, WriteColor};
use codespan_reporting::term::{self, Config, Styles, StylesWriter};
use std::io::Write;
use std::ops::Range;

/// How the text form is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanOptions<'a> {
    /// ANSI colours (the caller decides: a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// The verb of the summary line: "could not `check`: 2 errors emitted".
    pub action: &'a str,
    /// Whether warnings fail the run (the summary then says so).
    pub deny_warnings: bool,
}

impl Default for HumanOptions<'_> {
    fn default() -> Self {
        HumanOptions {
            color: false,
            action: "check",
            deny_warnings: false,
        }
    }
}

/// Every diagnostic as text, then the summary line (nothing at all when there are none).
/// Trailing spaces are trimmed from every line so that the output is stable.
pub fn human(
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    options: &HumanOptions<'_>,
) -> String {
    let files = SourceFiles(sources);
    let config = Config::default();
    let styles = if options.color {
        Styles::default()
    } else {
        Styles::no_color()
    };
    let mut buffer = if options.color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    for diagnostic in diagnostics {
        let converted = convert(diagnostic, sources);
        let mut writer = StylesWriter::new(&mut buffer, &styles);
        if term::emit_to_write_style(&mut writer, &config, &files, &converted).is_err() {
            // Only a span codespan cannot place gets here: say it without the excerpt.
            let _ = writeln!(
                buffer,
                "{}[{}]: {}",
                diagnostic.severity.as_str(),
                diagnostic.code,
                diagnostic.message
            );
        }
    }
    if let Some(line) = summary(diagnostics, options.action, options.deny_warnings) {
        write_summary(&mut buffer, &line, diagnostics, options.deny_warnings);
    }
    trim_lines(&String::from_utf8_lossy(buffer.as_slice()))
}

/// The last line of the text form: `error: could not check: 2 errors, 1 warning emitted`,
/// `warning: 1 warning emitted`, or `None` when there is nothing to report.
pub fn summary(diagnostics: &[Diagnostic], action: &str, deny_warnings: bool) -> Option<String> {
    let (errors, warnings) = tally(diagnostics);
    let mut parts = Vec::new();
    if errors > 0 {
        parts.push(plural(errors, "error"));
    }
    if warnings > 0 {
        parts.push(plural(warnings, "warning"));
    }
    if parts.is_empty() {
        return None;
    }
    let counts = parts.join(", ");
    Some(if errors > 0 {
        format!("error: could not {action}: {counts} emitted")
    } else if deny_warnings {
        format!("error: could not {action}: {counts} emitted (warnings are denied)")
    } else {
        format!("warning: {counts} emitted")
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn write_summary(buffer: &mut Buffer, line: &str, diagnostics: &[Diagnostic], deny: bool) {
    let (errors, _) = tally(diagnostics);
    let (word, rest) = line.split_once(':').unwrap_or((line, ""));
    let colour = if errors > 0 || deny {
        Color::Red
    } else {
        Color::Yellow
    };
    let _ = buffer.set_color(
        ColorSpec::new()
            .set_bold(true)
            .set_intense(true)
            .set_fg(Some(colour)),
    );
    let _ = write!(buffer, "{word}");
    let _ = buffer.set_color(ColorSpec::new().set_bold(true));
    let _ = write!(buffer, ":{rest}");
    let _ = buffer.reset();
    let _ = writeln!(buffer);
}

fn trim_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.trim_end_matches(' '));
        out.push('\n');
    }
    out
}

fn convert(d: &Diagnostic, sources: &SourceMap) -> cs::Diagnostic<FileId> {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
    };
    let mut labels = Vec::with_capacity(d.labels.len() + 1);
    if let Some(f) = file(sources, d.primary.file) {
        labels.push(
            Label::new(
                LabelStyle::Primary,
                d.primary.file,
                clamp(&f.text, d.primary.span),
            )
            .with_message(&d.primary_label),
        );
    }
    for label in &d.labels {
        if let Some(f) = file(sources, label.location.file) {
            labels.push(
                Label::new(
                    LabelStyle::Secondary,
                    label.location.file,
                    clamp(&f.text, label.location.span),
                )
                .with_message(&label.message),
            );
        }
    }
    let mut out = cs::Diagnostic::new(severity)
        .with_code(d.code.as_str())
        .with_message(&d.message)
        .with_labels(labels);
    if let Some(help) = &d.help {
        out = out.with_note(format!("help: {help}"));
    }
    out
}

/// The source map as codespan sees it, reusing its line index.
struct SourceFiles<'a>(&'a SourceMap);

impl SourceFiles<'_> {
    fn line_start(&self, id: FileId, line_index: usize) -> Result<usize, csf::Error> {
        let f = file(self.0, id).ok_or(csf::Error::FileMissing)?;
        let starts = f.line_starts();
        match line_index.cmp(&starts.len()) {
            std::cmp::Ordering::Less => Ok(starts[line_index] as usize),
            std::cmp::Ordering::Equal => Ok(f.text.len()),
            std::cmp::Ordering::Greater => Err(csf::Error::LineTooLarge {
                given: line_index,
                max: starts.len() - 1,
            }),
        }
    }
}

impl<'a> Files<'a> for SourceFiles<'a> {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, csf::Error> {
        file(self.0, id)
            .map(|f| f.name.as_str())
            .ok_or(csf::Error::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, csf::Error> {
        file(self.0, id)
            .map(|f| f.text.as_str())
            .ok_or(csf::Error::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, csf::Error> {
        let f = file(self.0, id).ok_or(csf::Error::FileMissing)?;
        let at = u32::try_from(byte_index).unwrap_or(u32::MAX);
        Ok(match f.line_starts().binary_search(&at) {
            Ok(line) => line,
            Err(next) => next.saturating_sub(1),
        })
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, csf::Error> {
        let start = self.line_start(id, line_index)?;
        let end = self.line_start(id, line_index + 1)?;
        Ok(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{Code, Span};

    #[test]
    fn summary_counts_and_pluralises() {
        let mut map = SourceMap::new();
        let id = map.add("a.amap", "x");
        let e = Diagnostic::new(Code::E0202, id, Span::new(0, 1), "e");
        let w = Diagnostic::new(Code::W0403, id, Span::new(0, 1), "w");
        assert_eq!(summary(&[], "check", false), None);
        assert_eq!(
            summary(&[e.clone(), e.clone(), w.clone()], "check", false).as_deref(),
            Some("error: could not check: 2 errors, 1 warning emitted")
        );
        assert_eq!(
            summary(std::slice::from_ref(&w), "check", false).as_deref(),
            Some("warning: 1 warning emitted")
        );
        assert_eq!(
            summary(&[w.clone(), w], "compile", true).as_deref(),
            Some("error: could not compile: 2 warnings emitted (warnings are denied)")
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let mut map = SourceMap::new();
        let id = map.add("a.amap", "abc\n");
        let d = vec![Diagnostic::new(Code::E0001, id, Span::new(0, 1), "bad")];
        let plain = human(&d, &map, &HumanOptions::default());
        assert!(!plain.contains('\u{1b}'));
        assert!(plain.starts_with("error[E0001]: bad\n"));
        let coloured = human(
            &d,
            &map,
            &HumanOptions {
                color: true,
                ..HumanOptions::default()
            },
        );
        assert!(coloured.contains('\u{1b}'));
    }

    #[test]
    fn a_span_outside_any_file_still_renders() {
        let map = SourceMap::new();
        let d = vec![Diagnostic::new(
            Code::E0001,
            FileId(3),
            Span::new(5, 9),
            "lost",
        )];
        let text = human(&d, &map, &HumanOptions::default());
        assert!(text.starts_with("error[E0001]: lost\n"), "{text}");
    }
}
