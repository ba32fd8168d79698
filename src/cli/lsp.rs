//! `amap lsp`: the language server on stdin and stdout, for editors (see `docs/editors.md`).

use super::{CliError, SUCCESS};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accepted for editors that pass it; stdio is the only transport.
    #[arg(long)]
    pub stdio: bool,
}

pub fn run(_args: &Args) -> Result<i32, CliError> {
    crate::ide::lsp::run().map_err(|e| CliError::Project {
        message: format!("the language server stopped: {e}"),
        help: None,
    })?;
    Ok(SUCCESS)
}
