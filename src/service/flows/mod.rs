//! The job flows: the create flow (a create template applied to a stored Connect case, sent to
//! Aurora) and the update flow (a return-path snapshot applied to the Connect cases that hold its
//! case number).

use std::sync::Arc;

use super::aurora_slot::AuroraSlot;
use super::store::{JobKind, Store};
use super::worker::{JobContext, JobHandler, Outcome};
use crate::runtime::eval::PreparedBundle;

/// What the flows need: the store, the compiled plans, the Aurora client in force and the base URL
/// of Connect (for links to attachments Aurora refused).
#[derive(Clone, Debug)]
pub struct FlowsConfig {
    /// The service's store.
    pub store: Store,
    /// The prepared plan bundle.
    pub plans: Arc<PreparedBundle>,
    /// The Aurora client in force.
    pub aurora: AuroraSlot,
    /// Base URL of Connect, without a trailing `/`; links read
    /// `{connect_base_url}/cases/{ref}/attachments/{id}`.
    pub connect_base_url: String,
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
        match ctx.job().kind {
            JobKind::Create => Outcome::Validation("create jobs are not handled yet".into()),
            JobKind::Update => Outcome::Validation("update jobs are not handled yet".into()),
        }
    }
}
