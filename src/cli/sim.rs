//! `amap sim`: runs the Aurora simulator until Ctrl-C, printing where it listens.

use super::{CliError, FAILURE, SUCCESS};
use crate::diagnostics::SourceMap;
use crate::diagnostics::render::{self, HumanOptions};
use crate::schema::{AuroraSchema, load_aurora};
use crate::sim::{self, Faults, SimConfig, SimCredentials};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8470)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Aurora schema whose CreateCase and contact rules the simulator enforces
    /// (e.g. examples/schema/aurora.toml); without it any body is accepted.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Seed of the random faults, tokens and ids.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of Cases API and token calls answered 503 (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub failure_rate: f64,
    /// Delay before every Cases API and token answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of committing calls whose answer is dropped after the change is made (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub lost_response_rate: f64,
    /// Lifetime of granted tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_lifetime: u64,
    /// Largest accepted upload, in bytes.
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    pub max_attachment_bytes: usize,
    /// Blobs per listing page.
    #[arg(long, default_value_t = 2)]
    pub page_size: usize,
    /// Drop attachments listed without a name instead of failing the call.
    #[arg(long)]
    pub allow_nameless_attachments: bool,
    /// Require this System Code on every Cases API call (header, query or path).
    #[arg(long)]
    pub system_code: Option<String>,
    #[arg(long, default_value = "amap-sim")]
    pub client_id: String,
    #[arg(
        long,
        env = "AMAP_SIM_CLIENT_SECRET",
        default_value = "sim-client-secret",
        hide_default_value = true
    )]
    pub client_secret: String,
    #[arg(long, default_value = "sim-user")]
    pub username: String,
    #[arg(
        long,
        env = "AMAP_SIM_PASSWORD",
        default_value = "sim-password",
        hide_default_value = true
    )]
    pub password: String,
    /// The `sig` the container's SAS must carry.
    #[arg(
        long,
        env = "AMAP_SIM_SAS_SIGNATURE",
        default_value = "sim-signature",
        hide_default_value = true
    )]
    pub sas_signature: String,
}

pub fn run(args: &Args) -> Result<i32, CliError> {
    for (name, rate) in [
        ("--failure-rate", args.failure_rate),
        ("--lost-response-rate", args.lost_response_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(CliError::Project {
                message: format!("{name} must be between 0 and 1, not {rate}"),
                help: None,
            });
        }
    }
    let schema = match &args.schema {
        Some(path) => match load_schema(path)? {
            Some(schema) => schema,
            None => return Ok(FAILURE),
        },
        None => AuroraSchema::default(),
    };
    let mut config = SimConfig::with_schema(&schema);
    config.seed = args.seed;
    config.system_code = args.system_code.clone().filter(|c| !c.is_empty());
    config.sas_signature = args.sas_signature.as_str().into();
    config.credentials = SimCredentials {
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.as_str().into(),
        username: args.username.clone(),
        password: args.password.as_str().into(),
        ..SimCredentials::default()
    };
    config.faults = Faults {
        failure_rate: args.failure_rate,
        latency_ms: args.latency_ms,
        lost_response_rate: args.lost_response_rate,
        token_lifetime_secs: args.token_lifetime,
        max_attachment_bytes: args.max_attachment_bytes,
        require_attachment_name: !args.allow_nameless_attachments,
        blob_page_size: args.page_size.max(1),
        ..Faults::default()
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::Project {
        message: format!("cannot start the async runtime: {e}"),
        help: None,
    })?;
    runtime.block_on(serve(config, SocketAddr::new(args.host, args.port), args))
}

async fn serve(config: SimConfig, addr: SocketAddr, args: &Args) -> Result<i32, CliError> {
    let handle = sim::start(config, addr)
        .await
        .map_err(|e| CliError::Project {
            message: format!("cannot listen on {addr}: {e}"),
            help: Some("choose another port with --port (0 picks a free one)".into()),
        })?;
    println!("Aurora simulator listening on {}", handle.base_url);
    println!("  identity_url   {}", handle.identity_url);
    println!("  token URL      {}", handle.token_url);
    println!("  api_url        {}", handle.api_url);
    println!("  container_url  {}", handle.container_url);
    println!(
        "  credentials    client_id {}, username {} (client secret, password and SAS sig as given, else the defaults in docs/aurora.md)",
        args.client_id, args.username
    );
    println!(
        "  admin          POST /admin/trigger, GET /admin/counts, GET|PUT /admin/faults, POST /admin/revoke-tokens"
    );
    println!("Ctrl-C stops it.");
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("cannot wait for Ctrl-C ({e}); stopping");
    }
    handle.shutdown().await;
    Ok(SUCCESS)
}

/// Loads the schema; prints its diagnostics and returns `None` when it has errors.
fn load_schema(path: &std::path::Path) -> Result<Option<AuroraSchema>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::Project {
        message: format!("cannot read `{}`: {e}", path.display()),
        help: None,
    })?;
    let mut sources = SourceMap::new();
    let file = sources.add(path.display().to_string(), text.clone());
    let (schema, diagnostics) = load_aurora(&text, file);
    if !diagnostics.is_empty() {
        let options = HumanOptions {
            action: "load the schema for `sim`",
            ..HumanOptions::default()
        };
        eprint!("{}", render::human(&diagnostics, &sources, &options));
    }
    if diagnostics.iter().any(|d| d.is_error()) {
        return Ok(None);
    }
    Ok(Some(schema))
}
