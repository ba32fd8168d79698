//! Connect values written back from Aurora: field writes merged into a stored case's body, in
//! snapshot order.
//!
//! A case body keeps the values written back under `fields` and `dates` (as Connect sends them),
//! and, per reference, the time of the newest snapshot applied under
//! `integration.applied.{reference}` (RFC 3339). [`Store::apply_field_writes`] reads the case,
//! lets the caller evaluate its writes against it, checks the snapshot time and replaces the
//! body only if it is still the one that was read (a compare-and-set on the stored text). When
//! another writer changed the case in between, the case is read and evaluated again. So two
//! workers applying snapshots of one case cannot interleave: the check of the applied time and the
//! write are one atomic step, and an older snapshot never overwrites a newer one.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{
    CaseRead, CaseVersion, Store, StoreError, StoreResult, StoredCase, now_ms, to_json_text,
    with_writer,
};
use crate::runtime::eval::{FieldWrite, WriteTarget};

/// Where in a case body the integration keeps its own bookkeeping.
pub const INTEGRATION_KEY: &str = "integration";

/// When the writes being applied were read from Aurora.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotTime {
    /// The snapshot built right after a create: written only while no return-path snapshot has
    /// been applied for the reference, and it records no time.
    Baseline,
    /// A return-path snapshot taken at this time: written unless a newer one was applied; a
    /// snapshot taken at the same time as the applied one is written again (a retried job).
    TakenAt(Timestamp),
}

/// What [`Store::apply_field_writes`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldsApplied {
    /// The writes are in the case body; the targets written, as templates name them
    /// (`field.status`, `date.cleared`), in order.
    Written(Vec<String>),
    /// Nothing was written: a snapshot taken at `applied` was already applied for the reference.
    Superseded {
        /// The time of the snapshot already applied.
        applied: Timestamp,
    },
}

/// The time of the newest snapshot applied to `body` for `reference`, if any.
pub fn applied_snapshot_time(body: &Value, reference: &str) -> Option<Timestamp> {
    body.get(INTEGRATION_KEY)?
        .get("applied")?
        .get(reference)?
        .as_str()?
        .parse()
        .ok()
}

/// Merges `writes` into a case body: `field.x` into `fields.x`, `date.x` into `dates.x`. A body
/// that is not an object, or whose `fields` / `dates` is not an object, is given one. Returns the
/// targets written, in order.
pub fn merge_field_writes(body: &mut Value, writes: &[FieldWrite]) -> Vec<String> {
    let mut written = Vec::with_capacity(writes.len());
    let object = object_mut(body);
    for write in writes {
        let (section, name, label) = match &write.target {
            WriteTarget::Field(name) => ("fields", name, "field"),
            WriteTarget::Date(name) => ("dates", name, "date"),
        };
        let section = object
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        object_mut(section).insert(name.clone(), write.value.clone());
        written.push(format!("{label}.{name}"));
    }
    written
}

/// Records in `body` that a snapshot taken at `taken_at` was applied for `reference`.
pub fn record_applied(body: &mut Value, reference: &str, taken_at: Timestamp) {
    let integration = object_mut(body)
        .entry(INTEGRATION_KEY)
        .or_insert_with(|| Value::Object(Map::new()));
    let applied = object_mut(integration)
        .entry("applied")
        .or_insert_with(|| Value::Object(Map::new()));
    object_mut(applied).insert(reference.to_owned(), Value::String(taken_at.to_string()));
}

/// The object in `value`, replacing anything else with an empty object.
fn object_mut(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object above"),
    }
}

impl Store {
    /// Applies field writes to case `case_ref` for `reference`.
    ///
    /// `evaluate` gets the case as stored and returns the writes (or its own error, returned as
    /// `Ok(Err(..))` with nothing written). With [`SnapshotTime::TakenAt`], the writes are skipped
    /// when a newer snapshot was already applied ([`FieldsApplied::Superseded`]); otherwise they
    /// are merged and the time recorded. The body is replaced only if nobody changed it since it
    /// was read; else the case is read and `evaluate` called again.
    ///
    /// Fails with [`StoreError::UnknownCase`] when no case has the reference.
    pub async fn apply_field_writes<E>(
        &self,
        case_ref: &str,
        reference: &str,
        time: SnapshotTime,
        mut evaluate: impl FnMut(&StoredCase) -> Result<Vec<FieldWrite>, E> + Send,
    ) -> StoreResult<Result<FieldsApplied, E>> {
        let write_sql =
            "UPDATE cases SET body = $1, updated_at = $2 WHERE reference = $3 AND body = $4";
        loop {
            let Some(CaseRead {
                case: stored,
                version: CaseVersion(text),
                ..
            }) = self.read_case(case_ref).await?
            else {
                return Err(StoreError::UnknownCase(case_ref.to_owned()));
            };
            let applied = applied_snapshot_time(&stored.case.body, reference);
            match (time, applied) {
                (SnapshotTime::Baseline, Some(applied)) => {
                    return Ok(Ok(FieldsApplied::Superseded { applied }));
                }
                (SnapshotTime::TakenAt(at), Some(applied)) if applied > at => {
                    return Ok(Ok(FieldsApplied::Superseded { applied }));
                }
                _ => {}
            }
            let writes = match evaluate(&stored) {
                Ok(writes) => writes,
                Err(error) => return Ok(Err(error)),
            };
            let mut body = stored.case.body;
            let written = merge_field_writes(&mut body, &writes);
            if let SnapshotTime::TakenAt(at) = time {
                record_applied(&mut body, reference, at);
            }
            let new_text = to_json_text(&body)?;
            let affected = with_writer!(self, pool => {
                sqlx::query(write_sql)
                    .bind(&new_text)
                    .bind(now_ms())
                    .bind(case_ref)
                    .bind(&text)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            if affected > 0 {
                return Ok(Ok(FieldsApplied::Written(written)));
            }
            // Changed since it was read (or removed): read it again.
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(target: WriteTarget, value: Value) -> FieldWrite {
        FieldWrite { target, value }
    }

    #[test]
    fn writes_merge_into_fields_and_dates() {
        let mut body = json!({"fields": {"summary": "kept", "status": "old"}, "person": {}});
        let written = merge_field_writes(
            &mut body,
            &[
                write(WriteTarget::Field("status".into()), json!("Closed")),
                write(WriteTarget::Date("cleared".into()), json!("2025-12-02")),
            ],
        );
        assert_eq!(written, ["field.status", "date.cleared"]);
        assert_eq!(
            body,
            json!({"fields": {"summary": "kept", "status": "Closed"},
                   "dates": {"cleared": "2025-12-02"}, "person": {}})
        );
    }

    #[test]
    fn odd_bodies_are_given_objects() {
        let mut body = json!({"fields": 3});
        merge_field_writes(
            &mut body,
            &[write(WriteTarget::Field("a".into()), json!(1))],
        );
        assert_eq!(body, json!({"fields": {"a": 1}}));
        let mut body = Value::Null;
        record_applied(
            &mut body,
            "aurora_case",
            "2025-12-02T09:46:56.8459700Z".parse().expect("time"),
        );
        assert_eq!(
            applied_snapshot_time(&body, "aurora_case"),
            Some("2025-12-02T09:46:56.84597Z".parse().expect("time"))
        );
        assert_eq!(applied_snapshot_time(&body, "other"), None);
    }
}
