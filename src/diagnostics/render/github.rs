//! GitHub Actions workflow commands: one `::error …::message` line per diagnostic, which
//! GitHub shows as an annotation on the pull request.

use super::{Region, file_name};
use crate::diagnostics::{Diagnostic, Severity, SourceMap};
use std::fmt::Write;

/// One workflow command per diagnostic. The message carries the help line and the secondary
/// labels (annotations have no other place for them).
pub fn github(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let r = Region::of(sources, d.primary);
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = d.message.clone();
        for label in &d.labels {
            let at = Region::of(sources, label.location);
            let _ = write!(
                message,
                "\n{}:{}:{}: {}",
                file_name(sources, label.location.file),
                at.line,
                at.column,
                label.message
            );
        }
        if let Some(help) = &d.help {
            let _ = write!(message, "\nhelp: {help}");
        }
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(file_name(sources, d.primary.file)),
            r.line,
            r.column,
            r.end_line,
            r.end_column,
            escape_property(d.code.as_str()),
            escape_data(&message),
        );
    }
    out
}

/// Escapes a command's message: `%`, CR and LF.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property: as the message, plus `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_github_requires() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
