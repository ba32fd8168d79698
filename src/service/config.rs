//! The service's configuration: the tables of `amap.toml` besides `[project]`.
//!
//! ```toml
//! [aurora]    # the Aurora tenant (settings saved through the API win over this table)
//! [updates]   # the return-path blob container and how it is polled
//! [store]     # SQLite file (default `amap.db` beside amap.toml) or postgres://…
//! [server]    # listen address, API keys, body limit, workers
//! [retry]     # transient failures: attempts and backoff
//! [connect]   # base URL of Connect, for links to attachments Aurora refused
//! ```
//!
//! Every key is checked and every problem reported at once, each naming its key
//! (`[aurora].client_secret: environment variable AURORA_SECRET is not set`) and its line. Unknown
//! keys are errors. A secret (client secret, password, SAS token, API key, a database URL with a
//! password) is written `"literal"` (accepted, with a warning), `{ env = "NAME" }` or
//! `{ file = "path" }` (relative to `amap.toml`; one trailing newline is dropped).
//!
//! `docs/service.md` lists every key with its default.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Value;

use super::retry::{Jitter, RetryConfig};
use super::store::{SqliteSync, StoreConfig};
use crate::runtime::aurora::returns::BlobContainerSettings;
use crate::runtime::aurora::{AuroraSettings, Secret, SystemCodeIn};
use crate::schema::SERVICE_TABLES;

/// Default listen address of `[server]`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8480";
/// Default SQLite file, beside `amap.toml`.
pub const DEFAULT_STORE_FILE: &str = "amap.db";

/// The whole service configuration.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// `[aurora]`, when present. Settings saved through the API are used instead when there are
    /// some.
    pub aurora: Option<AuroraSettings>,
    /// `[updates]`, when present and enabled: the return-path poller runs.
    pub updates: Option<UpdatesConfig>,
    /// `[store]`.
    pub store: StoreSection,
    /// `[server]`.
    pub server: ServerConfig,
    /// `[retry]`.
    pub retry: RetryConfig,
    /// `[connect]`.
    pub connect: ConnectConfig,
    /// Things accepted but worth changing (literal secrets in the file).
    pub warnings: Vec<ConfigProblem>,
}

/// `[updates]`: the return-path poller.
#[derive(Clone, Debug)]
pub struct UpdatesConfig {
    /// The container and its SAS token.
    pub container: BlobContainerSettings,
    /// Time between polls.
    pub poll_interval: Duration,
    /// Each poll lists the blobs written from `window` before the end of the previous poll up to
    /// now (late blobs are caught; names already processed are skipped).
    pub window: Duration,
    /// After a long stop, the poller looks back at most this far.
    pub max_catch_up: Duration,
    /// Listing pages followed per prefix and poll (a guard against a container that never ends).
    pub max_pages: u32,
}

/// `[store]`.
#[derive(Clone, Debug)]
pub struct StoreSection {
    /// `postgres://…`, `sqlite://PATH` or an SQLite path (relative paths resolved against the
    /// folder of `amap.toml`). A secret: a PostgreSQL URL may hold a password.
    pub url: Secret,
    /// Largest attachment accepted, in bytes.
    pub max_attachment_bytes: u64,
    /// Connections in the pool (on SQLite, those that read; one more writes).
    pub max_connections: u32,
    /// How long an SQLite connection waits for another writer's lock.
    pub busy_timeout: Duration,
    /// When an SQLite commit reaches the disk (`synchronous = "full"` or `"normal"`).
    pub sqlite_sync: SqliteSync,
}

impl StoreSection {
    /// The store options.
    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            max_attachment_bytes: self.max_attachment_bytes,
            max_connections: self.max_connections,
            busy_timeout: self.busy_timeout,
            sqlite_sync: self.sqlite_sync,
        }
    }

    /// An SQLite file with the default options.
    pub fn sqlite(path: &Path) -> StoreSection {
        let defaults = StoreConfig::default();
        StoreSection {
            url: Secret::new(path.display().to_string()),
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
            max_connections: defaults.max_connections,
            busy_timeout: defaults.busy_timeout,
            sqlite_sync: defaults.sqlite_sync,
        }
    }
}

/// `[server]`: the HTTP API and the workers.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where the API listens (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Bearer keys the API accepts.
    pub api_keys: Vec<Secret>,
    /// Largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// How long a worker holds a job without renewing its lease; a job of a killed process is
    /// taken up again after it.
    pub lease: Duration,
    /// How long a shutdown waits for running jobs.
    pub shutdown_grace: Duration,
    /// Longest idle wait of a worker before it looks for due jobs again.
    pub worker_poll_interval: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            api_keys: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            concurrency: 4,
            lease: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(30),
            worker_poll_interval: Duration::from_secs(1),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8480))
}

/// `[connect]`.
#[derive(Clone, Debug)]
pub struct ConnectConfig {
    /// Base URL of Connect, without a trailing `/` (links to attachments Aurora refused).
    pub base_url: String,
}

const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

impl ServiceConfig {
    /// A configuration with every default, an SQLite file and no Aurora or poller: what a test or
    /// the demo starts from.
    pub fn new(store: &Path, connect_base_url: &str) -> ServiceConfig {
        ServiceConfig {
            aurora: None,
            updates: None,
            store: StoreSection::sqlite(store),
            server: ServerConfig::default(),
            retry: RetryConfig::default(),
            connect: ConnectConfig {
                base_url: connect_base_url.trim_end_matches('/').to_owned(),
            },
            warnings: Vec::new(),
        }
    }

