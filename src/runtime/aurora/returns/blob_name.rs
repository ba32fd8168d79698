//! Snapshot blob names: `YYYYMMDD_HHMMSS<fraction>_<n>_<TRIGGER>.json`, the time in UK local
//! time (Europe/London), the fraction 2–7 digits, the trigger possibly holding `_`.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use std::cmp::Ordering;

/// The zone Aurora writes blob names in.
pub const BLOB_TIME_ZONE: &str = "Europe/London";

/// A parsed snapshot blob name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobName {
    /// The whole name as listed.
    pub name: String,
    /// The local (UK) time in the name.
    pub local: DateTime,
    /// That time as an instant.
    pub time: Timestamp,
    /// The `<n>` part.
    pub sequence: u64,
    /// The trigger (`CS_CHANGE_QUEUE`).
    pub trigger: String,
}

impl Ord for BlobName {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.sequence, &self.name).cmp(&(other.time, other.sequence, &other.name))
    }
}

impl PartialOrd for BlobName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn london() -> Option<TimeZone> {
    TimeZone::get(BLOB_TIME_ZONE).ok()
}

/// Parses a blob name; `None` for anything not shaped like a snapshot name (callers skip those).
pub fn parse_blob_name(name: &str) -> Option<BlobName> {
    let stem = name.strip_suffix(".json")?;
    let mut parts = stem.splitn(4, '_');
    let day = parts.next()?;
    let clock = parts.next()?;
    let sequence = parts.next()?;
    let trigger = parts.next()?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if day.len() != 8 || !all_digits(day) {
        return None;
    }
    if !(8..=13).contains(&clock.len()) || !all_digits(clock) {
        return None;
    }
    if !all_digits(sequence) || trigger.is_empty() {
        return None;
    }
    let num = |s: &str| s.parse::<i32>().ok();
    let year = i16::try_from(num(&day[0..4])?).ok()?;
    let month = i8::try_from(num(&day[4..6])?).ok()?;
    let dayn = i8::try_from(num(&day[6..8])?).ok()?;
    let hour = i8::try_from(num(&clock[0..2])?).ok()?;
    let minute = i8::try_from(num(&clock[2..4])?).ok()?;
    let second = i8::try_from(num(&clock[4..6])?).ok()?;
    let fraction = &clock[6..];
    let mut nanos = num(fraction)?;
    for _ in fraction.len()..9 {
        nanos *= 10;
    }
    let local = DateTime::new(year, month, dayn, hour, minute, second, nanos).ok()?;
    let time = local.to_zoned_datetime(london()?).ok()?.timestamp();
    Some(BlobName {
        name: name.to_owned(),
        local,
        time,
        sequence: sequence.parse().ok()?,
        trigger: trigger.to_owned(),
    })
}

/// The local (UK) time of an instant, as blob names carry it.
pub fn local_time(time: Timestamp) -> DateTime {
    match london() {
        Some(tz) => time.to_zoned_datetime(tz).datetime(),
        None => time.to_zoned_datetime(TimeZone::UTC).datetime(),
    }
}

/// The blob name Aurora would give a snapshot written at `time` (3 fractional digits).
pub fn format_blob_name(time: Timestamp, sequence: u64, trigger: &str) -> String {
    let t = local_time(time);
    format!(
        "{}{:03}_{sequence}_{trigger}.json",
        compact(t, 6),
        t.subsec_nanosecond() / 1_000_000
    )
}

