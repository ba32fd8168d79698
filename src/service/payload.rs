//! What a job carries: the payloads the HTTP API and the poller enqueue and the flows run.

use serde::{Deserialize, Serialize};

/// `JobKind::Create`: apply a create template to a stored Connect case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyJob {
    /// The Connect case reference (the `{ref}` of `/v1/cases/{ref}`).
    pub case_ref: String,
    /// The create template's name.
    pub template: String,
}

/// `JobKind::Update`: an Aurora case changed; apply the incoming templates to every Connect
/// case whose reference holds its case number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateJob {
    /// The blob name the snapshot came from, when it came from the return path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_name: Option<String>,
    /// `Message.CaseNumber` of the snapshot.
    pub case_number: String,
    /// When the snapshot was taken (its `Date`, else the blob name's time), RFC 3339: an older
    /// snapshot never overwrites what a newer one wrote.
    pub taken_at: String,
    /// The PascalCase snapshot body.
    pub snapshot: serde_json::Value,
}