    /// Reads the service tables of the `amap.toml` at `path`, secrets from the process
    /// environment.
    pub fn load(path: &Path) -> Result<ServiceConfig, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            problems: vec![ConfigProblem {
                location: path.display().to_string(),
                key: String::new(),
                message: format!("cannot read the file: {e}"),
            }],
        })?;
        let env = |name: &str| std::env::var(name).ok();
        ServiceConfig::parse(&text, path, &env)
    }

    /// Reads the service tables of `text`, the content of the `amap.toml` at `path` (named in
    /// messages; relative paths are resolved against its folder), looking secrets up with `env`.
    pub fn parse(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ServiceConfig, ConfigErrors> {
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut cx = Cx {
            file: path.display().to_string(),
            lines: HashMap::new(),
            env,
            base,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let doc = match text.parse::<toml::Table>() {
            Ok(doc) => doc,
            Err(e) => {
                let line = e
                    .span()
                    .map(|s| line_of(text, s.start))
                    .map(|l| format!(":{l}"))
                    .unwrap_or_default();
                return Err(ConfigErrors {
                    problems: vec![ConfigProblem {
                        location: format!("{}{line}", cx.file),
                        key: String::new(),
                        message: format!("not valid TOML: {}", e.message().trim()),
                    }],
                });
            }
        };
        if let Ok(spanned) = toml::de::DeTable::parse(text) {
            collect_lines(text, spanned.get_ref(), "", &mut cx.lines);
        }
        for key in doc.keys() {
            if key != "project" && !SERVICE_TABLES.contains(&key.as_str()) {
                let known: Vec<&str> = std::iter::once("project")
                    .chain(SERVICE_TABLES.iter().copied())
                    .collect();
                let hint = if key == "workers" {
                    "; the workers are configured in [server] (`concurrency`, `lease_seconds`)"
                        .to_owned()
                } else {
                    suggestion(key, &known)
                };
                cx.error(&format!("[{key}]"), format!("unknown table{hint}"));
            }
        }

        let aurora = doc
            .get("aurora")
            .and_then(|v| cx.table_of("aurora", v))
            .and_then(|t| read_aurora(&mut cx, t));
        let updates = match doc.get("updates") {
            Some(v) => cx
                .table_of("updates", v)
                .and_then(|t| read_updates(&mut cx, t)),
            None => None,
        };
        let empty = toml::Table::new();
        let t = section(&mut cx, &doc, &empty, "store");
        let store = read_store(&mut cx, t);
        let t = section(&mut cx, &doc, &empty, "server");
        let server = read_server(&mut cx, t);
        let t = section(&mut cx, &doc, &empty, "retry");
        let retry = read_retry(&mut cx, t);
        let t = section(&mut cx, &doc, &empty, "connect");
        let connect = read_connect(&mut cx, t);

        if !cx.errors.is_empty() {
            let mut problems = cx.errors;
            problems.sort_by_key(|p| p.sort_key());
            return Err(ConfigErrors { problems });
        }
        match (store, server, connect) {
            (Some(store), Some(server), Some(connect)) => Ok(ServiceConfig {
                aurora,
                updates,
                store,
                server,
                retry,
                connect,
                warnings: cx.warnings,
            }),
            // Every `None` above reported an error.
            _ => Err(ConfigErrors {
                problems: vec![ConfigProblem {
                    location: cx.file,
                    key: String::new(),
                    message: "the configuration is incomplete".into(),
                }],
            }),
        }
    }
}

/// One configuration problem: where, which key, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// `path/amap.toml:12` (the line when known).
    pub location: String,
    /// `[aurora].client_secret`; empty for a problem of the whole file.
    pub key: String,
    /// What is wrong, in words.
    pub message: String,
}

impl ConfigProblem {
    fn sort_key(&self) -> (usize, String) {
        let line = self
            .location
            .rsplit_once(':')
            .and_then(|(_, l)| l.parse().ok())
            .unwrap_or(usize::MAX);
        (line, self.key.clone())
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.location, self.message)
        } else {
            write!(f, "{}: {}: {}", self.location, self.key, self.message)
        }
    }
}

/// Every problem of a configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// In file order.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------ reading

struct Cx<'e> {
    file: String,
    /// `[aurora].client_secret` → line.
    lines: HashMap<String, usize>,
    env: &'e dyn Fn(&str) -> Option<String>,
    base: PathBuf,
    errors: Vec<ConfigProblem>,
    warnings: Vec<ConfigProblem>,
}

