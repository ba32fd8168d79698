//! The update flow: a return-path snapshot applied to every Connect case whose reference holds its
//! case number, through every incoming template of that reference.
//!
//! Each (case, reference) keeps the time of the newest snapshot applied to it; a snapshot older
//! than that is logged `skipped` and writes nothing, so snapshots of one case take effect in time
//! order whatever order their jobs run in (see [`Store::apply_field_writes`]).
//!
//! [`Store::apply_field_writes`]: crate::service::store::Store::apply_field_writes

use jiff::Timestamp;
use serde_json::Value;

use super::case::connect_case;
use super::{FlowsConfig, Stop};
use crate::runtime::aurora::returns::parse_timestamp;
use crate::runtime::eval::PreparedBundle;
use crate::service::payload::UpdateJob;
use crate::service::store::{FieldsApplied, LogOutcome, NewLogEntry, SnapshotTime, StoreError};
use crate::service::worker::JobContext;
use crate::syntax::ast::TemplateKind;

pub(super) async fn run(config: &FlowsConfig, ctx: &JobContext) -> Result<(), Stop> {
    let job: UpdateJob = serde_json::from_value(ctx.job().payload.clone())
        .map_err(|e| Stop::Validation(format!("the job is not a readable update job: {e}")))?;
    let taken_at = parse_timestamp(&job.taken_at).ok_or_else(|| {
        Stop::Validation(format!(
            "the snapshot time {:?} is not a time",
            job.taken_at
        ))
    })?;
    let store = &config.store;
    let plans = &config.plans;
    let number = job.case_number.as_str();
    let snapshot_label = match &job.snapshot_name {
        Some(name) => format!("snapshot {name}"),
        None => "the snapshot".to_owned(),
    };

    let references = incoming_references(plans);
    let mut targets = Vec::new();
    for reference in &references {
        for case_ref in store.find_cases_by_reference(reference, number).await? {
            targets.push((case_ref, reference.as_str()));
        }
    }
    if targets.is_empty() {
        let held_in = if references.is_empty() {
            "no template reads snapshots".to_owned()
        } else {
            format!("looked in {}", references.join(", "))
        };
        ctx.log(
            NewLogEntry::new(LogOutcome::Skipped)
                .aurora_case_number(number)
                .reason(format!(
                    "no Connect case holds Aurora case {number} ({held_in}); {snapshot_label} \
                     was not applied"
                )),
        )
        .await?;
        return Ok(());
    }

    let trigger = job
        .snapshot
        .get("TriggerType")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    for (case_ref, reference) in targets {
        let templates = template_names(plans, reference);
        let files = store.list_attachments(&case_ref).await?;
        let now = Timestamp::now();
        let applied = store
            .apply_field_writes(
                &case_ref,
                reference,
                SnapshotTime::TakenAt(taken_at),
                |stored| {
                    let case = connect_case(stored, &files)?;
                    plans
                        .incoming(reference, &job.snapshot, &case, now)
                        .map_err(|failure| failure.to_string())
                },
            )
            .await;
        let entry = NewLogEntry::new(LogOutcome::Updated)
            .case_ref(&case_ref)
            .template(&templates)
            .aurora_case_number(number);
        match applied {
            Err(StoreError::UnknownCase(_)) => continue,
            Err(error) => return Err(error.into()),
            Ok(Ok(FieldsApplied::Written(written))) => {
                let what = if written.is_empty() {
                    "no mapping had a value".to_owned()
                } else {
                    format!("wrote {}", written.join(", "))
                };
                ctx.log(entry.reason(format!(
                    "{snapshot_label} taken at {taken_at}{trigger}: {what}"
                )))
                .await?;
            }
            Ok(Ok(FieldsApplied::Superseded { applied })) => {
                let mut entry = entry.reason(format!(
                    "{snapshot_label} taken at {taken_at} is older than the snapshot of \
                     {applied} already applied; nothing written"
                ));
                entry.outcome = LogOutcome::Skipped;
                ctx.log(entry).await?;
            }
            Ok(Err(failure)) => {
                return Err(Stop::Validation(format!(
                    "{snapshot_label} could not be applied to Connect case {case_ref:?}: \
                     {failure}"
                )));
            }
        }
    }
    Ok(())
}

/// The references that incoming templates write back through, in bundle order.
fn incoming_references(plans: &PreparedBundle) -> Vec<String> {
    let mut references: Vec<String> = Vec::new();
    for t in &plans.templates {
        if t.kind == TemplateKind::Incoming && !references.contains(&t.reference) {
            references.push(t.reference.clone());
        }
    }
    references
}

/// The names of the incoming templates of a reference, for the log.
fn template_names(plans: &PreparedBundle, reference: &str) -> String {
    plans
        .incoming_of(reference)
        .iter()
        .map(|&i| plans.templates[i].name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
