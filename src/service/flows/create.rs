//! The create flow: a create template applied to a stored Connect case.
//!
//! Steps, each recorded in the job's progress before the next call to Aurora, so that a retry
//! resumes after it instead of repeating it:
//!
//! 1. evaluate the template against the case (pure; repeated on every attempt);
//! 2. find the contact by e-mail, then phone, else create it → `contact_id` (saved at once when
//!    files are to be uploaded, else with `create_sent`);
//! 3. upload each file stored for the case when the create runs (the list is recorded with the
//!    first step saved, so files added after that are not sent by a retry) →
//!    `uploaded_attachments`; a file Aurora refuses for its size or type →
//!    `rejected_attachments`;
//! 4. CreateCase with the contact and the uploaded files (`create_sent` is saved before sending)
//!    → `case_number`, which goes into the template's reference of the Connect case. When Aurora
//!    is called again afterwards (step 5, or reading the case back), the case number and the
//!    reference are committed first; otherwise with step 6;
//! 5. one note on the new case linking the refused files in Connect (`note_added`), and one
//!    `attachment_fallback` log entry per refused file (a note whose answer is lost is sent
//!    again by the retry; a note Aurora refuses ends the job as a validation failure once the
//!    case is complete);
//! 6. the incoming templates of the reference applied to the snapshot of the new case (see
//!    [`snapshot_from_case_body`]); the fields written into the stored case, the case number,
//!    the `created` entry and the job's completion committed in one transaction
//!    ([`JobContext::complete_create`]).
//!
//! A case whose reference already holds an Aurora case number (the template applied a second
//! time) is logged `skipped` and nothing is sent.
//!
//! A CreateCase whose answer was lost is the one unsafe step. The next attempt finds
//! `create_sent` without a `case_number`: where the client can look a case up by
//! `externalReference` it does so and takes the case found; otherwise (or when nothing is found)
//! it sends the request again, logging `possible_duplicate` when no look-up was possible.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::case::connect_case;
use super::snapshot::snapshot_from_case_body;
use super::{FlowsConfig, Stop, aurora_stop};
use crate::runtime::aurora::{AttachmentRef, AuroraClient, ContactId, NewContact};
use crate::runtime::eval::Contact;
use crate::service::payload::ApplyJob;
use crate::service::store::{
    AttachmentId, AttachmentMeta, CaseRead, CreateCompleted, CreateCompletion, JobProgress,
    LogOutcome, NewLogEntry, StoreError, UploadedAttachment, applied_snapshot_time,
    merge_field_writes,
};
use crate::service::worker::JobContext;
use crate::syntax::ast::TemplateKind;

/// Progress keys of the create flow beyond the standard ones.
const ATTACHMENT_IDS: &str = "attachment_ids";
const REJECTED_REASONS: &str = "rejected_reasons";
const CONTACT_ID_IS_NUMBER: &str = "contact_id_is_number";
const NOTE_ADDED: &str = "note_added";