impl Cx<'_> {
    fn problem(&self, key: &str, message: String) -> ConfigProblem {
        let location = match self.line(key) {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        };
        ConfigProblem {
            location,
            key: key.to_owned(),
            message,
        }
    }

    /// The line of `key`, else of the nearest enclosing key that has one.
    fn line(&self, key: &str) -> Option<usize> {
        let mut k = key;
        loop {
            if let Some(line) = self.lines.get(k) {
                return Some(*line);
            }
            k = &k[..k.rfind('.')?];
        }
    }

    fn error(&mut self, key: &str, message: impl Into<String>) {
        let p = self.problem(key, message.into());
        self.errors.push(p);
    }

    fn warn(&mut self, key: &str, message: impl Into<String>) {
        let p = self.problem(key, message.into());
        self.warnings.push(p);
    }

    fn table_of<'v>(&mut self, name: &str, value: &'v Value) -> Option<&'v toml::Table> {
        match value {
            Value::Table(t) => Some(t),
            other => {
                self.error(
                    &format!("[{name}]"),
                    format!("must be a table, not {}", kind(other)),
                );
                None
            }
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Records the line of every key: `[table].key`, `[table].key.sub`.
fn collect_lines(
    text: &str,
    table: &toml::de::DeTable<'_>,
    prefix: &str,
    out: &mut HashMap<String, usize>,
) {
    for (key, value) in table {
        let name: &str = key.get_ref().as_ref();
        let path = if prefix.is_empty() {
            format!("[{name}]")
        } else {
            format!("{prefix}.{name}")
        };
        out.insert(path.clone(), line_of(text, key.span().start));
        if let toml::de::DeValue::Table(inner) = value.get_ref() {
            collect_lines(text, inner, &path, out);
        }
    }
}

/// The table `name` of the document (empty when absent or not a table, the latter reported).
fn section<'t>(
    cx: &mut Cx,
    doc: &'t toml::Table,
    empty: &'t toml::Table,
    name: &'static str,
) -> Table<'t> {
    let map = match doc.get(name) {
        Some(v) => cx.table_of(name, v).unwrap_or(empty),
        None => empty,
    };
    Table::new(name, map)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn suggestion(given: &str, known: &[&str]) -> String {
    let close = known
        .iter()
        .filter(|k| **k != given)
        .map(|k| (strsim::damerau_levenshtein(given, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(1))
        .min();
    match close {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!("; expected one of {}", list.join(", "))
        }
    }
}

/// A table being read: remembers the keys read so that the rest are reported as unknown.
struct Table<'t> {
    name: &'static str,
    map: &'t toml::Table,
    known: BTreeSet<&'static str>,
}

impl<'t> Table<'t> {
    fn new(name: &'static str, map: &'t toml::Table) -> Table<'t> {
        Table {
            name,
            map,
            known: BTreeSet::new(),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("[{}].{key}", self.name)
    }

    fn get(&mut self, key: &'static str) -> Option<&'t Value> {
        self.known.insert(key);
        self.map.get(key)
    }

    /// Reports every key not read.
    fn finish(self, cx: &mut Cx) {
        let known: Vec<&str> = self.known.iter().copied().collect();
        for key in self.map.keys() {
            if !self.known.contains(key.as_str()) {
                cx.error(
                    &self.key(key),
                    format!("unknown key{}", suggestion(key, &known)),
                );
            }
        }
    }

    fn string(&mut self, cx: &mut Cx, key: &'static str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) if s.trim().is_empty() => {
                cx.error(&self.key(key), "must not be empty");
                None
            }
            Value::String(s) => Some(s.clone()),
            other => {
                cx.error(
                    &self.key(key),
                    format!("must be a string, not {}", kind(other)),
                );
                None
            }
        }
    }

    fn required_string(&mut self, cx: &mut Cx, key: &'static str, example: &str) -> Option<String> {
        if !self.map.contains_key(key) {
            self.known.insert(key);
            cx.error(
                &format!("[{}]", self.name),
                format!("`{key}` is missing (for example `{key} = {example}`)"),
            );
            return None;
        }
        self.string(cx, key)
    }

    fn url(&mut self, cx: &mut Cx, key: &'static str, required: bool) -> Option<String> {
        let example = "\"https://…\"";
        let text = if required {
            self.required_string(cx, key, example)?
        } else {
            self.string(cx, key)?
        };
        match reqwest::Url::parse(&text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                if url.query().is_some() {
                    cx.error(&self.key(key), "must not have a query (`?…`)");
                    return None;
                }
                Some(text.trim_end_matches('/').to_owned())
            }
            Ok(url) => {
                cx.error(
                    &self.key(key),
                    format!(
                        "must be an http:// or https:// URL, not {}://",
                        url.scheme()
                    ),
                );
                None
            }
            Err(e) => {
                cx.error(&self.key(key), format!("{text:?} is not a URL: {e}"));
                None
            }
        }
    }

    fn boolean(&mut self, cx: &mut Cx, key: &'static str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(other) => {
                cx.error(
                    &self.key(key),
                    format!("must be true or false, not {}", kind(other)),
                );
                default
            }
        }
    }

    /// A whole number in `min..=max`.
    fn integer(&mut self, cx: &mut Cx, key: &'static str, default: u64, min: u64, max: u64) -> u64 {
        match self.get(key) {
            None => default,
            Some(Value::Integer(n)) => match u64::try_from(*n) {
                Ok(n) if (min..=max).contains(&n) => n,
                _ => {
                    cx.error(
                        &self.key(key),
                        format!("must be between {min} and {max}, not {n}"),
                    );
                    default
                }
            },
            Some(other) => {
                cx.error(
                    &self.key(key),
                    format!("must be a whole number, not {}", kind(other)),
                );
                default
            }
        }
    }

    fn number(&mut self, cx: &mut Cx, key: &'static str, default: f64, min: f64, max: f64) -> f64 {
        let value = match self.get(key) {
            None => return default,
            Some(Value::Integer(n)) => *n as f64,
            Some(Value::Float(x)) => *x,
            Some(other) => {
                cx.error(
                    &self.key(key),
                    format!("must be a number, not {}", kind(other)),
                );
                return default;
            }
        };
        if value.is_finite() && (min..=max).contains(&value) {
            value
        } else {
            cx.error(
                &self.key(key),
                format!("must be between {min} and {max}, not {value}"),
            );
            default
        }
    }

    fn secret(&mut self, cx: &mut Cx, key: &'static str) -> Option<Secret> {
        let value = self.get(key)?;
        let name = self.key(key);
        read_secret(cx, &name, value)
    }

    fn required_secret(&mut self, cx: &mut Cx, key: &'static str) -> Option<Secret> {
        if !self.map.contains_key(key) {
            self.known.insert(key);
            cx.error(
                &format!("[{}]", self.name),
                format!("`{key}` is missing (for example `{key} = {{ env = \"NAME\" }}`)"),
            );
            return None;
        }
        self.secret(cx, key)
    }
}