/// `YYYYMMDD_HHMMSS` cut to `len` characters of the clock part (0 = the date and `_`).
fn compact(t: DateTime, clock_len: usize) -> String {
    let full = format!(
        "{:04}{:02}{:02}_{:02}{:02}{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    full[..9 + clock_len.min(6)].to_owned()
}

/// The listing prefix of one local (UK) day: `YYYYMMDD_`.
pub fn day_prefix(day: jiff::civil::Date) -> String {
    compact(day.to_datetime(jiff::civil::Time::midnight()), 0)
}

/// The listing prefix of the local (UK) hour holding `time`: `YYYYMMDD_HH`.
pub fn hour_prefix(time: Timestamp) -> String {
    compact(local_time(time), 2)
}

/// The longest prefix shared by every name written between `from` and `to` (inclusive):
/// one listing with it covers the window (and may hold names outside it: filter by time).
pub fn common_prefix(from: Timestamp, to: Timestamp) -> String {
    let (from, to) = if from <= to { (from, to) } else { (to, from) };
    let a = compact(local_time(from), 6);
    let b = compact(local_time(to), 6);
    let shared = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    a[..shared].to_owned()
}

/// Listing prefixes that together cover `from..=to`: one per local hour when the window spans
/// at most a day, else one per local day.
pub fn window_prefixes(from: Timestamp, to: Timestamp) -> Vec<String> {
    let (from, to) = if from <= to { (from, to) } else { (to, from) };
    let span = to.as_second() - from.as_second();
    let mut out: Vec<String> = Vec::new();
    if span <= 24 * 3600 {
        let start = from.as_second() - from.as_second().rem_euclid(3600);
        let mut s = start;
        while s <= to.as_second() {
            if let Ok(t) = Timestamp::from_second(s) {
                let p = hour_prefix(t);
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            s += 3600;
        }
    } else {
        let first = local_time(from).date();
        let last = local_time(to).date();
        let mut d = first;
        while d <= last {
            out.push(day_prefix(d));
            match d.tomorrow() {
                Ok(next) => d = next,
                Err(_) => break,
            }
        }
    }
    // A UTC hour starting inside an hour that the clocks repeat or skip still maps to its own
    // local hour; the last hour of the window is always covered.
    let last = hour_prefix(to);
    if span <= 24 * 3600 && !out.contains(&last) {
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn gmt_name() {
        let n = parse_blob_name("20251202_09465684_1_CS_CHANGE_QUEUE.json").expect("name");
        assert_eq!(n.time, ts("2025-12-02T09:46:56.84Z"));
        assert_eq!(n.sequence, 1);
        assert_eq!(n.trigger, "CS_CHANGE_QUEUE");
    }

    #[test]
    fn bst_name() {
        let n = parse_blob_name("20250715_1430051234567_12_CS_CLEAR_CASE.json").expect("name");
        assert_eq!(n.time, ts("2025-07-15T13:30:05.1234567Z"));
        assert_eq!(n.sequence, 12);
        assert_eq!(n.trigger, "CS_CLEAR_CASE");
        assert_eq!(n.local.hour(), 14);
    }

    #[test]
    fn bad_names_are_skipped() {
        for bad in [
            "20250715_143005_1_CS.json",
            "20250715_1430051_1_CS.json",
            "20250715_14300512345678_1_CS.json",
            "20250715_143005123_x_CS.json",
            "20250715_143005123_1_.json",
            "20250715_143005123_1_CS.txt",
            "2025071_143005123_1_CS.json",
            "20251315_143005123_1_CS.json",
            "readme.json",
        ] {
            assert_eq!(parse_blob_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_round_trip() {
        let t = ts("2025-07-15T13:30:05.123Z");
        let name = format_blob_name(t, 3, "CS_RE_QUEUE");
        assert_eq!(name, "20250715_143005123_3_CS_RE_QUEUE.json");
        let parsed = parse_blob_name(&name).expect("name");
        assert_eq!(parsed.time, t);
        let winter = format_blob_name(ts("2025-12-02T09:46:56.845Z"), 1, "CS_CLEAR_CASE");
        assert_eq!(winter, "20251202_094656845_1_CS_CLEAR_CASE.json");
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            common_prefix(ts("2025-07-15T13:00:00Z"), ts("2025-07-15T13:59:59Z")),
            "20250715_14"
        );
        assert_eq!(
            common_prefix(ts("2025-07-15T09:00:00Z"), ts("2025-07-15T13:59:59Z")),
            "20250715_1"
        );
        assert_eq!(
            window_prefixes(ts("2025-07-15T13:10:00Z"), ts("2025-07-15T14:05:00Z")),
            vec!["20250715_14".to_string(), "20250715_15".to_string()]
        );
        assert_eq!(
            window_prefixes(ts("2025-12-01T10:00:00Z"), ts("2025-12-03T01:00:00Z")),
            vec![
                "20251201_".to_string(),
                "20251202_".to_string(),
                "20251203_".to_string()
            ]
        );
    }
}
