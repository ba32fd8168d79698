//! Connect cases served by the integration, their references and their attachments.
//!
//! A case is keyed by its Connect reference and keeps the body Connect sent (type, status, fields,
//! dates, person, address) as JSON. Its references (named values such as the Aurora case number)
//! live in their own table, indexed by name and value, so that "which cases hold Aurora case number
//! X in reference R" is one index look-up. Attachments keep their bytes in the database, up to
//! [`StoreConfig::max_attachment_bytes`](super::StoreConfig::max_attachment_bytes).

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Store, StoreError, StoreResult, from_json_text, now_ms, timestamp, to_json_text, with_pool,
    with_writer,
};

/// A Connect case as sent to the service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The Connect case reference (the key).
    pub reference: String,
    /// The Connect case type.
    pub case_type: String,
    /// The Connect status, if sent.
    pub status: Option<String>,
    /// Everything else Connect sent (fields, dates, person, address), as JSON.
    pub body: Value,
    /// Named references of the case (reference name → value).
    #[serde(default)]
    pub references: BTreeMap<String, String>,
}

/// A stored case with its times.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredCase {
    /// The case.
    #[serde(flatten)]
    pub case: CaseRecord,
    /// When it was first stored.
    #[serde(with = "super::rfc3339")]
    pub created_at: Timestamp,
    /// When it last changed.
    #[serde(with = "super::rfc3339")]
    pub updated_at: Timestamp,
}

/// Identifier of a stored attachment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttachmentId(pub i64);

impl fmt::Display for AttachmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An attachment without its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttachmentMeta {
    /// Its id.
    pub id: AttachmentId,
    /// The case it belongs to.
    pub case_ref: String,
    /// The file name.
    pub name: String,
    /// The MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// When it was stored.
    #[serde(with = "super::rfc3339")]
    pub created_at: Timestamp,
}

/// An attachment with its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// What is known about it.
    pub meta: AttachmentMeta,
    /// The file's bytes.
    pub content: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("meta", &self.meta)
            .field("content", &format_args!("<{} bytes>", self.content.len()))
            .finish()
    }
}

/// The stored text of a case body as it was read: a later write names it to land only if nobody
/// changed the body since.
#[derive(Clone, PartialEq, Eq)]
pub struct CaseVersion(pub(crate) String);

impl fmt::Debug for CaseVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body is the case's content; its size says enough.
        write!(f, "CaseVersion(<{} bytes>)", self.0.len())
    }
}

/// A case as [`Store::read_case`] reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseRead {
    /// The case with its references.
    pub case: StoredCase,
    /// The version of its body.
    pub version: CaseVersion,
    /// How many attachments are stored for it.
    pub attachments: u64,
}

type MetaRow = (i64, String, String, String, i64, i64);
type AttachmentRow = (i64, String, String, String, i64, i64, Vec<u8>);

fn meta_from_row(row: MetaRow) -> StoreResult<AttachmentMeta> {
    let (id, case_ref, name, content_type, size, created_at) = row;
    Ok(AttachmentMeta {
        id: AttachmentId(id),
        case_ref,
        name,
        content_type,
        size: u64::try_from(size)
            .map_err(|_| StoreError::Corrupt(format!("attachment size {size}")))?,
        created_at: timestamp(created_at)?,
    })
}

const UPSERT_CASE_SQL: &str = "INSERT INTO cases (reference, case_type, status, body, created_at, \
     updated_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (reference) DO UPDATE SET \
     case_type = excluded.case_type, status = excluded.status, body = excluded.body, \
     updated_at = excluded.updated_at";

/// Sets one reference of an existing case (no row is written when the case does not exist).
pub(super) const SET_REFERENCE_SQL: &str = "INSERT INTO case_references (case_ref, name, value, updated_at) \
     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM cases WHERE reference = $1) \
     ON CONFLICT (case_ref, name) DO UPDATE SET value = excluded.value, \
     updated_at = excluded.updated_at";