const SECRET_FORMS: &str = "a secret is `{ env = \"NAME\" }`, `{ file = \"path\" }` or a string";

/// A secret: `"literal"` (with a warning), `{ env = "NAME" }` or `{ file = "path" }`. The value
/// never appears in a message.
fn read_secret(cx: &mut Cx, key: &str, value: &Value) -> Option<Secret> {
    match value {
        Value::String(s) if s.is_empty() => {
            cx.error(key, "must not be empty");
            None
        }
        Value::String(s) => {
            cx.warn(
                key,
                "a secret written in the file; prefer `{ env = \"NAME\" }` or `{ file = \"path\" }`",
            );
            Some(Secret::new(s.clone()))
        }
        Value::Table(t) => {
            let mut bad = false;
            for k in t.keys() {
                if k != "env" && k != "file" {
                    cx.error(
                        &format!("{key}.{k}"),
                        format!("unknown key{}", suggestion(k, &["env", "file"])),
                    );
                    bad = true;
                }
            }
            match (t.get("env"), t.get("file")) {
                (Some(_), Some(_)) => {
                    cx.error(key, "give either `env` or `file`, not both");
                    None
                }
                (Some(Value::String(name)), None) if !bad => match (cx.env)(name) {
                    None => {
                        cx.error(key, format!("environment variable {name} is not set"));
                        None
                    }
                    Some(v) if v.is_empty() => {
                        cx.error(key, format!("environment variable {name} is empty"));
                        None
                    }
                    Some(v) => Some(Secret::new(v)),
                },
                (None, Some(Value::String(path))) if !bad => {
                    let full = if cx.base == Path::new(".") {
                        PathBuf::from(path)
                    } else {
                        cx.base.join(path)
                    };
                    match std::fs::read_to_string(&full) {
                        Err(e) => {
                            cx.error(key, format!("cannot read `{}`: {e}", full.display()));
                            None
                        }
                        Ok(text) => {
                            let v = text
                                .strip_suffix('\n')
                                .map(|t| t.strip_suffix('\r').unwrap_or(t))
                                .unwrap_or(&text);
                            if v.is_empty() {
                                cx.error(key, format!("`{}` is empty", full.display()));
                                None
                            } else {
                                Some(Secret::new(v))
                            }
                        }
                    }
                }
                (Some(other), None) if !bad => {
                    cx.error(
                        &format!("{key}.env"),
                        format!("must be the name of a variable, not {}", kind(other)),
                    );
                    None
                }
                (None, Some(other)) if !bad => {
                    cx.error(
                        &format!("{key}.file"),
                        format!("must be a path, not {}", kind(other)),
                    );
                    None
                }
                (None, None) if !bad => {
                    cx.error(key, SECRET_FORMS);
                    None
                }
                _ => None,
            }
        }
        other => {
            cx.error(key, format!("{SECRET_FORMS}, not {}", kind(other)));
            None
        }
    }
}

fn read_aurora(cx: &mut Cx, map: &toml::Table) -> Option<AuroraSettings> {
    let mut t = Table::new("aurora", map);
    let identity_url = t.url(cx, "identity_url", true);
    let api_url = t.url(cx, "api_url", true);
    let client_id = t.required_string(cx, "client_id", "\"…\"");
    let client_secret = t.required_secret(cx, "client_secret");
    let username = t.required_string(cx, "username", "\"…\"");
    let password = t.required_secret(cx, "password");
    let token_path = t.string(cx, "token_path");
    let scope = t.string(cx, "scope");
    let system_code = t.string(cx, "system_code");
    let system_code_in = match t.get("system_code_in") {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "header" => Some(SystemCodeIn::Header),
            "query" => Some(SystemCodeIn::Query),
            "path" => Some(SystemCodeIn::Path),
            "none" => Some(SystemCodeIn::None),
            other => {
                cx.error(
                    &t.key("system_code_in"),
                    format!(
                        "must be \"header\", \"query\", \"path\" or \"none\", not {other:?}{}",
                        suggestion(other, &["header", "query", "path", "none"])
                            .split(';')
                            .next()
                            .unwrap_or_default()
                    ),
                );
                None
            }
        },
        Some(other) => {
            cx.error(
                &t.key("system_code_in"),
                format!("must be a string, not {}", kind(other)),
            );
            None
        }
    };
    let system_code_name = t.string(cx, "system_code_name");
    let connect_timeout_ms = t.integer(cx, "connect_timeout_ms", 10_000, 1, 600_000);
    let request_timeout_ms = t.integer(cx, "request_timeout_ms", 60_000, 1, 3_600_000);
    let token_skew_seconds = t.integer(cx, "token_skew_seconds", 60, 0, 3600);
    let lookup_by_reference_path = t.string(cx, "lookup_by_reference_path");
    let read_back_path = t.string(cx, "read_back_path");
    if system_code.is_none() && matches!(system_code_in, Some(w) if w != SystemCodeIn::None) {
        cx.error(
            &t.key("system_code_in"),
            "says where the System Code goes, but `system_code` is not set",
        );
    }
    t.finish(cx);
    let mut s = AuroraSettings::new(
        identity_url?,
        api_url?,
        client_id?,
        client_secret?,
        username?,
        password?,
    );
    if let Some(p) = token_path {
        s.token_path = p;
    }
    if let Some(scope) = scope {
        s.scope = scope;
    }
    s.system_code_in = match (&system_code, system_code_in) {
        (_, Some(w)) => w,
        // A code given without a placement goes in the conventional header.
        (Some(_), None) => SystemCodeIn::Header,
        (None, None) => SystemCodeIn::None,
    };
    s.system_code = system_code;
    s.system_code_name = system_code_name;
    s.connect_timeout_ms = connect_timeout_ms;
    s.request_timeout_ms = request_timeout_ms;
    s.token_skew_seconds = token_skew_seconds;
    s.lookup_by_reference_path = lookup_by_reference_path;
    s.read_back_path = read_back_path;
    Some(s)
}

