//! `amap fmt [--check] [PATH…]`: rewrite `.amap` files in the canonical layout. A folder means
//! every `.amap` file below it (hidden folders and `target` skipped). A file with syntax errors
//! is left alone and its errors are printed; `--check` changes nothing and lists the files that
//! would change.

use super::{CliError, FAILURE, SUCCESS};
use crate::diagnostics::SourceMap;
use crate::diagnostics::render::{self, HumanOptions};
use crate::ide::format::{FormatError, format_file};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to format; default: the current folder.
    pub paths: Vec<PathBuf>,
    /// Change nothing; list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &Args) -> Result<i32, CliError> {
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut files = Vec::new();
    for root in &roots {
        collect(root, &mut files)?;
    }
    files.sort();
    files.dedup();

    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut failed = false;
    let mut changed = 0usize;
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::Project {
            message: format!("cannot read `{}`: {source}", path.display()),
            help: None,
        })?;
        let mut sources = SourceMap::new();
        let id = sources.add(path.display().to_string(), text.clone());
        match format_file(&text, id) {
            Ok(out) if out == text => {}
            Ok(out) => {
                changed += 1;
                if args.check {
                    println!("{}", path.display());
                } else {
                    std::fs::write(path, out).map_err(|source| CliError::Write {
                        path: path.clone(),
                        source,
                    })?;
                    eprintln!("formatted {}", path.display());
                }
            }
            Err(FormatError::Syntax(diags)) => {
                failed = true;
                let options = HumanOptions {
                    color,
                    action: "format",
                    deny_warnings: false,
                };
                eprint!("{}", render::human(&diags, &sources, &options));
            }
            Err(e @ FormatError::Unstable(_)) => {
                failed = true;
                eprintln!("error: {}: {e}; the file is left as it was", path.display());
            }
        }
    }
    if args.check && changed > 0 {
        eprintln!(
            "{changed} file{} not formatted; run `amap fmt` to format {}",
            if changed == 1 { " is" } else { "s are" },
            if changed == 1 { "it" } else { "them" }
        );
    }
    Ok(if failed || (args.check && changed > 0) {
        FAILURE
    } else {
        SUCCESS
    })
}

/// The `.amap` files at or below `path`.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let meta = std::fs::metadata(path).map_err(|source| CliError::Project {
        message: format!("cannot read `{}`: {source}", path.display()),
        help: None,
    })?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|source| CliError::Directory {
        path: path.to_path_buf(),
        source,
    })?;
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let name = child
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if child.is_dir() {
            if !name.starts_with('.') && name != "target" {
                collect(&child, out)?;
            }
        } else if name.ends_with(".amap") {
            out.push(child);
        }
    }
    Ok(())
}