pub(super) async fn run(config: &FlowsConfig, ctx: &JobContext) -> Result<(), Stop> {
    let job: ApplyJob = serde_json::from_value(ctx.job().payload.clone())
        .map_err(|e| Stop::Validation(format!("the job is not a readable create job: {e}")))?;
    let store = &config.store;
    let plans = &config.plans;
    let Some(CaseRead {
        case: mut stored,
        mut version,
        attachments,
    }) = store.read_case(&job.case_ref).await?
    else {
        return Err(Stop::Validation(format!(
            "no Connect case with reference {:?} is stored",
            job.case_ref
        )));
    };
    let Some(id) = plans.template_id(&job.template) else {
        return Err(Stop::Validation(format!(
            "no template named {:?} is in the compiled plans",
            job.template
        )));
    };
    let template = plans.template(id);
    if template.kind != TemplateKind::Create {
        return Err(Stop::Validation(format!(
            "{}: template {:?} is an incoming template; only a create template can be applied \
             to a case",
            template.location, template.name
        )));
    }
    let reference = template.reference.clone();

    let mut progress = ctx.progress();
    if progress.case_number.is_none()
        && let Some(existing) = stored
            .case
            .references
            .get(&reference)
            .filter(|v| !v.trim().is_empty())
    {
        // Applied again (a rule that fired twice): never raise a second Aurora case.
        ctx.log(
            NewLogEntry::new(LogOutcome::Skipped)
                .aurora_case_number(existing)
                .reason(format!(
                    "Connect case {:?} already holds Aurora case {existing} in ref.{reference}; \
                     nothing was sent (remove the reference to raise another case)",
                    job.case_ref
                )),
        )
        .await?;
        return Ok(());
    }
    let files = files_of_job(ctx, &mut progress, &job.case_ref, attachments).await?;
    let case = connect_case(&stored, &files).map_err(Stop::Validation)?;
    let now = Timestamp::now();
    let request = plans
        .create(id, &case, now)
        .map_err(|failure| Stop::Validation(failure.to_string()))?;
    let Some(client) = config.aurora.get() else {
        return Err(Stop::Transient(
            "the Aurora connection is not configured (set it through the settings API)".into(),
        ));
    };

    // The contact.
    if progress.contact_id.is_none()
        && let Some(contact) = new_contact(&request.contact)
    {
        let found = client
            .find_or_create_contact(&contact)
            .await
            .map_err(|e| aurora_stop(&e))?;
        progress.contact_id = Some(found.id.to_string());
        progress.extra.insert(
            CONTACT_ID_IS_NUMBER.into(),
            Value::Bool(matches!(found.id, ContactId::Number(_))),
        );
        // Before an upload, saved at once; otherwise saved with `create_sent`, just before
        // CreateCase is sent (nothing but local work lies between).
        if progress.case_number.is_none() && !to_upload(&progress, &files).is_empty() {
            ctx.save_progress(&progress).await?;
        }
    }

    // The files.
    if progress.case_number.is_none() {
        upload_files(config, ctx, &client, &mut progress, &files).await?;
    }

    // The case.
    let body = create_body(&request.body, &progress);
    let note_needed = !progress.rejected_attachments.is_empty() && !flag(&progress, NOTE_ADDED);
    let read_back = client.settings().read_back_path.is_some();
    let mut reference_written = false;
    let case_number = match progress.case_number.clone() {
        Some(number) => number,
        None => {
            let number = send_create(ctx, &client, &mut progress, &body).await?;
            progress.case_number = Some(number.clone());
            if note_needed || read_back {
                // Aurora is called again before the end: the case number must be durable before
                // anything that could fail and make a retry send CreateCase again.
                ctx.complete_create(&CreateCompletion {
                    progress: &progress,
                    case_ref: &job.case_ref,
                    reference: &reference,
                    case_number: &number,
                    write_reference: true,
                    body: None,
                    log: None,
                    done: false,
                })
                .await?;
                reference_written = true;
            }
            number
        }
    };
    // The case as the incoming templates read it: with the case number in its reference.
    stored
        .case
        .references
        .insert(reference.clone(), case_number.clone());

    // The note linking the refused files.
    let mut note_refused = None;
    if note_needed {
        match add_fallback_note(config, ctx, &client, &mut progress, &job.case_ref, &files).await {
            Ok(()) => {}
            // The case exists: finish it, then report the refused note.
            Err(Stop::Validation(reason)) => note_refused = Some(reason),
            Err(stop) => return Err(stop),
        }
    }

    // The incoming templates, against the case as Aurora now has it.
    let case_body = match client.settings().read_back_path {
        Some(_) => match client.read_back(&case_number).await {
            Ok(Some(Value::Object(answer))) => answer,
            Ok(_) => body.clone(),
            Err(e) => return Err(aurora_stop(&e)),
        },
        None => body.clone(),
    };
    // The fields written back, the reference, the `created` entry and the job's completion: one
    // transaction. The writes are computed from the case as read at the start; if another writer
    // changed it since, it is read again and the writes computed again.
    let has_incoming = !plans.incoming_of(&reference).is_empty();
    let snapshot = has_incoming
        .then(|| snapshot_from_case_body(&case_body, &case_number, &plans.udfs.wire, now));
    let written = loop {
        let mut new_body = None;
        let written: Result<Vec<String>, String> = match &snapshot {
            // A return-path snapshot was applied already: the create's baseline is older.
            Some(_) if applied_snapshot_time(&stored.case.body, &reference).is_some() => {
                Ok(Vec::new())
            }
            Some(snapshot) => connect_case(&stored, &files)
                .and_then(|case| {
                    plans
                        .incoming(&reference, snapshot, &case, now)
                        .map_err(|failure| failure.to_string())
                })
                .map(|writes| {
                    let mut body = stored.case.body.clone();
                    let targets = merge_field_writes(&mut body, &writes);
                    new_body = Some(body);
                    targets
                }),
            None => Ok(Vec::new()),
        };
        let entry = NewLogEntry::new(LogOutcome::Created)
            .aurora_case_number(&case_number)
            .reason(created_reason(
                &case_number,
                &progress,
                note_refused.is_some(),
                &written,
            ));
        let completion = CreateCompletion {
            progress: &progress,
            case_ref: &job.case_ref,
            reference: &reference,
            case_number: &case_number,
            write_reference: !reference_written,
            body: new_body.as_ref().map(|body| (&version, body)),
            log: Some(&entry),
            done: written.is_ok() && note_refused.is_none(),
        };
        match ctx.complete_create(&completion).await? {
            CreateCompleted::Committed(_) => break written,
            CreateCompleted::CaseChanged => {
                let Some(again) = store.read_case(&job.case_ref).await? else {
                    return Err(StoreError::UnknownCase(job.case_ref.clone()).into());
                };
                stored = again.case;
                version = again.version;
                stored
                    .case
                    .references
                    .insert(reference.clone(), case_number.clone());
            }
        }
    };
    if let Err(failure) = written {
        return Err(Stop::Validation(format!(
            "Aurora case {case_number} was created, but its incoming templates could not be \
             applied: {failure}"
        )));
    }
    match note_refused {
        None => Ok(()),
        Some(reason) => Err(Stop::Validation(format!(
            "Aurora case {case_number} was created, but the note linking the files it refused \
             was not added: {reason}"
        ))),
    }
}