fn read_updates(cx: &mut Cx, map: &toml::Table) -> Option<UpdatesConfig> {
    let mut t = Table::new("updates", map);
    let enabled = t.boolean(cx, "enabled", true);
    let container_url = t.url(cx, "container_url", enabled);
    let sas = if enabled {
        t.required_secret(cx, "sas")
    } else {
        t.secret(cx, "sas")
    };
    let poll_interval_ms = t.integer(cx, "poll_interval_ms", 30_000, 10, 86_400_000);
    let window_minutes = t.integer(cx, "window_minutes", 60, 1, 7 * 24 * 60);
    let max_catch_up_hours = t.integer(cx, "max_catch_up_hours", 72, 1, 24 * 366);
    let max_pages = t.integer(cx, "max_pages", 1000, 1, 1_000_000);
    let connect_timeout_ms = t.integer(cx, "connect_timeout_ms", 10_000, 1, 600_000);
    let request_timeout_ms = t.integer(cx, "request_timeout_ms", 60_000, 1, 3_600_000);
    t.finish(cx);
    if !enabled {
        return None;
    }
    let mut container = BlobContainerSettings::new(container_url?, sas?);
    container.connect_timeout_ms = connect_timeout_ms;
    container.request_timeout_ms = request_timeout_ms;
    Some(UpdatesConfig {
        container,
        poll_interval: Duration::from_millis(poll_interval_ms),
        window: Duration::from_secs(window_minutes * 60),
        max_catch_up: Duration::from_secs(max_catch_up_hours * 3600),
        max_pages: u32::try_from(max_pages).unwrap_or(u32::MAX),
    })
}

fn read_store(cx: &mut Cx, mut t: Table<'_>) -> Option<StoreSection> {
    let defaults = StoreConfig::default();
    let url = match t.get("url") {
        None => Some(cx.base.join(DEFAULT_STORE_FILE).display().to_string()),
        Some(Value::String(s)) if s.trim().is_empty() => {
            cx.error(&t.key("url"), "must not be empty");
            None
        }
        // A plain string is not a secret unless it holds a password (checked below).
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ Value::Table(_)) => {
            read_secret(cx, &t.key("url"), v).map(|s| s.expose().to_owned())
        }
        Some(other) => {
            cx.error(
                &t.key("url"),
                format!(
                    "must be a path, sqlite://PATH, postgres://… or {{ env = \"NAME\" }}, not {}",
                    kind(other)
                ),
            );
            None
        }
    };
    let url = url.and_then(|url| store_url(cx, &t.key("url"), &url));
    let max_attachment_bytes = t.integer(
        cx,
        "max_attachment_bytes",
        DEFAULT_MAX_ATTACHMENT_BYTES,
        1,
        1 << 40,
    );
    let max_connections = t.integer(
        cx,
        "max_connections",
        u64::from(defaults.max_connections),
        1,
        1000,
    );
    let busy_timeout_ms = t.integer(cx, "busy_timeout_ms", 10_000, 1, 600_000);
    let sqlite_sync = match t.get("synchronous") {
        None => defaults.sqlite_sync,
        Some(Value::String(s)) if s == "full" => SqliteSync::Full,
        Some(Value::String(s)) if s == "normal" => SqliteSync::Normal,
        Some(other) => {
            let shown = match other {
                Value::String(s) => format!("{s:?}"),
                other => kind(other).to_owned(),
            };
            cx.error(
                &t.key("synchronous"),
                format!("must be \"full\" or \"normal\", not {shown}"),
            );
            defaults.sqlite_sync
        }
    };
    t.finish(cx);
    Some(StoreSection {
        url: Secret::new(url?),
        max_attachment_bytes,
        max_connections: u32::try_from(max_connections).unwrap_or(u32::MAX),
        busy_timeout: Duration::from_millis(busy_timeout_ms),
        sqlite_sync,
    })
}

/// Checks a store URL and resolves a relative SQLite path against the folder of `amap.toml`.
fn store_url(cx: &mut Cx, key: &str, url: &str) -> Option<String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if let Ok(parsed) = reqwest::Url::parse(url)
            && parsed.password().is_some()
        {
            cx.warn(
                key,
                "a database password written in the file; prefer `url = { env = \"NAME\" }`",
            );
        }
        return Some(url.to_owned());
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path.contains("://") {
        cx.error(
            key,
            "must be an SQLite file path, sqlite://PATH or postgres://USER@HOST/DB",
        );
        return None;
    }
    let path = Path::new(path);
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cx.base.join(path)
    };
    Some(full.display().to_string())
}