/// Sets every reference a [`CaseRecord`] names, in the transaction `tx`. (A macro, because each
/// database backend has its own transaction type.)
macro_rules! set_references {
    ($tx:ident, $case:expr, $now:expr) => {
        for (name, value) in &$case.references {
            sqlx::query(SET_REFERENCE_SQL)
                .bind(&$case.reference)
                .bind(name)
                .bind(value)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

impl Store {
    /// Stores a case: creates it, or replaces its type, status and body. The references given are
    /// set (added or overwritten); references the record does not name are kept, so a value the
    /// integration wrote (such as the Aurora case number) survives a later update from Connect.
    pub async fn upsert_case(&self, case: &CaseRecord) -> StoreResult<()> {
        let body = to_json_text(&case.body)?;
        let now = now_ms();
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(UPSERT_CASE_SQL)
                .bind(&case.reference)
                .bind(&case.case_type)
                .bind(case.status.as_deref())
                .bind(&body)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            set_references!(tx, case, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stores a case as [`Store::upsert_case`] does, except that the stored body's member
    /// `keep` (the integration's own state) stays as it is, whatever `case.body` holds there.
    /// The write only lands on the body it was merged with: when another writer (a snapshot
    /// being applied) changes the case in between, the merge is done again, so neither write is
    /// lost. Answers whether the case is new.
    pub async fn upsert_case_keeping(&self, case: &CaseRecord, keep: &str) -> StoreResult<bool> {
        Ok(self.put_case_keeping(case, keep).await?.0)
    }

    /// [`Store::upsert_case_keeping`], answering also the case as this write left it (its body,
    /// all its references, its times and the number of its files), without reading it again. A
    /// reference or file another writer added since the case was read for the merge is not in
    /// the answer (it is in the store).
    pub async fn put_case_keeping(
        &self,
        case: &CaseRecord,
        keep: &str,
    ) -> StoreResult<(bool, CaseRead)> {
        const INSERT_SQL: &str = "INSERT INTO cases (reference, case_type, status, body, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (reference) DO NOTHING";
        const UPDATE_SQL: &str = "UPDATE cases SET case_type = $2, status = $3, body = $4, \
             updated_at = $5 WHERE reference = $1 AND body = $6";
        let mut fresh = case.body.clone();
        if let Value::Object(body) = &mut fresh {
            body.remove(keep);
        }
        loop {
            // Read outside the transaction: a read that then writes would have to upgrade its
            // lock, which SQLite refuses once another connection has written; the
            // compare-and-set below makes the pair safe instead.
            let old = self.read_case(&case.reference).await?;
            let now = now_ms();
            let mut body = fresh.clone();
            let sql = match &old {
                None => INSERT_SQL,
                Some(old) => {
                    if let (Some(kept), Value::Object(body)) =
                        (old.case.case.body.get(keep), &mut body)
                    {
                        body.insert(keep.to_owned(), kept.clone());
                    }
                    UPDATE_SQL
                }
            };
            let text = to_json_text(&body)?;
            let outcome: Option<bool> = with_writer!(self, pool => {
                let query = || {
                    let query = sqlx::query(sql)
                        .bind(&case.reference)
                        .bind(&case.case_type)
                        .bind(case.status.as_deref())
                        .bind(&text)
                        .bind(now);
                    match &old {
                        Some(old) => query.bind(&old.version.0),
                        None => query,
                    }
                };
                if case.references.is_empty() {
                    // One statement: no transaction needed.
                    let affected = query().execute(pool).await?.rows_affected();
                    (affected > 0).then_some(old.is_none())
                } else {
                    let mut tx = pool.begin().await?;
                    if query().execute(&mut *tx).await?.rows_affected() == 0 {
                        tx.rollback().await?;
                        None
                    } else {
                        set_references!(tx, case, now);
                        tx.commit().await?;
                        Some(old.is_none())
                    }
                }
            });
            let Some(created) = outcome else {
                // Another writer got there between the read and the write: merge again.
                continue;
            };
            let (mut references, created_at, attachments) = match old {
                Some(old) => (
                    old.case.case.references,
                    old.case.created_at,
                    old.attachments,
                ),
                None => (BTreeMap::new(), timestamp(now)?, 0),
            };
            references.extend(case.references.clone());
            let written = CaseRead {
                case: StoredCase {
                    case: CaseRecord {
                        reference: case.reference.clone(),
                        case_type: case.case_type.clone(),
                        status: case.status.clone(),
                        body,
                        references,
                    },
                    created_at,
                    updated_at: timestamp(now)?,
                },
                version: CaseVersion(text),
                attachments,
            };
            return Ok((created, written));
        }
    }

    /// The case with this reference, with all its references.
    pub async fn get_case(&self, reference: &str) -> StoreResult<Option<StoredCase>> {
        Ok(self.read_case(reference).await?.map(|read| read.case))
    }

    /// The case with this reference, with all its references, the version of its body that was
    /// read (for [`Store::complete_create`]'s compare-and-set) and the number of its attachments.
    /// One statement.
    pub async fn read_case(&self, reference: &str) -> StoreResult<Option<CaseRead>> {
        let sql = "SELECT c.case_type, c.status, c.body, c.created_at, c.updated_at, \
                   (SELECT COUNT(*) FROM attachments a WHERE a.case_ref = c.reference), r.name, \
                   r.value FROM cases c LEFT JOIN case_references r ON r.case_ref = c.reference \
                   WHERE c.reference = $1 ORDER BY r.name";
        type Row = (
            String,
            Option<String>,
            String,
            i64,
            i64,
            i64,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(reference).fetch_all(pool).await?
        });
        let mut rows = rows.into_iter();
        let Some((case_type, status, body, created_at, updated_at, attachments, name, value)) =
            rows.next()
        else {
            return Ok(None);
        };
        let mut references = BTreeMap::new();
        for (name, value) in std::iter::once((name, value)).chain(rows.map(|r| (r.6, r.7))) {
            if let (Some(name), Some(value)) = (name, value) {
                references.insert(name, value);
            }
        }
        Ok(Some(CaseRead {
            case: StoredCase {
                case: CaseRecord {
                    reference: reference.to_owned(),
                    case_type,
                    status,
                    body: from_json_text("case body", &body)?,
                    references,
                },
                created_at: timestamp(created_at)?,
                updated_at: timestamp(updated_at)?,
            },
            version: CaseVersion(body),
            attachments: u64::try_from(attachments).unwrap_or(0),
        }))
    }

    /// Replaces the body of an existing case (fields written back by the integration).
    pub async fn set_case_body(&self, reference: &str, body: &Value) -> StoreResult<()> {
        let body = to_json_text(body)?;
        let sql = "UPDATE cases SET body = $1, updated_at = $2 WHERE reference = $3";
        let affected = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(&body)
                .bind(now_ms())
                .bind(reference)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::UnknownCase(reference.to_owned()));
        }
        Ok(())
    }

    /// The references of a case (name → value); empty for an unknown case.
    pub async fn case_references(&self, reference: &str) -> StoreResult<BTreeMap<String, String>> {
        let sql = "SELECT name, value FROM case_references WHERE case_ref = $1 ORDER BY name";
        let rows: Vec<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(reference).fetch_all(pool).await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Sets reference `name` of case `reference` to `value`.
    pub async fn set_case_reference(
        &self,
        reference: &str,
        name: &str,
        value: &str,
    ) -> StoreResult<()> {
        let affected = with_writer!(self, pool => {
            sqlx::query(SET_REFERENCE_SQL)
                .bind(reference)
                .bind(name)
                .bind(value)
                .bind(now_ms())
                .execute(pool)
                .await?
                .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::UnknownCase(reference.to_owned()));
        }
        Ok(())
    }

    /// Removes reference `name` from a case; `false` when it had none.
    pub async fn remove_case_reference(&self, reference: &str, name: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM case_references WHERE case_ref = $1 AND name = $2";
        let affected = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(reference)
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(affected > 0)
    }

    /// The references of the cases whose reference `name` holds `value`, in order.
    pub async fn find_cases_by_reference(
        &self,
        name: &str,
        value: &str,
    ) -> StoreResult<Vec<String>> {
        let sql = "SELECT case_ref FROM case_references WHERE name = $1 AND value = $2 \
                   ORDER BY case_ref";
        let rows: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(name).bind(value).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Stores a file of an existing case. Fails with [`StoreError::AttachmentTooLarge`] above the
    /// configured maximum and with [`StoreError::UnknownCase`] when the case does not exist.
    pub async fn add_attachment(
        &self,
        case_ref: &str,
        name: &str,
        content_type: &str,
        content: &[u8],
    ) -> StoreResult<AttachmentId> {
        let size = u64::try_from(content.len()).unwrap_or(u64::MAX);
        let max = self.inner.config.max_attachment_bytes;
        if size > max {
            return Err(StoreError::AttachmentTooLarge { size, max });
        }
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        let sql = "INSERT INTO attachments (case_ref, name, content_type, size, content, \
                   created_at) SELECT $1, $2, $3, $4, $5, $6 \
                   WHERE EXISTS (SELECT 1 FROM cases WHERE reference = $1) RETURNING id";
        let id: Option<i64> = with_writer!(self, pool => {
            sqlx::query_scalar(sql)
                .bind(case_ref)
                .bind(name)
                .bind(content_type)
                .bind(size)
                .bind(content)
                .bind(now_ms())
                .fetch_optional(pool)
                .await?
        });
        id.map(AttachmentId)
            .ok_or_else(|| StoreError::UnknownCase(case_ref.to_owned()))
    }

    /// The attachments of a case, oldest first, without their bytes.
    pub async fn list_attachments(&self, case_ref: &str) -> StoreResult<Vec<AttachmentMeta>> {
        let sql = "SELECT id, case_ref, name, content_type, size, created_at FROM attachments \
                   WHERE case_ref = $1 ORDER BY id";
        let rows: Vec<MetaRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(case_ref).fetch_all(pool).await?
        });
        rows.into_iter().map(meta_from_row).collect()
    }

    /// One attachment with its bytes.
    pub async fn get_attachment(&self, id: AttachmentId) -> StoreResult<Option<Attachment>> {
        let sql = "SELECT id, case_ref, name, content_type, size, created_at, content \
                   FROM attachments WHERE id = $1";
        let row: Option<AttachmentRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id.0).fetch_optional(pool).await?
        });
        let Some((id, case_ref, name, content_type, size, created_at, content)) = row else {
            return Ok(None);
        };
        Ok(Some(Attachment {
            meta: meta_from_row((id, case_ref, name, content_type, size, created_at))?,
            content,
        }))
    }
}