/// The files to send: those recorded in the progress, else those stored for the case now
/// (recorded in the progress with the next step saved, so that a retry does not send files added
/// later).
///
/// `stored_files` is the number of files stored for the case when it was read: none to list when
/// it is 0.
async fn files_of_job(
    ctx: &JobContext,
    progress: &mut JobProgress,
    case_ref: &str,
    stored_files: u64,
) -> Result<Vec<AttachmentMeta>, Stop> {
    let recorded: Option<Vec<AttachmentId>> = progress
        .extra
        .get(ATTACHMENT_IDS)
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let none_recorded = recorded.as_ref().is_some_and(Vec::is_empty);
    let stored = if stored_files == 0 || none_recorded {
        Vec::new()
    } else {
        ctx.store().list_attachments(case_ref).await?
    };
    match recorded {
        Some(ids) => Ok(stored.into_iter().filter(|f| ids.contains(&f.id)).collect()),
        None => {
            // Saved with the next step's progress (at the latest just before CreateCase is
            // sent), which saves a database write per job.
            let ids: Vec<Value> = stored.iter().map(|f| Value::from(f.id.0)).collect();
            progress
                .extra
                .insert(ATTACHMENT_IDS.into(), Value::Array(ids));
            Ok(stored)
        }
    }
}

/// The contact to find or create, from the template's `contact.*` values; `None` when the
/// template gave none (the case is then created without a contact).
fn new_contact(fields: &Contact) -> Option<NewContact> {
    let text = |key: &str| -> Option<String> {
        match fields.get(key)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let mut contact = NewContact {
        first_name: text("firstName"),
        last_name: text("lastName"),
        email: text("emailAddress"),
        phone: text("mobilePhone").or_else(|| text("homePhone")),
        extra: Map::new(),
    };
    let mobile_used = text("mobilePhone").is_some();
    for (key, value) in fields {
        let standard = matches!(
            key.as_str(),
            "firstName" | "lastName" | "emailAddress" | "mobilePhone"
        ) || (key == "homePhone" && !mobile_used);
        if !standard && !value.is_null() {
            contact.extra.insert(key.clone(), value.clone());
        }
    }
    let empty = contact.first_name.is_none()
        && contact.last_name.is_none()
        && contact.email.is_none()
        && contact.phone.is_none()
        && contact.extra.is_empty();
    (!empty).then_some(contact)
}

async fn upload_files(
    config: &FlowsConfig,
    ctx: &JobContext,
    client: &AuroraClient,
    progress: &mut JobProgress,
    files: &[AttachmentMeta],
) -> Result<(), Stop> {
    for meta in to_upload(progress, files) {
        let Some(file) = config.store.get_attachment(meta.id).await? else {
            // Removed from the case since the job started: nothing to send.
            continue;
        };
        match client
            .upload_attachment(&meta.name, &meta.content_type, file.content)
            .await
        {
            Ok(aurora_id) => progress.uploaded_attachments.push(UploadedAttachment {
                attachment: meta.id,
                aurora_id,
                name: meta.name.clone(),
            }),
            Err(error) if error.is_validation() => {
                progress.rejected_attachments.push(meta.id);
                let reasons = progress
                    .extra
                    .entry(REJECTED_REASONS)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(reasons) = reasons {
                    reasons.insert(meta.id.to_string(), Value::from(error.to_string()));
                }
            }
            Err(error) => return Err(aurora_stop(&error)),
        }
        ctx.save_progress(progress).await?;
    }
    Ok(())
}

/// The CreateCase body: the evaluated body with the contact and the uploaded files.
fn create_body(evaluated: &Map<String, Value>, progress: &JobProgress) -> Map<String, Value> {
    let mut body = evaluated.clone();
    if let Some(contact) = &progress.contact_id {
        let as_number = flag(progress, CONTACT_ID_IS_NUMBER)
            .then(|| contact.parse::<i64>().ok())
            .flatten();
        let value = match as_number {
            Some(n) => Value::from(n),
            None => Value::from(contact.as_str()),
        };
        body.insert("contactId".into(), value);
    }
    if !progress.uploaded_attachments.is_empty() {
        let refs: Vec<AttachmentRef> = progress
            .uploaded_attachments
            .iter()
            .map(|u| AttachmentRef {
                id: u.aurora_id.clone(),
                name: u.name.clone(),
            })
            .collect();
        body.insert(
            "attachments".into(),
            serde_json::to_value(refs).unwrap_or(Value::Null),
        );
    }
    body
}

/// Sends CreateCase, first looking the case up when an earlier attempt's answer was lost.
async fn send_create(
    ctx: &JobContext,
    client: &AuroraClient,
    progress: &mut JobProgress,
    body: &Map<String, Value>,
) -> Result<String, Stop> {
    let external = body
        .get("externalReference")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned);
    if progress.create_sent {
        match (&external, client.can_lookup_by_reference()) {
            (Some(external), true) => {
                let found = client
                    .find_case_by_reference(external)
                    .await
                    .map_err(|e| aurora_stop(&e))?;
                if let Some(number) = found {
                    return Ok(number);
                }
            }
            (_, can_lookup) => {
                let why = if can_lookup {
                    "the request has no externalReference to look it up by"
                } else {
                    "Aurora offers no look-up by externalReference here"
                };
                ctx.log(
                    NewLogEntry::new(LogOutcome::PossibleDuplicate).reason(format!(
                        "the answer to an earlier CreateCase was lost and {why}; sending it again \
                     may create a second case"
                    )),
                )
                .await?;
            }
        }
    } else {
        progress.create_sent = true;
        ctx.save_progress(progress).await?;
    }
    match client.create_case(&Value::Object(body.clone())).await {
        Ok(number) => Ok(number),
        Err(error) if error.is_lost_answer() => {
            let next = if external.is_some() && client.can_lookup_by_reference() {
                "the next attempt looks the case up by externalReference before sending it again"
            } else {
                "the next attempt sends it again"
            };
            Err(Stop::Transient(format!("{error}; {next}")))
        }
        Err(error) => {
            // Aurora answered (or was never reached): no case was made.
            progress.create_sent = false;
            ctx.save_progress(progress).await?;
            Err(aurora_stop(&error))
        }
    }
}

