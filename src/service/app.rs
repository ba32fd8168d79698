//! The running service: the store, the compiled plans, the Aurora client, the workers, the
//! return-path poller and the HTTP API, started together and stopped together.
//!
//! [`start`] compiles the project's templates (the same path as `amap compile`; any error stops
//! the start and is reported with its diagnostics), opens the store (applying migrations), puts
//! the Aurora settings in force (those saved through the API win over `[aurora]`), then starts
//! the workers, the poller (when `[updates]` is enabled) and the HTTP server. [`RunningService`]
//! says where it listens; [`RunningService::shutdown`] stops taking requests, lets running jobs
//! finish within the grace period and closes the store. A job cut short (the process killed) is
//! taken up again after its lease by the next start.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::aurora_slot::AuroraSlot;
use super::config::ServiceConfig;
use super::flows::{Flows, FlowsConfig};
use super::http::{ApiContext, ApiLimits, router};
use super::poller::Poller;
use super::retry::RetryPolicy;
use super::settings::stored_aurora;
use super::store::{Store, StoreError};
use super::worker::{WorkerConfig, run_workers};
use crate::diagnostics::render::{self, HumanOptions};
use crate::runtime::aurora::{AuroraClient, AuroraError};
use crate::runtime::eval::PreparedBundle;
use crate::workspace;

/// Why the service did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The project could not be loaded (no `amap.toml`, an unreadable schema).
    #[error("cannot load the project: {0}")]
    Project(String),
    /// The templates have errors; `diagnostics` is the rendered report, as `amap check` prints it.
    #[error(
        "the project's templates have {errors} error(s); the service runs only a project that compiles\n{diagnostics}"
    )]
    Compile {
        /// How many errors.
        errors: usize,
        /// The diagnostics, rendered for people.
        diagnostics: String,
    },
    /// The compiled plans could not be prepared for evaluation.
    #[error("cannot prepare the compiled plans: {0}")]
    Plans(String),
    /// The store could not be opened or migrated.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// The Aurora or container settings are unusable.
    #[error("cannot use the Aurora settings: {0}")]
    Aurora(#[from] AuroraError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The configured address.
        addr: SocketAddr,
        /// The system's reason.
        source: std::io::Error,
    },
}

/// Compiles the project governing `project_dir` into prepared plans, as `amap compile` would.
pub fn compile_project(project_dir: &Path) -> Result<PreparedBundle, ServiceError> {
    let ws = workspace::load(project_dir).map_err(|e| ServiceError::Project(e.to_string()))?;
    let checked = crate::ide::project::check_workspace(&ws);
    let (errors, _) = render::tally(&checked.diagnostics);
    if errors > 0 {
        let options = HumanOptions {
            color: false,
            action: "serve",
            deny_warnings: false,
        };
        let only_errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        return Err(ServiceError::Compile {
            errors,
            diagnostics: render::human(&only_errors, &ws.sources, &options),
        });
    }
    let bundle = ws.compile(&checked);
    PreparedBundle::new(&bundle).map_err(|e| ServiceError::Plans(e.to_string()))
}

/// A started service.
pub struct RunningService {
    /// The address the HTTP API listens on (the bound port when 0 was configured).
    pub addr: SocketAddr,
    store: Store,
    plans: Arc<PreparedBundle>,
    aurora: AuroraSlot,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    workers: JoinHandle<()>,
    poller: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningService")
            .field("addr", &self.addr)
            .field("poller", &self.poller.is_some())
            .finish_non_exhaustive()
    }
}

/// Resolves once `true` is sent on the channel (or the sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Starts the service for the project in `project_dir` with `config`.
pub async fn start(
    config: ServiceConfig,
    project_dir: &Path,
) -> Result<RunningService, ServiceError> {
    let dir = project_dir.to_path_buf();
    let plans = tokio::task::spawn_blocking(move || compile_project(&dir))
        .await
        .map_err(|e| ServiceError::Plans(format!("compiling stopped: {e}")))??;
    let plans = Arc::new(plans);

    let store = Store::open(config.store.url.expose(), config.store.store_config()).await?;

    let settings = match stored_aurora(&store).await? {
        Some(saved) if saved.enabled => saved.settings,
        Some(_) => {
            tracing::info!("the Aurora integration is disabled in the saved settings");
            None
        }
        None => config.aurora.clone(),
    };
    let client = settings.map(AuroraClient::new).transpose()?;
    if client.is_none() {
        tracing::warn!(
            "no Aurora settings: jobs wait until settings are saved through PUT /v1/settings or [aurora] is configured"
        );
    }
    let aurora = AuroraSlot::new(client);

    let poller = config
        .updates
        .clone()
        .map(|updates| Poller::new(store.clone(), updates))
        .transpose()?;

    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .map_err(|source| ServiceError::Listen {
            addr: config.server.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServiceError::Listen {
            addr: config.server.listen,
            source,
        })?;

    let (stop, rx) = watch::channel(false);

    let worker_config = WorkerConfig {
        concurrency: config.server.concurrency,
        lease: config.server.lease,
        poll_interval: config.server.worker_poll_interval,
        shutdown_grace: config.server.shutdown_grace,
        retry: Arc::new(RetryPolicy::new(config.retry)),
        name: None,
    };
    let flows = Flows::new(FlowsConfig {
        store: store.clone(),
        plans: Arc::clone(&plans),
        aurora: aurora.clone(),
        connect_base_url: config.connect.base_url.clone(),
    });
    let workers = tokio::spawn(run_workers(
        store.clone(),
        worker_config,
        flows,
        stopped(rx.clone()),
    ));

    let poller = poller.map(|p| tokio::spawn(p.run(stopped(rx.clone()))));

    let app = router(ApiContext {
        store: store.clone(),
        plans: Arc::clone(&plans),
        aurora: aurora.clone(),
        api_keys: config.server.api_keys.clone(),
        limits: ApiLimits {
            max_body_bytes: config.server.max_body_bytes,
            max_attachment_bytes: usize::try_from(config.store.max_attachment_bytes)
                .unwrap_or(usize::MAX),
        },
    });
    let server_stop = stopped(rx);
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(server_stop)
            .await
        {
            tracing::error!(%error, "the HTTP server stopped");
        }
    });
    tracing::info!(%addr, poller = poller.is_some(), "service started");

    Ok(RunningService {
        addr,
        store,
        plans,
        aurora,
        stop,
        server,
        workers,
        poller,
    })
}

