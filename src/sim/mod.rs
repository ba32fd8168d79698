//! A local stand-in for Symology Aurora: the token endpoint, the Cases API calls the client
//! makes, and an Azure-style blob container of return-path snapshots, with faults on demand.
//!
//! Used by tests, benchmarks and the demo. Behaviour that the real Aurora does not publish
//! (error bodies, limits, the case lookup, the System Code placement) follows the conventions
//! listed in `docs/aurora.md` and is marked *unverified* there and in the code.
//!
//! Endpoints (all under the bound address):
//! - `POST /identity/connect/token` — OAuth2 password grant;
//! - `/api/…` — the Cases API (`Cases/Contact`, `Cases/Contact/CreateContact`, `Attachments`,
//!   `Cases/Case/CreateCase`, `Cases/Case/AddNote`, `Cases/Case/FindByExternalReference`,
//!   `Cases/Case/{caseNumber}`), optionally behind a System Code path segment;
//! - `GET /blob/{container}?{sas}&restype=container&comp=list`, `GET /blob/{container}/{name}?{sas}`;
//! - `/admin/…` — triggers, counts, faults, token revocation, inspection.

mod admin;
mod api;
mod blobs;
mod identity;
mod problem;
mod rules;
mod state;

pub use rules::{CaseRules, FieldRule, UdfRule};
pub use state::{SimCounts, TriggerRequest};

use crate::runtime::aurora::returns::BlobContainerSettings;
use crate::runtime::aurora::{AuroraSettings, DEFAULT_SCOPE, Secret, SystemCodeIn};
use crate::schema::AuroraSchema;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// The credentials the simulated identity service accepts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    pub username: String,
    pub password: Secret,
    pub scope: String,
}

impl Default for SimCredentials {
    fn default() -> Self {
        SimCredentials {
            client_id: "amap-sim".into(),
            client_secret: Secret::new("sim-client-secret"),
            username: "sim-user".into(),
            password: Secret::new("sim-password"),
            scope: DEFAULT_SCOPE.into(),
        }
    }
}

/// Faults and limits, changeable at run time (`PUT /admin/faults`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share of Cases API and token calls answered 503 (0..=1).
    pub failure_rate: f64,
    /// Delay before every Cases API and token answer.
    pub latency_ms: u64,
    /// Share of committing calls (create contact, upload, CreateCase, AddNote) whose answer is
    /// dropped after the change is made: the connection hangs until the client gives up.
    pub lost_response_rate: f64,
    /// `expires_in` of granted tokens; the simulator refuses a token after it (401).
    pub token_lifetime_secs: u64,
    /// Larger uploads get 413 (the real limit is unverified).
    pub max_attachment_bytes: usize,
    /// Content types accepted for upload; empty accepts all (others get 415; unverified).
    pub allowed_content_types: Vec<String>,
    /// An attachment listed without `name` fails the call (400) instead of being dropped.
    pub require_attachment_name: bool,
    /// Blobs per listing page (Azure's is 5000; small here so that paging is exercised).
    pub blob_page_size: usize,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            failure_rate: 0.0,
            latency_ms: 0,
            lost_response_rate: 0.0,
            token_lifetime_secs: 3600,
            max_attachment_bytes: 10 * 1024 * 1024,
            allowed_content_types: [
                "application/pdf",
                "image/jpeg",
                "image/png",
                "image/gif",
                "text/plain",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            require_attachment_name: true,
            blob_page_size: 2,
        }
    }
}

/// A partial change of [`Faults`] (the body of `PUT /admin/faults`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultsUpdate {
    pub failure_rate: Option<f64>,
    pub latency_ms: Option<u64>,
    pub lost_response_rate: Option<f64>,
    pub token_lifetime_secs: Option<u64>,
    pub max_attachment_bytes: Option<usize>,
    pub allowed_content_types: Option<Vec<String>>,
    pub require_attachment_name: Option<bool>,
    pub blob_page_size: Option<usize>,
}

impl Faults {
    /// Applies an update; an out-of-range value leaves everything unchanged.
    pub fn apply(&mut self, update: &FaultsUpdate) -> Result<(), String> {
        let mut next = self.clone();
        let rate = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{name} must be between 0 and 1"))
            }
        };
        if let Some(v) = update.failure_rate {
            next.failure_rate = rate("failure_rate", v)?;
        }
        if let Some(v) = update.lost_response_rate {
            next.lost_response_rate = rate("lost_response_rate", v)?;
        }
        if let Some(v) = update.latency_ms {
            next.latency_ms = v;
        }
        if let Some(v) = update.token_lifetime_secs {
            next.token_lifetime_secs = v;
        }
        if let Some(v) = update.max_attachment_bytes {
            next.max_attachment_bytes = v;
        }
        if let Some(v) = &update.allowed_content_types {
            next.allowed_content_types = v.clone();
        }
        if let Some(v) = update.require_attachment_name {
            next.require_attachment_name = v;
        }
        if let Some(v) = update.blob_page_size {
            if v == 0 {
                return Err("blob_page_size must be at least 1".into());
            }
            next.blob_page_size = v;
        }
        *self = next;
        Ok(())
    }
}