async fn add_fallback_note(
    config: &FlowsConfig,
    ctx: &JobContext,
    client: &AuroraClient,
    progress: &mut JobProgress,
    case_ref: &str,
    files: &[AttachmentMeta],
) -> Result<(), Stop> {
    let case_number = progress.case_number.clone().unwrap_or_default();
    let base = config.connect_base_url.trim_end_matches('/');
    let rejected: Vec<(AttachmentId, String, String)> = progress
        .rejected_attachments
        .iter()
        .map(|id| {
            let name = files
                .iter()
                .find(|f| f.id == *id)
                .map(|f| f.name.clone())
                .unwrap_or_else(|| format!("attachment {id}"));
            let link = format!(
                "{base}/cases/{}/attachments/{id}",
                crate::runtime::aurora::percent_encode(case_ref)
            );
            (*id, name, link)
        })
        .collect();
    let mut note = String::from(
        "Files sent with this report that could not be attached here are available in Connect:",
    );
    for (_, name, link) in &rejected {
        note.push_str(&format!("\n- {name}: {link}"));
    }
    client
        .add_note(&case_number, &note, &[])
        .await
        .map_err(|e| aurora_stop(&e))?;
    progress.extra.insert(NOTE_ADDED.into(), Value::Bool(true));
    ctx.save_progress(progress).await?;
    for (id, name, link) in rejected {
        let why = progress
            .extra
            .get(REJECTED_REASONS)
            .and_then(|r| r.get(id.to_string()))
            .and_then(Value::as_str)
            .unwrap_or("Aurora refused it");
        ctx.log(
            NewLogEntry::new(LogOutcome::AttachmentFallback)
                .aurora_case_number(&case_number)
                .reason(format!(
                    "{name} (attachment {id}) was not attached: {why}; the note on Aurora case \
                     {case_number} links it instead: {link}"
                )),
        )
        .await?;
    }
    Ok(())
}

