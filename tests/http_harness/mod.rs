//! A running API for the HTTP tests: the router served on 127.0.0.1 (ephemeral port) over a
//! temporary SQLite file, with the plans compiled from `examples/`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amap::runtime::aurora::Secret;
use amap::runtime::eval::PreparedBundle;
use amap::service::aurora_slot::AuroraSlot;
use amap::service::http::{ApiContext, ApiLimits, router};
use amap::service::store::{Store, StoreConfig};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// The key the test server accepts.
pub const KEY: &str = "test-api-key-0123456789";
/// A second accepted key.
pub const OTHER_KEY: &str = "second-key-abcdef";

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The plans of the example project.
pub fn plans() -> Arc<PreparedBundle> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let ws = amap::workspace::load(&dir).expect("the example project loads");
    let checked = ws.check();
    assert_eq!(checked.error_count(), 0, "{:?}", checked.diagnostics);
    let bundle = ws.compile(&checked);
    Arc::new(PreparedBundle::new(&bundle).expect("the example plans prepare"))
}

/// A served API.
pub struct Api {
    pub base: String,
    pub store: Store,
    pub aurora: AuroraSlot,
    pub db_path: PathBuf,
    pub limits: ApiLimits,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: TempDir,
}

/// Limits small enough that oversize bodies are cheap to send.
pub fn small_limits() -> ApiLimits {
    ApiLimits {
        max_body_bytes: 64 * 1024,
        max_attachment_bytes: 128 * 1024,
    }
}

impl Api {
    /// Serves the API with the example plans, `limits` and an empty Aurora slot.
    pub async fn start(limits: ApiLimits) -> Api {
        Api::start_with(limits, AuroraSlot::default()).await
    }

    pub async fn start_with(limits: ApiLimits, aurora: AuroraSlot) -> Api {
        amap::runtime::aurora::install_crypto_provider();
        let dir = tempfile::tempdir().expect("tempdir");
        let db_path = dir.path().join("amap.db");
        let store = Store::open_sqlite(&db_path, StoreConfig::default())
            .await
            .expect("store");
        let ctx = ApiContext {
            store: store.clone(),
            plans: plans(),
            aurora: aurora.clone(),
            api_keys: vec![Secret::new(KEY), Secret::new(OTHER_KEY)],
            limits: limits.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(ctx);
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
        });
        Api {
            base: format!("http://{addr}"),
            store,
            aurora,
            db_path,
            limits,
            client: reqwest::Client::new(),
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the API key.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(KEY)
    }

    /// Stops the server and closes the store.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.store.close().await;
    }
}

/// Every row of every table of the SQLite file, as text, for before/after comparisons.
pub async fn dump(db_path: &Path) -> Vec<String> {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", db_path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open the store file read-only");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables");
    let mut rows = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{table}')"
        )))
        .fetch_all(&mut conn)
        .await
        .expect("columns");
        let quoted: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
        let sql = format!(
            "SELECT {} FROM \"{table}\" ORDER BY rowid",
            quoted.join(" || '|' || ")
        );
        let values: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await
            .expect("rows");
        rows.extend(values.into_iter().map(|v| format!("{table}: {v}")));
    }
    conn.close().await.expect("close");
    rows
}
