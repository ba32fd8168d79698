//! Errors that stop a command before it can report on the project (exit status 2), and how
//! they are printed: one line on stderr, then the help line when there is one.

use miette::Diagnostic;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CliError {
    #[error("`{given}` is not a diagnostic code")]
    #[diagnostic(help(
        "codes are a letter and four digits: E0202 (error), W0401 (warning), S0003 (schema file); `amap explain` lists them all"
    ))]
    UnknownCode { given: String },

    #[error("cannot use the directory `{}`: {source}", path.display())]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The project could not be loaded (no `amap.toml`, an unreadable file).
    #[error("{message}")]
    Project {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Prints an application error to stderr: `error: MESSAGE`, then `  help: …` if it has help.
pub fn report(error: &dyn Diagnostic) {
    eprint!("{}", format_error(error));
}

fn format_error(error: &dyn Diagnostic) -> String {
    let mut out = format!("error: {error}\n");
    if let Some(help) = error.help() {
        out.push_str(&format!("  help: {help}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_one_line_and_its_help_another() {
        let e = CliError::UnknownCode { given: "X1".into() };
        let text = format_error(&e);
        assert!(text.starts_with("error: `X1` is not a diagnostic code\n  help: codes are"));
        assert_eq!(text.lines().count(), 2);
        let e = CliError::Project {
            message: "cannot read `schema/aurora.toml`: not found".into(),
            help: None,
        };
        assert_eq!(
            format_error(&e),
            "error: cannot read `schema/aurora.toml`: not found\n"
        );
    }
}