impl RunningService {
    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The service's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The prepared plans in use.
    pub fn plans(&self) -> &Arc<PreparedBundle> {
        &self.plans
    }

    /// The Aurora client slot in use.
    pub fn aurora(&self) -> &AuroraSlot {
        &self.aurora
    }

    /// Stops the HTTP server (letting requests in flight finish), the poller and the workers
    /// (waiting for running jobs up to the grace period), then closes the store.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.server.await {
            tracing::warn!(%error, "the HTTP server task ended abnormally");
        }
        if let Some(poller) = self.poller
            && let Err(error) = poller.await
        {
            tracing::warn!(%error, "the poller task ended abnormally");
        }
        if let Err(error) = self.workers.await {
            tracing::warn!(%error, "the worker pool ended abnormally");
        }
        self.store.close().await;
        tracing::info!("service stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::aurora::AuroraSettings;
    use crate::service::config::StoreSection;
    use crate::service::settings::{StoredAurora, save_aurora};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// The example project copied into `dir`.
    fn example_project(dir: &Path) -> std::io::Result<()> {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        for sub in ["schema", "templates"] {
            std::fs::create_dir_all(dir.join(sub))?;
            for entry in std::fs::read_dir(examples.join(sub))? {
                let entry = entry?;
                std::fs::copy(entry.path(), dir.join(sub).join(entry.file_name()))?;
            }
        }
        std::fs::write(
            dir.join("amap.toml"),
            "[project]\ntemplates = [\"templates/**/*.amap\"]\naurora_schema = \"schema/aurora.toml\"\nconnect_schema = \"schema/connect.toml\"\n",
        )
    }

    fn settings(client_id: &str) -> AuroraSettings {
        AuroraSettings::new(
            "http://127.0.0.1:9/identity",
            "http://127.0.0.1:9/api",
            client_id,
            "secret",
            "user",
            "password",
        )
    }

    fn config(dir: &Path) -> ServiceConfig {
        let mut config = ServiceConfig::new(&dir.join("amap.db"), "https://connect.example");
        config.server.listen = ([127, 0, 0, 1], 0).into();
        config.server.api_keys = vec!["app-test-key-0123456789".into()];
        config
    }

    #[tokio::test]
    async fn settings_saved_through_the_api_win_over_the_file() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        example_project(dir.path())?;
        let mut config = config(dir.path());
        config.aurora = Some(settings("from-the-file"));

        let service = start(config.clone(), dir.path()).await?;
        let client = service.aurora().get().ok_or("no client from the file")?;
        assert_eq!(client.settings().client_id, "from-the-file");
        assert!(service.plans().template_id("Pothole report").is_some());
        let health = reqwest::get(format!("{}/healthz", service.base_url())).await?;
        assert_eq!(health.status().as_u16(), 200);
        let store = service.store().clone();
        save_aurora(
            &store,
            &StoredAurora {
                enabled: true,
                settings: Some(settings("saved")),
            },
        )
        .await?;
        service.shutdown().await;

        let service = start(config.clone(), dir.path()).await?;
        let client = service.aurora().get().ok_or("no client from the store")?;
        assert_eq!(client.settings().client_id, "saved");
        save_aurora(
            service.store(),
            &StoredAurora {
                enabled: false,
                settings: Some(settings("saved")),
            },
        )
        .await?;
        service.shutdown().await;

        // Disabled through the API: no client, even though the file has settings.
        let service = start(config, dir.path()).await?;
        assert!(service.aurora().get().is_none());
        service.shutdown().await;
        Ok(())
    }

    #[tokio::test]
    async fn a_project_with_errors_or_a_bad_store_does_not_start() -> TestResult {
        let dir = tempfile::TempDir::new()?;
        example_project(dir.path())?;
        std::fs::write(
            dir.path().join("templates/broken.amap"),
            "incoming \"Broken\" for ref.aurora_case {\n    field.no_such_field = aurora.Date\n}\n",
        )?;
        match start(config(dir.path()), dir.path()).await {
            Err(ServiceError::Compile {
                errors,
                diagnostics,
            }) => {
                assert!(errors >= 1);
                assert!(
                    diagnostics.contains("templates/broken.amap:2"),
                    "{diagnostics}"
                );
            }
            other => return Err(format!("expected a compile error, got {other:?}").into()),
        }
        std::fs::remove_file(dir.path().join("templates/broken.amap"))?;

        let mut bad_store = config(dir.path());
        bad_store.store = StoreSection {
            url: "mysql://db/amap".into(),
            ..StoreSection::sqlite(&dir.path().join("x.db"))
        };
        let result = start(bad_store, dir.path()).await;
        assert!(matches!(result, Err(ServiceError::Store(_))), "{result:?}");

        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut busy = config(dir.path());
        busy.server.listen = taken.local_addr()?;
        let result = start(busy, dir.path()).await;
        assert!(
            matches!(result, Err(ServiceError::Listen { .. })),
            "{result:?}"
        );
        Ok(())
    }
}
