//! `amap serve` (being built; see the module's owner).

use super::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> Result<i32, CliError> {
    Err(CliError::Project {
        message: "`amap serve` is not available in this build".into(),
        help: None,
    })
}