/// The reason of the `created` entry.
fn created_reason(
    case_number: &str,
    progress: &JobProgress,
    note_refused: bool,
    written: &Result<Vec<String>, String>,
) -> String {
    let mut reason = format!("Aurora case {case_number} created");
    if let Some(contact) = &progress.contact_id {
        reason.push_str(&format!(" for contact {contact}"));
    }
    let (sent, linked) = (
        progress.uploaded_attachments.len(),
        progress.rejected_attachments.len(),
    );
    if sent + linked > 0 {
        let fallback = if note_refused {
            "refused and not linked"
        } else {
            "linked from a note"
        };
        reason.push_str(&format!(
            "; {sent} {} attached, {linked} {fallback}",
            plural(sent, "file", "files")
        ));
    }
    match written {
        Ok(targets) if targets.is_empty() => reason.push_str("; no Connect field written back"),
        Ok(targets) => reason.push_str(&format!("; written back: {}", targets.join(", "))),
        Err(_) => {}
    }
    reason
}

/// The files not yet uploaded nor refused.
fn to_upload<'a>(progress: &JobProgress, files: &'a [AttachmentMeta]) -> Vec<&'a AttachmentMeta> {
    files
        .iter()
        .filter(|meta| {
            !progress
                .uploaded_attachments
                .iter()
                .any(|u| u.attachment == meta.id)
                && !progress.rejected_attachments.contains(&meta.id)
        })
        .collect()
}

fn flag(progress: &JobProgress, key: &str) -> bool {
    progress.extra.get(key).and_then(Value::as_bool) == Some(true)
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact(value: Value) -> Option<NewContact> {
        new_contact(value.as_object().expect("object"))
    }

    #[test]
    fn contact_fields_map_to_the_client_contact() {
        let c = contact(json!({"firstName": "Ann", "lastName": "Smith",
            "emailAddress": "ann@example.org", "mobilePhone": "07700900123",
            "homePhone": "01632960123"}))
        .expect("contact");
        assert_eq!(c.first_name.as_deref(), Some("Ann"));
        assert_eq!(c.email.as_deref(), Some("ann@example.org"));
        assert_eq!(c.phone.as_deref(), Some("07700900123"));
        assert_eq!(
            c.extra,
            json!({"homePhone": "01632960123"})
                .as_object()
                .cloned()
                .unwrap_or_default()
        );
        let home = contact(json!({"homePhone": "01632960123"})).expect("contact");
        assert_eq!(home.phone.as_deref(), Some("01632960123"));
        assert!(home.extra.is_empty());
        assert_eq!(contact(json!({})), None);
        assert_eq!(contact(json!({"firstName": " "})), None);
    }

    #[test]
    fn the_body_carries_the_contact_and_the_files() {
        let mut progress = JobProgress {
            contact_id: Some("17".into()),
            ..JobProgress::default()
        };
        progress
            .extra
            .insert(CONTACT_ID_IS_NUMBER.into(), Value::Bool(true));
        progress.uploaded_attachments.push(UploadedAttachment {
            attachment: AttachmentId(3),
            aurora_id: "a-1".into(),
            name: "photo.jpg".into(),
        });
        let evaluated = json!({"caseTypeCode": "POTC"});
        let body = create_body(evaluated.as_object().expect("object"), &progress);
        assert_eq!(
            Value::Object(body),
            json!({"caseTypeCode": "POTC", "contactId": 17,
                   "attachments": [{"id": "a-1", "name": "photo.jpg"}]})
        );
        progress
            .extra
            .insert(CONTACT_ID_IS_NUMBER.into(), Value::Bool(false));
        let body = create_body(evaluated.as_object().expect("object"), &progress);
        assert_eq!(body["contactId"], "17");
    }
}
