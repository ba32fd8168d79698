//! `amap check [DIR]`: parse and check every template of a project against its schemas and
//! print the diagnostics in the chosen format.

use super::project::Project;
use super::{CliError, FAILURE, SUCCESS};
use crate::diagnostics::render::{self, HumanOptions};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory (or any directory below it); default: the current directory.
    pub dir: Option<PathBuf>,
    /// How to print the diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Keep running: re-check on every change and print only new and fixed diagnostics.
    #[arg(long, conflicts_with = "format")]
    pub watch: bool,
}

/// The output formats, as the command line spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-like text with source excerpts.
    Human,
    /// One JSON object: counts and every diagnostic.
    Json,
    /// GitHub Actions annotations.
    Github,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

impl From<Format> for render::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Human => render::Format::Human,
            Format::Json => render::Format::Json,
            Format::Github => render::Format::Github,
            Format::Sarif => render::Format::Sarif,
        }
    }
}

pub fn run(args: &Args) -> Result<i32, CliError> {
    if args.watch {
        let color = super::color(std::io::stdout().is_terminal());
        return super::watch::run(args.dir.as_deref(), args.deny_warnings, color);
    }
    let project = Project::load(args.dir.as_deref())?;
    let diagnostics = project.diagnostics();
    let options = HumanOptions {
        color: super::color(std::io::stdout().is_terminal()),
        action: "check",
        deny_warnings: args.deny_warnings,
    };
    // GitHub reads paths from the checkout root (the current directory in CI); the other
    // formats name files from the project root.
    let renamed;
    let sources = match args.format {
        Format::Github | Format::Sarif => {
            renamed = project.sources_from_current_dir();
            &renamed
        }
        Format::Human | Format::Json => project.sources(),
    };
    let text = render::render(
        args.format.into(),
        diagnostics,
        sources,
        project.counts(),
        &options,
    );
    print!("{text}");
    let (errors, warnings) = render::tally(diagnostics);
    if args.format == Format::Human && errors == 0 && warnings == 0 {
        let counts = project.counts();
        println!(
            "checked {} in {}: no problems",
            plural(counts.templates, "template"),
            plural(counts.files, "file")
        );
    }
    Ok(if errors > 0 || (args.deny_warnings && warnings > 0) {
        FAILURE
    } else {
        SUCCESS
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