fn read_server(cx: &mut Cx, mut t: Table<'_>) -> Option<ServerConfig> {
    let defaults = ServerConfig::default();
    let listen = match t.get("listen") {
        None => Some(defaults.listen),
        Some(Value::String(s)) => match s.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                cx.error(
                    &t.key("listen"),
                    format!(
                        "{s:?} is not an address and port (for example \"{DEFAULT_LISTEN}\" or \"0.0.0.0:8480\")"
                    ),
                );
                None
            }
        },
        Some(other) => {
            cx.error(
                &t.key("listen"),
                format!(
                    "must be a string such as \"{DEFAULT_LISTEN}\", not {}",
                    kind(other)
                ),
            );
            None
        }
    };
    let api_keys = match t.get("api_keys") {
        None => {
            cx.error(
                "[server]",
                "`api_keys` is missing: the API needs at least one key (for example `api_keys = [{ env = \"AMAP_API_KEY\" }]`)",
            );
            None
        }
        Some(Value::Array(items)) if items.is_empty() => {
            cx.error(
                &t.key("api_keys"),
                "lists no key; the API needs at least one",
            );
            None
        }
        Some(Value::Array(items)) => {
            let mut keys = Vec::new();
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                match read_secret(cx, &format!("[server].api_keys.{i}"), item) {
                    Some(k) if k.expose().len() < 16 => {
                        cx.error(
                            &format!("[server].api_keys.{i}"),
                            "is shorter than 16 characters; use a long random key",
                        );
                        ok = false;
                    }
                    Some(k) => keys.push(k),
                    None => ok = false,
                }
            }
            ok.then_some(keys)
        }
        Some(other) => {
            cx.error(
                &t.key("api_keys"),
                format!("must be a list of secrets, not {}", kind(other)),
            );
            None
        }
    };
    let max_body_bytes = t.integer(
        cx,
        "max_body_bytes",
        DEFAULT_MAX_BODY_BYTES as u64,
        1024,
        1 << 32,
    );
    let concurrency = t.integer(cx, "concurrency", defaults.concurrency as u64, 1, 256);
    let lease_seconds = t.integer(cx, "lease_seconds", defaults.lease.as_secs(), 1, 86_400);
    let grace = t.integer(
        cx,
        "shutdown_grace_seconds",
        defaults.shutdown_grace.as_secs(),
        0,
        3600,
    );
    let poll = t.integer(cx, "worker_poll_interval_ms", 1000, 1, 600_000);
    t.finish(cx);
    Some(ServerConfig {
        listen: listen?,
        api_keys: api_keys?,
        max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
        concurrency: usize::try_from(concurrency).unwrap_or(1),
        lease: Duration::from_secs(lease_seconds),
        shutdown_grace: Duration::from_secs(grace),
        worker_poll_interval: Duration::from_millis(poll),
    })
}

fn read_retry(cx: &mut Cx, mut t: Table<'_>) -> RetryConfig {
    let d = RetryConfig::default();
    let max_attempts = t.integer(cx, "max_attempts", u64::from(d.max_attempts), 1, 100);
    let base_delay_ms = t.integer(cx, "base_delay_ms", d.base_delay_ms, 1, 86_400_000);
    let factor = t.number(cx, "factor", d.factor, 1.0, 100.0);
    let max_delay_ms = t.integer(cx, "max_delay_ms", d.max_delay_ms, 1, 7 * 86_400_000);
    let jitter = match t.get("jitter") {
        None => d.jitter,
        Some(Value::String(s)) if s == "none" => Jitter::None,
        Some(Value::String(s)) if s == "full" => Jitter::Full,
        Some(Value::Float(f)) if (0.0..=1.0).contains(f) => Jitter::Proportional { fraction: *f },
        Some(Value::Integer(n)) if (0..=1).contains(n) => Jitter::Proportional {
            fraction: *n as f64,
        },
        Some(other) => {
            let shown = match other {
                Value::String(s) => format!("{s:?}"),
                other => other.to_string(),
            };
            cx.error(
                &t.key("jitter"),
                format!(
                    "must be \"none\", \"full\" or a fraction between 0 and 1 (0.1 = ±10 %), not {shown}"
                ),
            );
            d.jitter
        }
    };
    if max_delay_ms < base_delay_ms {
        cx.error(
            &t.key("max_delay_ms"),
            format!("is {max_delay_ms}, below `base_delay_ms` ({base_delay_ms})"),
        );
    }
    t.finish(cx);
    RetryConfig {
        max_attempts: u32::try_from(max_attempts).unwrap_or(10),
        base_delay_ms,
        factor,
        max_delay_ms,
        jitter,
    }
}

