//! The command line. Each command lives in its own file; this module parses the arguments,
//! sets up logging and turns the outcome into an exit status:
//! 0 no errors, 1 errors found, 2 could not run.

mod check;
mod compile;
mod demo;
mod error;
mod explain;
mod fmt;
mod lsp;
mod preview;
mod project;
mod serve;
mod sim;
mod testing;
mod watch;

pub use error::{CliError, report};

use clap::{Parser, Subcommand};

/// Exit status: the run found no errors (warnings are allowed unless denied).
pub const SUCCESS: i32 = 0;
/// Exit status: errors were found (or warnings, when they are denied).
pub const FAILURE: i32 = 1;
/// Exit status: the command could not run (bad arguments, no `amap.toml`, unreadable files).
pub const COULD_NOT_RUN: i32 = 2;

/// Typed mapping templates between Jadu Connect and Symology Aurora.
#[derive(Debug, Parser)]
#[command(name = "amap", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every template of a project against its schemas.
    Check(check::Args),
    /// Check a project and write its plan bundle (nothing is written when there are errors).
    Compile(compile::Args),
    /// Print the explanation of a diagnostic code, with an example and its fix.
    Explain(explain::Args),
    /// Format `.amap` files in the canonical layout (`--check`: only list those that differ).
    Fmt(fmt::Args),
    /// Run the language server on stdin and stdout, for editors.
    Lsp(lsp::Args),
    /// Run the Aurora simulator (token endpoint, Cases API, snapshot container) until Ctrl-C.
    Sim(sim::Args),
    /// Show the CreateCase request (or, with `--snapshot`, the field writes) for a case, without any network.
    Preview(preview::Args),
    /// Run the mapping tests of a project: a case or snapshot in, the expected request or writes out.
    Test(testing::Args),
    /// Run the integration service: HTTP API, job workers and the return-path poller.
    Serve(serve::Args),
    /// Run the whole loop on this machine: simulator, service on SQLite, the example cases; print the log.
    Demo(demo::Args),
}

/// Runs the command line on the process arguments and returns the exit status.
pub fn main() -> i32 {
    run(std::env::args_os())
}

/// Runs the command line on `args` (the first is the program name).
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are not errors; anything else is a usage error.
            let _ = e.print();
            return if e.use_stderr() {
                COULD_NOT_RUN
            } else {
                SUCCESS
            };
        }
    };
    // The service sets up its own logging (level `info`, human or JSON).
    if !matches!(cli.command, Command::Serve(_)) {
        init_logging();
    }
    let outcome = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Compile(args) => compile::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Lsp(args) => lsp::run(&args),
        Command::Sim(args) => sim::run(&args),
        Command::Preview(args) => preview::run(&args),
        Command::Test(args) => testing::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Demo(args) => demo::run(&args),
    };
    match outcome {
        Ok(status) => status,
        Err(e) => {
            report(&e);
            COULD_NOT_RUN
        }
    }
}

/// Whether to colour output for a stream: only a terminal, and only when `NO_COLOR` is unset
/// or empty.
fn color(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Logs go to stderr, filtered by `AMAP_LOG` (`warn` when unset), e.g. `AMAP_LOG=amap=debug`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AMAP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
