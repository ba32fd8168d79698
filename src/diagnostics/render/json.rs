//! The JSON report of `amap check --format json`: one object with the counts and every
//! diagnostic, keys in a fixed order, positions 1-based and counted in characters (the end
//! is exclusive: the column after the last character).

use super::{Counts, Region, file_name, tally};
use crate::diagnostics::{Code, Diagnostic, Location, Severity, SourceMap};
use serde::Serialize;

#[derive(Serialize)]
struct Report<'a> {
    files: usize,
    templates: usize,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: Code,
    severity: Severity,
    message: &'a str,
    #[serde(flatten)]
    at: Position<'a>,
    labels: Vec<JsonLabel<'a>>,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    #[serde(flatten)]
    at: Position<'a>,
    message: &'a str,
}

#[derive(Serialize)]
struct Position<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
}

impl<'a> Position<'a> {
    fn of(sources: &'a SourceMap, location: Location) -> Self {
        let r = Region::of(sources, location);
        Position {
            file: file_name(sources, location.file),
            line: r.line,
            column: r.column,
            end_line: r.end_line,
            end_column: r.end_column,
        }
    }
}

/// The report as pretty-printed JSON, ending in a newline.
pub fn json(diagnostics: &[Diagnostic], sources: &SourceMap, counts: Counts) -> String {
    let (errors, warnings) = tally(diagnostics);
    let report = Report {
        files: counts.files,
        templates: counts.templates,
        errors,
        warnings,
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code,
                severity: d.severity,
                message: &d.message,
                at: Position::of(sources, d.primary),
                labels: d
                    .labels
                    .iter()
                    .map(|l| JsonLabel {
                        at: Position::of(sources, l.location),
                        message: &l.message,
                    })
                    .collect(),
                help: d.help.as_deref(),
            })
            .collect(),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    let mut out = serde_json::to_string_pretty(&report).unwrap_or_default();
    out.push('\n');
    out
}
