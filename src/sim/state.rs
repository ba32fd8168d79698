//! The simulator's memory: tokens, contacts, attachments, cases, blobs and counters.

use super::{Faults, FaultsUpdate, SimConfig};
use crate::runtime::aurora::returns::{
    format_blob_name, insert_path, parse_timestamp, pascal_case,
};
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the simulator has seen, for tests to assert on (`GET /admin/counts`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SimCounts {
    /// Cases created.
    pub cases: u64,
    /// Cases created with an `externalReference` an earlier case already had.
    pub duplicates: u64,
    /// Contacts held (seeded and created).
    pub contacts: u64,
    /// Attachments uploaded.
    pub attachments: u64,
    /// Notes added.
    pub notes: u64,
    /// Successful token grants.
    pub grants: u64,
    /// Refused token grants.
    pub failed_grants: u64,
    /// Cases API calls refused with 401.
    pub unauthorized: u64,
    /// Calls answered 503 by the failure rate.
    pub injected_failures: u64,
    /// Committed calls whose answer was dropped.
    pub lost_answers: u64,
    /// Blobs in the container.
    pub blobs: u64,
    /// Calls per endpoint (`token`, `find_contact`, `create_contact`, `upload_attachment`,
    /// `create_case`, `add_note`, `lookup_by_reference`, `read_back`, `list_blobs`, `fetch_blob`).
    pub calls: BTreeMap<String, u64>,
}

/// The body of `POST /admin/trigger`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerRequest {
    pub case_number: String,
    /// `CS_CLEAR_CASE`, `CS_CHANGE_QUEUE`, …
    pub trigger: String,
    /// When the snapshot is written, RFC 3339 (default: now); decides the blob name.
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub trigger_source: Option<String>,
    /// Keys merged into `Message` (PascalCase, as Aurora writes them).
    #[serde(default)]
    pub message: Map<String, Value>,
    /// Any other key also goes into `Message`.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

pub(crate) struct StoredAttachment {
    pub file_name: String,
    pub content_type: String,
    pub size: usize,
}

pub(crate) struct StoredCase {
    pub case_number: String,
    pub body: Value,
    pub created: Timestamp,
    pub notes: Vec<Value>,
}

pub(crate) struct SimState {
    pub rng: StdRng,
    pub faults: Faults,
    pub tokens: HashMap<String, Instant>,
    pub contacts: Vec<Value>,
    next_contact: i64,
    pub attachments: HashMap<String, StoredAttachment>,
    pub cases: Vec<StoredCase>,
    pub by_number: HashMap<String, usize>,
    pub by_reference: HashMap<String, String>,
    pub blobs: BTreeMap<String, Vec<u8>>,
    blob_sequence: u64,
    pub counts: SimCounts,
    /// Fault draws made so far, per request key.
    pub draws: HashMap<[u8; 32], u64>,
}

pub(crate) struct Shared {
    pub config: SimConfig,
    state: Mutex<SimState>,
    pub stopped: watch::Receiver<bool>,
}

impl Shared {
    pub fn new(config: SimConfig, stopped: watch::Receiver<bool>) -> Shared {
        let mut state = SimState {
            rng: StdRng::seed_from_u64(config.seed),
            faults: config.faults.clone(),
            tokens: HashMap::new(),
            contacts: Vec::new(),
            next_contact: 5001,
            attachments: HashMap::new(),
            cases: Vec::new(),
            by_number: HashMap::new(),
            by_reference: HashMap::new(),
            blobs: BTreeMap::new(),
            blob_sequence: 0,
            counts: SimCounts::default(),
            draws: HashMap::new(),
        };
        for contact in &config.contacts {
            state.add_contact(contact.clone());
        }
        Shared {
            config,
            state: Mutex::new(state),
            stopped,
        }
    }

    /// The state, even if a panic elsewhere poisoned the lock.
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn count_call(&self, endpoint: &str) {
        *self
            .lock()
            .counts
            .calls
            .entry(endpoint.to_owned())
            .or_default() += 1;
    }

    pub fn counts(&self) -> SimCounts {
        let state = self.lock();
        let mut counts = state.counts.clone();
        counts.contacts = state.contacts.len() as u64;
        counts.blobs = state.blobs.len() as u64;
        counts
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    pub fn update_faults(&self, update: &FaultsUpdate) -> Result<Faults, String> {
        let mut state = self.lock();
        state.faults.apply(update)?;
        Ok(state.faults.clone())
    }

    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Rolls the seeded dice for the `n`-th request with this `key` (`n` counted per salt and
    /// key): true with probability `rate`. The draw depends only on the seed, the salt, the key
    /// and `n`, so the same calls fail whatever order concurrent clients send them in.
    pub fn roll_for(&self, rate: f64, salt: &[u8], key: &[u8]) -> bool {
        if rate <= 0.0 {
            return false;
        }
        if rate >= 1.0 {
            return true;
        }
        let mut digest = Sha256::new();
        digest.update(self.config.seed.to_le_bytes());
        digest.update((salt.len() as u64).to_le_bytes());
        digest.update(salt);
        digest.update(key);
        let subject: [u8; 32] = digest.finalize().into();
        let n = {
            let mut state = self.lock();
            let seen = state.draws.entry(subject).or_insert(0);
            *seen += 1;
            *seen - 1
        };
        let mut digest = Sha256::new();
        digest.update(subject);
        digest.update(n.to_le_bytes());
        let draw: [u8; 32] = digest.finalize().into();
        let mut head = [0u8; 8];
        head.copy_from_slice(&draw[..8]);
        // The top 53 bits as a fraction in [0, 1).
        let x = (u64::from_le_bytes(head) >> 11) as f64 / (1u64 << 53) as f64;
        x < rate
    }

    /// Waits `latency_ms`, or less when the simulator stops.
    pub async fn latency(&self) {
        let ms = self.lock().faults.latency_ms;
        if ms > 0 {
            let mut stopped = self.stopped.clone();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        }
    }

    /// Hangs (until the client gives up or the simulator stops): the answer is lost.
    pub async fn lose_answer(&self) {
        self.lock().counts.lost_answers += 1;
        let mut stopped = self.stopped.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = stopped.wait_for(|s| *s) => {}
        }
    }

    pub fn issue_token(&self) -> (String, u64) {
        let mut state = self.lock();
        let lifetime = state.faults.token_lifetime_secs;
        let token = random_hex(&mut state.rng, 32);
        let expires = Instant::now() + Duration::from_secs(lifetime);
        state.tokens.retain(|_, exp| *exp > Instant::now());
        state.tokens.insert(token.clone(), expires);
        state.counts.grants += 1;
        (token, lifetime)
    }

    pub fn token_valid(&self, token: &str) -> bool {
        let state = self.lock();
        state
            .tokens
            .get(token)
            .is_some_and(|exp| *exp > Instant::now())
    }

    pub fn put_blob(&self, name: &str, body: Vec<u8>) {
        self.lock().blobs.insert(name.to_owned(), body);
    }

    pub fn case_json(&self, case_number: &str) -> Option<Value> {
        let state = self.lock();
        let case = state.cases.get(*state.by_number.get(case_number)?)?;
        Some(json!({
            "caseNumber": case.case_number,
            "created": case.created.to_string(),
            "body": case.body,
            "notes": case.notes,
        }))
    }

    pub fn attachment_json(&self, id: &str) -> Option<Value> {
        let state = self.lock();
        let a = state.attachments.get(id)?;
        Some(
            json!({"id": id, "fileName": a.file_name, "contentType": a.content_type, "size": a.size}),
        )
    }

    /// Writes a snapshot blob named as Aurora names them (UK local time).
    pub fn trigger(&self, request: TriggerRequest) -> Result<(String, Value), String> {
        if request.case_number.trim().is_empty() {
            return Err("caseNumber is required".into());
        }
        if request.trigger.trim().is_empty() || request.trigger.contains(['/', '.', ' ']) {
            return Err("trigger must be a name like CS_CLEAR_CASE".into());
        }
        let at = match request.at.as_deref() {
            None => Timestamp::now(),
            Some(text) => {
                parse_timestamp(text).ok_or_else(|| format!("at: {text:?} is not a time"))?
            }
        };
        let mut state = self.lock();
        let mut message = Map::new();
        message.insert("CaseNumber".into(), request.case_number.clone().into());
        if let Some(case) = state
            .by_number
            .get(&request.case_number)
            .and_then(|i| state.cases.get(*i))
        {
            case_message(&self.config, case, &mut message);
        }
        message
            .entry("ClearanceReasonCode")
            .or_insert_with(|| "".into());
        message
            .entry("ClearanceReasonPortalText")
            .or_insert_with(|| "".into());
        for (k, v) in request.message.iter().chain(request.extra.iter()) {
            message.insert(k.clone(), v.clone());
        }
        let snapshot = json!({
            "TriggerSource": request.trigger_source.as_deref().unwrap_or("Interactive Source"),
            "TriggerType": request.trigger,
            "Date": seven_digit(at),
            "Message": message,
        });
        state.blob_sequence += 1;
        let mut name = format_blob_name(at, state.blob_sequence, &request.trigger);
        while state.blobs.contains_key(&name) {
            state.blob_sequence += 1;
            name = format_blob_name(at, state.blob_sequence, &request.trigger);
        }
        let bytes = serde_json::to_vec_pretty(&snapshot).map_err(|e| e.to_string())?;
        state.blobs.insert(name.clone(), bytes);
        Ok((name, snapshot))
    }
}

impl SimState {
    /// Stores a contact, giving it an `id` unless it has one; returns the id.
    pub fn add_contact(&mut self, contact: Value) -> Value {
        let mut contact = match contact {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let id = match contact.get("id") {
            Some(id) if !id.is_null() => id.clone(),
            _ => {
                let id = self.next_contact;
                self.next_contact += 1;
                Value::from(id)
            }
        };
        contact.insert("id".into(), id.clone());
        self.contacts.push(Value::Object(contact));
        id
    }

    pub fn contact_exists(&self, id: &Value) -> bool {
        let same = |a: &Value| match (a, id) {
            (Value::Number(x), Value::String(y)) | (Value::String(y), Value::Number(x)) => {
                x.to_string() == *y
            }
            _ => a == id,
        };
        self.contacts.iter().any(|c| c.get("id").is_some_and(same))
    }

    pub fn new_attachment_id(&mut self) -> String {
        let h = random_hex(&mut self.rng, 32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    pub fn new_case_number(&self) -> String {
        (100_001 + self.cases.len() as u64).to_string()
    }
}

/// The snapshot `Message` of a stored case: its CreateCase keys in PascalCase, its UDFs where
/// the schema's `[udf_wire]` says snapshots hold them, and an event history.
fn case_message(config: &SimConfig, case: &StoredCase, message: &mut Map<String, Value>) {
    let wire = &config.rules.udf_wire;
    if let Value::Object(body) = &case.body {
        for (key, value) in body {
            if key == &wire.field || key == "attachments" {
                continue;
            }
            message.insert(pascal_case(key), value.clone());
        }
        let udfs = super::rules::udf_pairs(&case.body, wire);
        if !udfs.is_empty() {
            let list: Vec<Value> = udfs
                .into_iter()
                .map(|(code, value)| {
                    json!({ wire.snapshot_code_key.clone(): code, wire.snapshot_value_key.clone(): value })
                })
                .collect();
            let path = wire
                .snapshot_path
                .strip_prefix("Message.")
                .unwrap_or(&wire.snapshot_path);
            insert_path(message, path, Value::Array(list));
        }
        let attachments = body
            .get("attachments")
            .and_then(Value::as_array)
            .map(|a| a.len())
            .unwrap_or(0);
        message.insert("AttachmentCount".into(), attachments.into());
    }
    message.insert(
        "CaseEventHistory".into(),
        json!([{"EventDateTime": seven_digit(case.created), "EventType": "CREATED"}]),
    );
    message.insert("NoteCount".into(), case.notes.len().into());
}

/// `2025-12-02T09:46:56.8459700Z`: seven fractional digits, as .NET writes them.
pub(crate) fn seven_digit(t: Timestamp) -> String {
    let whole = Timestamp::from_second(t.as_second()).unwrap_or(t);
    let text = whole.to_string();
    let stem = text.trim_end_matches('Z');
    format!("{stem}.{:07}Z", t.subsec_nanosecond() / 100)
}

pub(crate) fn random_hex(rng: &mut StdRng, len: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..len)
        .map(|_| HEX[rng.random_range(0..16usize)] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_digits() {
        let t: Timestamp = "2025-12-02T09:46:56.84597Z".parse().expect("ts");
        assert_eq!(seven_digit(t), "2025-12-02T09:46:56.8459700Z");
        let t: Timestamp = "2025-12-02T09:46:56Z".parse().expect("ts");
        assert_eq!(seven_digit(t), "2025-12-02T09:46:56.0000000Z");
    }

    #[test]
    fn paths_and_names() {
        let mut m = Map::new();
        insert_path(&mut m, "A.B", json!(1));
        assert_eq!(Value::Object(m), json!({"A": {"B": 1}}));
        assert_eq!(pascal_case("caseTypeCode"), "CaseTypeCode");
    }
}
