//! The job flows: the create flow (a create template applied to a stored Connect case and sent to
//! Aurora) and the update flow (a return-path snapshot applied to the Connect cases that hold its
//! case number).
//!
//! [`Flows`] is the [`JobHandler`] the worker pool runs: `JobKind::Create` jobs carry an
//! [`ApplyJob`](super::payload::ApplyJob), `JobKind::Update` jobs an
//! [`UpdateJob`](super::payload::UpdateJob).
//!
//! How failures are classified:
//!
//! | failure | outcome |
//! |---|---|
//! | unknown case or template, a create template that fails to evaluate, an incoming template that fails, Aurora 400/413/415/422 on CreateCase | `Validation` (never retried; the reason names the template, mapping and `file:line`, or keeps Aurora's ProblemDetails messages) |
//! | no Aurora connection configured | `Transient` |
//! | network failure, timeout, 5xx, 408, 429, a lost CreateCase answer | `Transient` (the progress is kept; the next attempt resumes) |
//! | Aurora refuses the credentials (the token grant, or a fresh token refused) | `Transient`: the credentials can be corrected through the settings API while the job waits, and the retry policy bounds the attempts |
//! | an answer the client cannot use (a configured look-up path that does not exist) | `Transient`, for the same reason |
//! | an attachment refused for its size or type | not a failure: the file is linked from a note instead |
//! | a store error | `Transient` |

mod case;
mod create;
mod snapshot;
mod update;

use std::fmt;
use std::sync::Arc;

use super::aurora_slot::AuroraSlot;
use super::store::{JobKind, Store, StoreError};
use super::worker::{JobContext, JobHandler, Outcome};
use crate::runtime::aurora::AuroraError;
use crate::runtime::eval::PreparedBundle;

pub use case::connect_case;
pub use snapshot::{CREATE_TRIGGER_SOURCE, snapshot_from_case_body};

/// What the flows need: the store, the compiled plans, the Aurora client in force and the base URL
/// of Connect (for links to attachments Aurora refused).
#[derive(Clone)]
pub struct FlowsConfig {
    /// The service's store.
    pub store: Store,
    /// The prepared plan bundle.
    pub plans: Arc<PreparedBundle>,
    /// The Aurora client in force.
    pub aurora: AuroraSlot,
    /// Base URL of Connect; links to refused files read
    /// `{connect_base_url}/cases/{ref}/attachments/{id}` (a trailing `/` is ignored).
    pub connect_base_url: String,
}

impl fmt::Debug for FlowsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowsConfig")
            .field("store", &self.store)
            .field("templates", &self.plans.templates.len())
            .field("aurora", &self.aurora)
            .field("connect_base_url", &self.connect_base_url)
            .finish()
    }
}

/// The job handler for create and update jobs.
#[derive(Clone, Debug)]
pub struct Flows {
    config: Arc<FlowsConfig>,
}

impl Flows {
    /// Flows over `config`.
    pub fn new(config: FlowsConfig) -> Flows {
        Flows {
            config: Arc::new(config),
        }
    }

    /// The configuration the flows run with.
    pub fn config(&self) -> &FlowsConfig {
        &self.config
    }
}

impl JobHandler for Flows {
    async fn handle(&self, ctx: JobContext) -> Outcome {
        let result = match ctx.job().kind {
            JobKind::Create => create::run(&self.config, &ctx).await,
            JobKind::Update => update::run(&self.config, &ctx).await,
        };
        match result {
            Ok(()) => Outcome::Done,
            Err(stop) => stop.into_outcome(),
        }
    }
}

/// Why an attempt stopped before the end.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Never retried.
    Validation(String),
    /// Retried per the policy.
    Transient(String),
}

impl Stop {
    fn into_outcome(self) -> Outcome {
        match self {
            Stop::Validation(reason) => Outcome::Validation(reason),
            Stop::Transient(reason) => Outcome::Transient(reason),
        }
    }
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Stop {
        Stop::Transient(format!("the service's database failed: {error}"))
    }
}

/// How an Aurora failure ends an attempt (see the table in the module documentation).
pub(crate) fn aurora_stop(error: &AuroraError) -> Stop {
    match error {
        AuroraError::Validation { .. } => Stop::Validation(format!("Aurora refused it: {error}")),
        AuroraError::Authentication { .. } => Stop::Transient(format!(
            "{error}; correct the Aurora credentials through the settings API \
             (PUT /v1/settings) and the job is tried again"
        )),
        AuroraError::Settings(_) => Stop::Transient(format!(
            "{error}; correct the Aurora settings and the job is tried again"
        )),
        _ => Stop::Transient(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::aurora::{AuroraClient, AuroraSettings, Call};
    use crate::service::store::StoreConfig;

    #[test]
    fn aurora_failures_are_classified() {
        let refused = AuroraError::Validation {
            call: Call::CreateCase,
            status: 400,
            title: "One or more validation errors occurred.".into(),
            problems: Vec::new(),
        };
        assert!(matches!(aurora_stop(&refused), Stop::Validation(r)
            if r.contains("CreateCase rejected (400): One or more validation errors occurred.")));
        let credentials = AuroraError::Authentication {
            call: Call::TokenGrant,
            message: "invalid_grant".into(),
        };
        assert!(matches!(aurora_stop(&credentials), Stop::Transient(r)
            if r.contains("invalid_grant") && r.contains("PUT /v1/settings")));
        let down = AuroraError::Transient {
            call: Call::UploadAttachment,
            status: Some(503),
            message: "HTTP 503".into(),
        };
        assert!(matches!(aurora_stop(&down), Stop::Transient(r) if r.contains("503")));
        let lost = AuroraError::LostAnswer {
            call: Call::CreateCase,
            message: "timed out".into(),
        };
        assert!(matches!(aurora_stop(&lost), Stop::Transient(_)));
    }

    fn empty_bundle() -> crate::plan::Bundle {
        crate::plan::Bundle {
            format: crate::plan::FORMAT.into(),
            schemas: crate::plan::SchemaHashes {
                aurora: String::new(),
                connect: String::new(),
            },
            sources: Vec::new(),
            udf_wire: Default::default(),
            udfs: Vec::new(),
            tables: Vec::new(),
            templates: Vec::new(),
        }
    }

    #[tokio::test]
    async fn debug_output_holds_no_secret() {
        let dir = tempfile::TempDir::new().expect("temporary directory");
        let store = Store::open_sqlite(&dir.path().join("amap.db"), StoreConfig::default())
            .await
            .expect("store");
        let settings = AuroraSettings::new(
            "http://127.0.0.1:9/identity",
            "http://127.0.0.1:9/api",
            "client",
            "client-secret-value",
            "user",
            "password-value",
        );
        let flows = Flows::new(FlowsConfig {
            store,
            plans: Arc::new(PreparedBundle::new(&empty_bundle()).expect("plans")),
            aurora: AuroraSlot::new(Some(AuroraClient::new(settings).expect("client"))),
            connect_base_url: "https://connect.example".into(),
        });
        let text = format!("{flows:?}");
        assert!(text.contains("connect.example"), "{text}");
        assert!(!text.contains("client-secret-value"), "{text}");
        assert!(!text.contains("password-value"), "{text}");
    }
}
