//! `amap compile [DIR] -o FILE`: check the project and, when it has no errors, write its
//! plan bundle. With errors it writes nothing, prints the diagnostics and exits 1.

use super::project::Project;
use super::{CliError, FAILURE, SUCCESS};
use crate::diagnostics::render::{self, HumanOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory (or any directory below it); default: the current directory.
    pub dir: Option<PathBuf>,
    /// Where to write the plan bundle (JSON).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(args: &Args) -> Result<i32, CliError> {
    let project = Project::load(args.dir.as_deref())?;
    let diagnostics = project.diagnostics();
    let (errors, _) = render::tally(diagnostics);
    if !diagnostics.is_empty() {
        let options = HumanOptions {
            color: super::color(std::io::stderr().is_terminal()),
            action: "compile",
            deny_warnings: false,
        };
        eprint!(
            "{}",
            render::human(diagnostics, project.sources(), &options)
        );
    }
    if errors > 0 {
        return Ok(FAILURE);
    }
    let bundle = project.compile();
    write_atomically(&args.output, bundle.to_json().as_bytes())?;
    eprintln!(
        "wrote {} ({} templates, {} tables)",
        args.output.display(),
        bundle.templates.len(),
        bundle.tables.len()
    );
    Ok(SUCCESS)
}

/// Writes through a temporary file beside the target, so a failed run never leaves half a
/// bundle behind.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let error = |source| CliError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(error)?;
    file.write_all(bytes).map_err(error)?;
    file.persist(path).map_err(|e| error(e.error))?;
    Ok(())
}
