//! Small state of the service: settings, processed snapshot names and poller cursors.
//!
//! Settings are stored as given (a setting may hold a credential the service needs); redacting
//! them for display is the caller's concern. Nothing here is ever written to the integration log.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Store, StoreResult, from_json_text, now_ms, to_json_text, with_pool, with_writer};

impl Store {
    /// The setting `name`, if set.
    pub async fn get_setting(&self, name: &str) -> StoreResult<Option<Value>> {
        let sql = "SELECT value FROM settings WHERE name = $1";
        let text: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(name).fetch_optional(pool).await?
        });
        text.map(|t| from_json_text("setting", &t)).transpose()
    }

    /// Every setting, by name.
    pub async fn all_settings(&self) -> StoreResult<BTreeMap<String, Value>> {
        let sql = "SELECT name, value FROM settings ORDER BY name";
        let rows: Vec<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(name, text)| Ok((name, from_json_text("setting", &text)?)))
            .collect()
    }

    /// Sets `name` to `value`.
    pub async fn put_setting(&self, name: &str, value: &Value) -> StoreResult<()> {
        self.put_settings(&[(name, value)]).await
    }

    /// Sets several settings at once: all are written or none.
    pub async fn put_settings(&self, settings: &[(&str, &Value)]) -> StoreResult<()> {
        let texts = settings
            .iter()
            .map(|(name, value)| Ok((*name, to_json_text(value)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let now = now_ms();
        let sql = "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
                   updated_at = excluded.updated_at";
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            for (name, text) in &texts {
                sqlx::query(sql)
                    .bind(*name)
                    .bind(text)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes the setting `name`; `false` when it was not set.
    pub async fn delete_setting(&self, name: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM settings WHERE name = $1";
        let affected = with_writer!(self, pool => {
            sqlx::query(sql).bind(name).execute(pool).await?.rows_affected()
        });
        Ok(affected > 0)
    }

    /// Records that the snapshot `name` was processed. `true` the first time, `false` when it was
    /// recorded already (so two pollers never both act on one snapshot).
    pub async fn mark_snapshot_processed(&self, name: &str) -> StoreResult<bool> {
        let sql = "INSERT INTO processed_snapshots (name, processed_at) VALUES ($1, $2) \
                   ON CONFLICT (name) DO NOTHING";
        let affected = with_writer!(self, pool => {
            sqlx::query(sql).bind(name).bind(now_ms()).execute(pool).await?.rows_affected()
        });
        Ok(affected > 0)
    }

    /// Whether the snapshot `name` was processed.
    pub async fn is_snapshot_processed(&self, name: &str) -> StoreResult<bool> {
        let sql = "SELECT COUNT(*) FROM processed_snapshots WHERE name = $1";
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(name).fetch_one(pool).await?
        });
        Ok(n > 0)
    }

    /// The poller cursor `name` (for example the last blob name listed), if set.
    pub async fn get_cursor(&self, name: &str) -> StoreResult<Option<String>> {
        let sql = "SELECT value FROM cursors WHERE name = $1";
        let value: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(name).fetch_optional(pool).await?
        });
        Ok(value)
    }

    /// Sets the poller cursor `name`.
    pub async fn set_cursor(&self, name: &str, value: &str) -> StoreResult<()> {
        let sql = "INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
                   updated_at = excluded.updated_at";
        with_writer!(self, pool => {
            sqlx::query(sql).bind(name).bind(value).bind(now_ms()).execute(pool).await?;
        });
        Ok(())
    }
}
