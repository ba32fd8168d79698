//! `amap serve [--config amap.toml]`: runs the integration service (HTTP API, job workers and the
//! return-path poller) until Ctrl-C or SIGTERM, then stops gracefully.
//!
//! Every configuration problem is printed with its key before anything starts (exit status 2).
//! Logs go to stderr, human or JSON (`--log-format json`), filtered by `AMAP_LOG` (default
//! `warn,amap=info`).

use super::{COULD_NOT_RUN, CliError, SUCCESS};
use crate::service::app;
use crate::service::config::ServiceConfig;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Human,
    /// One JSON object per event.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project file with the service tables ([aurora], [updates], [store], [server], [retry],
    /// [connect]); the project is the folder holding it.
    #[arg(long, value_name = "PATH", default_value = "amap.toml")]
    pub config: PathBuf,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// Sets up logging for the service: `AMAP_LOG` (default: the service's own events from `info`,
/// its libraries' from `warn`), human (coloured on a terminal) or JSON, on stderr.
pub(crate) fn init_service_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AMAP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,amap=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(format == LogFormat::Human && std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Reads the configuration, printing every problem; `None` when there were errors.
pub(crate) fn load_config(path: &Path) -> Option<ServiceConfig> {
    match ServiceConfig::load(path) {
        Ok(config) => {
            for warning in &config.warnings {
                eprintln!("warning: {warning}");
            }
            Some(config)
        }
        Err(errors) => {
            for problem in &errors.problems {
                eprintln!("error: {problem}");
            }
            let n = errors.problems.len();
            eprintln!(
                "could not start `serve`: {n} configuration error{}; nothing was started",
                if n == 1 { "" } else { "s" }
            );
            None
        }
    }
}

pub fn run(args: &Args) -> Result<i32, CliError> {
    init_service_logging(args.log_format);
    let Some(config) = load_config(&args.config) else {
        return Ok(COULD_NOT_RUN);
    };
    let project_dir = match args.config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::Project {
        message: format!("cannot start the async runtime: {e}"),
        help: None,
    })?;
    runtime.block_on(serve(config, &project_dir))
}

async fn serve(config: ServiceConfig, project_dir: &Path) -> Result<i32, CliError> {
    let service = match app::start(config, project_dir).await {
        Ok(service) => service,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(COULD_NOT_RUN);
        }
    };
    println!("listening on http://{}", service.addr);
    let _ = std::io::stdout().flush();
    wait_for_signal().await;
    tracing::info!("stopping");
    service.shutdown().await;
    Ok(SUCCESS)
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot wait for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot wait for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