/// Everything the simulator is started with.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seeds the random faults, tokens and ids: the same seed and the same calls give the same
    /// answers.
    pub seed: u64,
    pub credentials: SimCredentials,
    pub faults: Faults,
    /// CreateCase and CreateContact validation (from an Aurora schema).
    pub rules: CaseRules,
    /// When set, every Cases API call must carry it: header `X-System-Code`, query
    /// `systemCode`, or a leading path segment (unverified).
    pub system_code: Option<String>,
    /// Serve `GET Cases/Case/FindByExternalReference?externalReference=` (unverified).
    pub lookup_by_reference: bool,
    /// Serve `GET Cases/Case/{caseNumber}` (unverified read-back).
    pub read_back: bool,
    /// Contacts present at start (each gets an `id` unless it has one).
    pub contacts: Vec<Value>,
    pub container_name: String,
    /// The `sig` a SAS must carry.
    pub sas_signature: Secret,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            credentials: SimCredentials::default(),
            faults: Faults::default(),
            rules: CaseRules::default(),
            system_code: None,
            lookup_by_reference: true,
            read_back: true,
            contacts: Vec::new(),
            container_name: "snapshots".into(),
            sas_signature: Secret::new("sim-signature"),
        }
    }
}

impl SimConfig {
    /// The default configuration validating against `schema`.
    pub fn with_schema(schema: &AuroraSchema) -> SimConfig {
        SimConfig {
            rules: CaseRules::from_schema(schema),
            ..SimConfig::default()
        }
    }

    /// The SAS query string the container accepts.
    pub fn sas(&self) -> String {
        format!(
            "sv=2021-08-06&sr=c&sp=rl&se=2099-12-31T00%3A00%3A00Z&sig={}",
            self.sas_signature.expose()
        )
    }
}

/// A running simulator. Dropping it stops the server; [`SimHandle::shutdown`] also waits.
pub struct SimHandle {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// Base URL of the identity service (the token path is `/connect/token` under it).
    pub identity_url: String,
    pub token_url: String,
    /// Base URL of the Cases API.
    pub api_url: String,
    /// The blob container URL, without a query.
    pub container_url: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Starts the simulator on `addr` (port 0 picks a free port).
pub async fn start(config: SimConfig, addr: SocketAddr) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let shared = Arc::new(Shared::new(config, stopped.clone()));
    let app = router(shared.clone());
    let mut wait = stopped;
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = wait.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("simulator stopped: {e}");
        }
    });
    let base_url = format!("http://{addr}");
    let container_url = format!("{base_url}/blob/{}", shared.config.container_name);
    Ok(SimHandle {
        addr,
        identity_url: format!("{base_url}/identity"),
        token_url: format!("{base_url}/identity/connect/token"),
        api_url: format!("{base_url}/api"),
        container_url,
        base_url,
        shared,
        stop,
        task: Some(task),
    })
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(identity::routes())
        .merge(api::routes())
        .merge(blobs::routes())
        .merge(admin::routes())
        .with_state(shared)
}

impl SimHandle {
    /// Client settings that reach this simulator with its credentials.
    pub fn aurora_settings(&self) -> AuroraSettings {
        let c = &self.shared.config.credentials;
        let mut s = AuroraSettings::new(
            self.identity_url.clone(),
            self.api_url.clone(),
            c.client_id.clone(),
            c.client_secret.clone(),
            c.username.clone(),
            c.password.clone(),
        );
        s.scope = c.scope.clone();
        if let Some(code) = &self.shared.config.system_code {
            s.system_code = Some(code.clone());
            s.system_code_in = SystemCodeIn::Header;
        }
        if self.shared.config.lookup_by_reference {
            s.lookup_by_reference_path =
                Some("Cases/Case/FindByExternalReference?externalReference=".into());
        }
        if self.shared.config.read_back {
            s.read_back_path = Some("Cases/Case/{caseNumber}".into());
        }
        s
    }

    /// Settings for reading this simulator's snapshot container.
    pub fn blob_settings(&self) -> BlobContainerSettings {
        BlobContainerSettings::new(self.container_url.clone(), self.shared.config.sas())
    }

    /// The SAS query string of the container.
    pub fn sas(&self) -> Secret {
        Secret::new(self.shared.config.sas())
    }

    pub fn counts(&self) -> SimCounts {
        self.shared.counts()
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    pub fn update_faults(&self, update: &FaultsUpdate) -> Result<Faults, String> {
        self.shared.update_faults(update)
    }

    /// Makes every issued token invalid: the next Cases API call gets 401.
    pub fn revoke_tokens(&self) {
        self.shared.revoke_tokens();
    }

    /// Writes a snapshot blob for a case, as Aurora does on a trigger; returns the blob name.
    pub fn trigger(&self, request: TriggerRequest) -> Result<String, String> {
        self.shared.trigger(request).map(|(name, _)| name)
    }

    /// Writes a blob as given (for odd names and bodies).
    pub fn put_blob(&self, name: &str, body: Vec<u8>) {
        self.shared.put_blob(name, body);
    }

    /// A stored case: `{caseNumber, body, notes}`.
    pub fn case(&self, case_number: &str) -> Option<Value> {
        self.shared.case_json(case_number)
    }

    /// A stored attachment: `{id, fileName, contentType, size}`.
    pub fn attachment(&self, id: &str) -> Option<Value> {
        self.shared.attachment_json(id)
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
