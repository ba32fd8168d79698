//! `amap explain CODE`: the long explanation of a diagnostic code; without a code, the list
//! of every code with its summary.

use super::{CliError, SUCCESS};
use crate::diagnostics::Code;
use crate::diagnostics::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The code to explain, e.g. E0202 (any case). Omit it to list every code.
    pub code: Option<String>,
}

pub fn run(args: &Args) -> Result<i32, CliError> {
    let text = match &args.code {
        Some(given) => {
            let code = Code::parse(given).ok_or_else(|| CliError::UnknownCode {
                given: given.clone(),
            })?;
            render::explain(code)
        }
        None => list(),
    };
    print!("{text}");
    Ok(SUCCESS)
}

fn list() -> String {
    Code::ALL
        .iter()
        .map(|c| format!("{c}  {:<7}  {}\n", c.severity().as_str(), c.summary()))
        .collect()
}