fn read_connect(cx: &mut Cx, mut t: Table<'_>) -> Option<ConnectConfig> {
    let base_url = t.url(cx, "base_url", true);
    t.finish(cx);
    Some(ConnectConfig {
        base_url: base_url?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "AURORA_SECRET" => Some("the-client-secret".into()),
            "AURORA_PASSWORD" => Some("the-password".into()),
            "SAS" => Some("sv=1&sig=abc".into()),
            "API_KEY" => Some("0123456789abcdef0123".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn parse(text: &str) -> Result<ServiceConfig, ConfigErrors> {
        ServiceConfig::parse(text, Path::new("/srv/amap/amap.toml"), &env)
    }

    const MINIMAL: &str = r#"
[project]
templates = ["templates/**/*.amap"]
aurora_schema = "schema/aurora.toml"
connect_schema = "schema/connect.toml"

[server]
api_keys = [{ env = "API_KEY" }]

[connect]
base_url = "https://connect.example.gov.uk/"
"#;

    #[test]
    fn defaults_fill_what_is_not_given() -> Result<(), ConfigErrors> {
        let c = parse(MINIMAL)?;
        assert!(c.aurora.is_none());
        assert!(c.updates.is_none());
        assert_eq!(c.store.url.expose(), "/srv/amap/amap.db");
        assert_eq!(c.store.max_attachment_bytes, 10 * 1024 * 1024);
        assert_eq!(c.store.max_connections, 8);
        assert_eq!(c.store.sqlite_sync, SqliteSync::Normal);
        assert_eq!(
            c.server.listen,
            "127.0.0.1:8480".parse().ok().unwrap_or(c.server.listen)
        );
        assert_eq!(c.server.listen.port(), 8480);
        assert_eq!(c.server.api_keys.len(), 1);
        assert_eq!(c.server.api_keys[0].expose(), "0123456789abcdef0123");
        assert_eq!(c.server.max_body_bytes, 1024 * 1024);
        assert_eq!(c.server.concurrency, 4);
        assert_eq!(c.retry, RetryConfig::default());
        assert_eq!(c.connect.base_url, "https://connect.example.gov.uk");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        Ok(())
    }

    #[test]
    fn every_table_read_in_full() -> Result<(), ConfigErrors> {
        let text = format!(
            r#"{MINIMAL}
[aurora]
identity_url = "https://identity.aurora.symology.net"
api_url = "https://cases.aurora.symology.net/api"
token_path = "/connect/token"
scope = "Custom.Scope"
client_id = "council"
client_secret = {{ env = "AURORA_SECRET" }}
username = "integration"
password = {{ env = "AURORA_PASSWORD" }}
system_code = "HW"
system_code_in = "query"
system_code_name = "code"
connect_timeout_ms = 5000
request_timeout_ms = 20000
token_skew_seconds = 30
lookup_by_reference_path = "Cases/Case/FindByExternalReference?externalReference="
read_back_path = "Cases/Case/{{caseNumber}}"

[updates]
container_url = "https://acct.blob.core.windows.net/snapshots"
sas = {{ env = "SAS" }}
poll_interval_ms = 250
window_minutes = 90
max_catch_up_hours = 24
max_pages = 50

[store]
url = "sqlite://data/service.db"
max_attachment_bytes = 2048
max_connections = 4
busy_timeout_ms = 500
synchronous = "full"

[retry]
max_attempts = 10
base_delay_ms = 10
factor = 2
max_delay_ms = 80
jitter = "none"
"#
        );
        let c = parse(&text)?;
        let a = c.aurora.ok_or_else(|| ConfigErrors { problems: vec![] })?;
        assert_eq!(a.api_url, "https://cases.aurora.symology.net/api");
        assert_eq!(a.scope, "Custom.Scope");
        assert_eq!(a.client_secret.expose(), "the-client-secret");
        assert_eq!(a.password.expose(), "the-password");
        assert_eq!(
            a.system_code_param(),
            Some((SystemCodeIn::Query, "code", "HW"))
        );
        assert_eq!(a.request_timeout_ms, 20_000);
        assert_eq!(a.token_skew_seconds, 30);
        assert_eq!(a.read_back_path.as_deref(), Some("Cases/Case/{caseNumber}"));
        let u = c.updates.ok_or_else(|| ConfigErrors { problems: vec![] })?;
        assert_eq!(
            u.container.container_url,
            "https://acct.blob.core.windows.net/snapshots"
        );
        assert_eq!(u.container.sas.expose(), "sv=1&sig=abc");
        assert_eq!(u.poll_interval, Duration::from_millis(250));
        assert_eq!(u.window, Duration::from_secs(90 * 60));
        assert_eq!(u.max_pages, 50);
        assert_eq!(c.store.url.expose(), "/srv/amap/data/service.db");
        assert_eq!(c.store.max_attachment_bytes, 2048);
        assert_eq!(c.store.max_connections, 4);
        assert_eq!(c.store.sqlite_sync, SqliteSync::Full);
        assert_eq!(c.retry, RetryConfig::compressed(10));
        Ok(())
    }

    fn problems(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(_) => vec!["accepted".into()],
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_key_and_line() {
        let text = r#"[project]
templates = ["t/*.amap"]
aurora_schema = "a.toml"
connect_schema = "c.toml"

[aurora]
identity_url = "ftp://identity"
api_url = "https://cases.example"
client_id = "c"
client_secret = { env = "AURORA_SECRET_MISSING" }
username = "u"
password = { env = "EMPTY" }
system_code_in = "headr"
surprise = 1

[updates]
container_url = "https://acct.blob.core.windows.net/c?sv=1&sig=x"
poll_interval_ms = 0

[server]
listen = "localhost"
api_keys = ["short"]
concurency = 2

[retry]
jitter = "some"
max_attempts = 0

[connect]

[worker]
"#;
        let got = problems(text);
        let expected = [
            "/srv/amap/amap.toml:7: [aurora].identity_url: must be an http:// or https:// URL, not ftp://",
            "/srv/amap/amap.toml:10: [aurora].client_secret: environment variable AURORA_SECRET_MISSING is not set",
            "/srv/amap/amap.toml:12: [aurora].password: environment variable EMPTY is empty",
            "/srv/amap/amap.toml:13: [aurora].system_code_in: must be \"header\", \"query\", \"path\" or \"none\", not \"headr\" (did you mean `header`?)",
            "/srv/amap/amap.toml:14: [aurora].surprise: unknown key",
            "/srv/amap/amap.toml:16: [updates]: `sas` is missing (for example `sas = { env = \"NAME\" }`)",
            "/srv/amap/amap.toml:17: [updates].container_url: must not have a query (`?…`)",
            "/srv/amap/amap.toml:18: [updates].poll_interval_ms: must be between 10 and 86400000, not 0",
            "/srv/amap/amap.toml:21: [server].listen: \"localhost\" is not an address and port (for example \"127.0.0.1:8480\" or \"0.0.0.0:8480\")",
            "/srv/amap/amap.toml:22: [server].api_keys.0: a secret written in the file; prefer",
            "/srv/amap/amap.toml:23: [server].concurency: unknown key (did you mean `concurrency`?)",
            "/srv/amap/amap.toml:26: [retry].jitter: must be \"none\", \"full\" or a fraction between 0 and 1 (0.1 = ±10 %), not \"some\"",
            "/srv/amap/amap.toml:27: [retry].max_attempts: must be between 1 and 100, not 0",
            "/srv/amap/amap.toml:29: [connect]: `base_url` is missing (for example `base_url = \"https://…\"`)",
            "/srv/amap/amap.toml:31: [worker]: unknown table",
        ];
        for want in expected {
            if want.contains("api_keys.0") {
                // A literal key is only a warning; this one is also too short.
                assert!(
                    got.iter()
                        .any(|g| g.contains("[server].api_keys.0: is shorter than 16")),
                    "{got:#?}"
                );
                continue;
            }
            assert!(
                got.iter().any(|g| g.starts_with(want)),
                "missing {want:?} in {got:#?}"
            );
        }
        assert!(
            !got.iter()
                .any(|g| g.contains("surprise") && g.contains("did you mean"))
        );
    }

    #[test]
    fn secrets_come_from_files_beside_the_config_and_never_show()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::TempDir::new()?;
        std::fs::write(dir.path().join("key.txt"), "abcdefghijklmnopqrstuvwxyz\n")?;
        std::fs::write(dir.path().join("empty.txt"), "\n")?;
        let path = dir.path().join("amap.toml");
        let text = r#"
[server]
api_keys = [{ file = "key.txt" }, "literal-key-0123456789"]
[connect]
base_url = "http://connect.local"
"#;
        let c = ServiceConfig::parse(text, &path, &env)?;
        assert_eq!(c.server.api_keys[0].expose(), "abcdefghijklmnopqrstuvwxyz");
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].key, "[server].api_keys.1");
        let shown = format!("{c:?}");
        assert!(!shown.contains("abcdefghijklmnop"), "{shown}");
        assert!(!shown.contains("literal-key-0123456789"), "{shown}");

        let bad = r#"
[server]
api_keys = [{ file = "empty.txt" }, { file = "missing.txt" }, { env = "API_KEY", file = "x" }, { name = "X" }, 7]
[connect]
base_url = "http://connect.local"
"#;
        let errors = ServiceConfig::parse(bad, &path, &env)
            .err()
            .ok_or("accepted")?;
        let got: Vec<String> = errors.problems.iter().map(ToString::to_string).collect();
        let want = [
            "[server].api_keys.0: `",
            "[server].api_keys.1: cannot read `",
            "[server].api_keys.2: give either `env` or `file`, not both",
            "[server].api_keys.3.name: unknown key",
            "[server].api_keys.4: a secret is",
        ];
        for w in want {
            assert!(
                got.iter().any(|g| g.contains(w)),
                "missing {w:?} in {got:#?}"
            );
        }
        Ok(())
    }

    #[test]
    fn updates_can_be_kept_but_disabled() -> Result<(), ConfigErrors> {
        let c = parse(&format!("{MINIMAL}\n[updates]\nenabled = false\n"))?;
        assert!(c.updates.is_none());
        Ok(())
    }

    #[test]
    fn store_urls() -> Result<(), ConfigErrors> {
        for (given, want) in [
            ("/var/lib/amap.db", "/var/lib/amap.db"),
            ("state/amap.db", "/srv/amap/state/amap.db"),
            ("sqlite:x.db", "/srv/amap/x.db"),
            ("postgres://amap@db/amap", "postgres://amap@db/amap"),
        ] {
            let c = parse(&format!("{MINIMAL}\n[store]\nurl = \"{given}\"\n"))?;
            assert_eq!(c.store.url.expose(), want);
        }
        let with_password = parse(&format!(
            "{MINIMAL}\n[store]\nurl = \"postgres://amap:pw@db/amap\"\n"
        ))?;
        assert_eq!(with_password.warnings.len(), 1);
        assert!(
            problems(&format!("{MINIMAL}\n[store]\nurl = \"mysql://x\"\n"))[0]
                .contains("[store].url: must be an SQLite file path")
        );
        Ok(())
    }

    #[test]
    fn not_toml_is_one_problem_with_its_line() {
        let got = problems("[server]\napi_keys = [\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("/srv/amap/amap.toml:"), "{got:?}");
        assert!(got[0].contains("not valid TOML"), "{got:?}");
    }
}
