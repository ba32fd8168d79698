//! Evaluation of a compiled create template into CreateCase JSON bytes, side by side with a
//! hand-written function producing the same bytes from typed structs borrowing the input.
//!
//! The plan is compiled from `.amap` source (30 mappings: interpolation, tables, UDFs, a
//! date parsed and formatted, phone normalisation, truncation, optional fields left out,
//! 9 UDFs) and evaluated against one realistic case (19 fields, person, address), already
//! in memory. A counting allocator reports the allocations of one evaluation.
//!
//! `cargo bench --bench eval` prints the ratio and the allocations first, then runs the
//! criterion measurements.

use amap::plan::Bundle;
use amap::runtime::case::Case;
use amap::runtime::eval::{PreparedBundle, TemplateId};
use criterion::{Criterion, criterion_group, criterion_main};
use mimalloc::MiMalloc;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::alloc::{GlobalAlloc, Layout};
use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---- counting allocations ----

/// Counts calls into the allocator the `amap` binary uses (mimalloc, src/main.rs).
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_of(mut f: impl FnMut()) -> f64 {
    const RUNS: usize = 1000;
    f();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..RUNS {
        f();
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / RUNS as f64
}

// ---- the project ----

const AURORA: &str = r#"
[create.caseTypeCode]
type = "choice"
required = true
values = ["POTC", "POTF"]

[create.assetTypeCode]
type = "choice"
values = ["CWAY", "FWAY", "CYCL"]

[create.description]
type = "text"
required = true
max_length = 2000

[create.locationText]
type = "text"
max_length = 500

[create.easting]
type = "number"
wire = "string"

[create.northing]
type = "number"
wire = "string"

[create.usrn]
type = "text"
max_length = 8

[create.uprn]
type = "text"

[create.externalReference]
type = "text"
required = true
max_length = 30

[create.priority]
type = "text"

[create.reportedDate]
type = "text"

[create.reportedAt]
type = "datetime"

[create.reporterName]
type = "text"

[create.reporterPhone]
type = "text"

[create.reporterEmail]
type = "text"

[create.channel]
type = "text"

[create.postcode]
type = "text"

[create.town]
type = "text"

[create.landmark]
type = "text"

[create.vehicleDamage]
type = "text"

[create.depthMm]
type = "integer"

[[udf]]
code = "HAZARD"
name = "Hazard level"
type = "text"

[[udf]]
code = "DEPTH"
name = "Depth (mm)"
type = "integer"

[[udf]]
code = "WIDTH"
name = "Width (mm)"
type = "integer"

[[udf]]
code = "RPTDATE"
name = "Date reported"
type = "text"

[[udf]]
code = "LOCNOTE"
name = "Location notes"
type = "text"

[[udf]]
code = "RPTNOTE"
name = "Reporter notes"
type = "text"

[[udf]]
code = "WEATHER"
name = "Weather"
type = "text"

[[udf]]
code = "TRAFFIC"
name = "Traffic"
type = "text"

[[udf]]
code = "WARD"
name = "Ward"
type = "text"

[snapshot."Message.CaseNumber"]
type = "text"

[udf_wire]
field = "userDefinedFields"
style = "list"
code_key = "code"
value_key = "value"
"#;

const CONNECT: &str = r#"
[fields.summary]
type = "text"
required = true
[fields.details]
type = "text"
[fields.location_notes]
type = "text"
[fields.hazard]
type = "choice"
options = ["low", "medium", "high"]
[fields.surface]
type = "choice"
options = ["road", "pavement", "cycle_lane"]
[fields.depth_mm]
type = "integer"
[fields.width_mm]
type = "integer"
[fields.reported_on]
type = "text"
[fields.channel]
type = "text"
[fields.reporter_notes]
type = "text"
[fields.weather]
type = "text"
[fields.traffic]
type = "text"
[fields.ward]
type = "text"
[fields.landmark]
type = "text"
[fields.vehicle_damage]
type = "text"
[fields.speed_limit]
type = "integer"
[fields.lane]
type = "text"
[fields.photo_count]
type = "integer"
[fields.consent]
type = "bool"
[fields.source_form]
type = "text"

[dates.reported]
type = "date"
required = true

[references.aurora_case]
label = "Aurora case number"
"#;

const TEMPLATE: &str = r#"
table hazard_codes: text -> text {
    "low"    => "L"
    "medium" => "M"
    "high"   => "H"
}

table surface_assets: text -> text {
    "road"       => "CWAY"
    "pavement"   => "FWAY"
    "cycle_lane" => "CYCL"
}

table priorities: text -> text {
    "low"    => "P4"
    "medium" => "P3"
    "high"   => "P1"
}

table channels: text -> text {
    "web"   => "WEB"
    "phone" => "TEL"
    "app"   => "APP"
}

create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode      = if field.surface == "pavement" then "POTF" else "POTC"
    aurora.assetTypeCode     = lookup(field.surface, surface_assets) ?? "CWAY"
    aurora.description       = truncate("{field.summary}\n\n{field.details}\n\nReported by {person.full_name} on {date.reported}", 2000)
    aurora.locationText      = address.summary ?? field.location_notes ?? "No address given"
    aurora.easting           = address.easting!
    aurora.northing          = address.northing!
    aurora.usrn              = address.usrn
    aurora.uprn              = address.uprn
    aurora.externalReference = case.reference
    aurora.priority          = lookup(field.hazard, priorities) ?? "P3"
    aurora.reportedDate      = format(date(field.reported_on, "%d/%m/%Y"), "%Y-%m-%d")
    aurora.reportedAt        = date.reported
    aurora.reporterName      = join(" ", person.forename, person.surname)
    aurora.reporterPhone     = phone(person.mobile)
    aurora.reporterEmail     = lower(person.email)
    aurora.channel           = lookup(field.channel, channels) ?? "WEB"
    aurora.postcode          = upper(address.postcode)
    aurora.town              = address.town
    aurora.landmark          = field.landmark
    aurora.vehicleDamage     = field.vehicle_damage
    aurora.depthMm           = field.depth_mm

    udf "HAZARD"         = lookup(field.hazard, hazard_codes) ?? "M"
    udf "DEPTH"          = field.depth_mm
    udf "Width (mm)"     = field.width_mm
    udf "Date reported"  = format(date.reported, "%d/%m/%Y")
    udf "LOCNOTE"        = truncate(field.location_notes ?? "", 500)
    udf "Reporter notes" = field.reporter_notes
    udf "WEATHER"        = field.weather
    udf "TRAFFIC"        = field.traffic
    udf "WARD"           = field.ward
}
"#;

const CASE: &str = r#"{
    "reference": "CAS-2025-004711",
    "type": "pothole",
    "status": "submitted",
    "created_at": "2025-12-02T09:41:12Z",
    "updated_at": "2025-12-02T09:46:56Z",
    "fields": {
        "summary": "Deep pothole on the inside lane",
        "details": "About a foot across and getting worse. Cars swerve round it at the junction with Park Lane; one cyclist nearly came off this morning.",
        "location_notes": "Outside the bakery, near the bus stop",
        "hazard": "high",
        "surface": "road",
        "depth_mm": 60,
        "width_mm": 300,
        "reported_on": "02/12/2025",
        "channel": "web",
        "reporter_notes": "Happy to be contacted",
        "weather": "Wet",
        "traffic": "Heavy at rush hour",
        "ward": "Headingley",
        "speed_limit": 30,
        "lane": "inside",
        "photo_count": 2,
        "consent": true,
        "source_form": "report-a-pothole",
        "service_detail": "n/a"
    },
    "dates": {"reported": "2025-12-02"},
    "person": {
        "title": "Ms",
        "forename": "Ann",
        "surname": "Smith",
        "full_name": "Ann Smith",
        "email": "Ann.Smith@Example.org",
        "mobile": "+44 7700 900123"
    },
    "address": {
        "summary": "12 High Street, Leeds, LS6 2AB",
        "line1": "12 High Street",
        "town": "Leeds",
        "postcode": "ls6 2ab",
        "uprn": "72012345",
        "usrn": "8400123",
        "easting": 427512.5,
        "northing": 435870
    },
    "references": {},
    "attachments": []
}"#;

fn compile_plan() -> Bundle {
    let ws = amap::workspace::load_from_memory([
        (
            "amap.toml",
            "[project]\ntemplates = [\"*.amap\"]\naurora_schema = \"aurora.toml\"\nconnect_schema = \"connect.toml\"\n",
        ),
        ("aurora.toml", AURORA),
        ("connect.toml", CONNECT),
        ("bench.amap", TEMPLATE),
    ])
    .expect("the bench project loads");
    let checked = ws.check();
    let errors: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.code.as_str(), d.message))
        .collect();
    assert!(
        errors.is_empty(),
        "the bench template has errors: {errors:#?}"
    );
    let bundle = ws.compile(&checked);
    assert_eq!(bundle.templates.len(), 1, "the bench template compiles");
    assert_eq!(bundle.templates[0].mappings.len(), 30);
    bundle
}

// ---- the hand-written equivalent ----

#[derive(Deserialize)]
struct HCase<'a> {
    #[serde(borrow)]
    reference: Cow<'a, str>,
    #[serde(borrow)]
    fields: HFields<'a>,
    #[serde(borrow)]
    dates: HDates<'a>,
    #[serde(borrow)]
    person: HPerson<'a>,
    #[serde(borrow)]
    address: HAddress<'a>,
}

#[derive(Deserialize)]
struct HFields<'a> {
    #[serde(borrow)]
    summary: Cow<'a, str>,
    #[serde(borrow, default)]
    details: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    location_notes: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    hazard: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    surface: Option<Cow<'a, str>>,
    #[serde(default)]
    depth_mm: Option<i64>,
    #[serde(default)]
    width_mm: Option<i64>,
    #[serde(borrow, default)]
    reported_on: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    channel: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reporter_notes: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    weather: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    traffic: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    ward: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    landmark: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    vehicle_damage: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct HDates<'a> {
    #[serde(borrow)]
    reported: Cow<'a, str>,
}

#[derive(Deserialize)]
struct HPerson<'a> {
    #[serde(borrow, default)]
    forename: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    surname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    full_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    email: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mobile: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct HAddress<'a> {
    #[serde(borrow, default)]
    summary: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    town: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    postcode: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uprn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    usrn: Option<Cow<'a, str>>,
    easting: f64,
    northing: f64,
}

fn non_empty<'a>(v: &'a Option<Cow<'a, str>>) -> Option<&'a str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Keeps the first `left` characters written.
struct Truncating<'w, W: fmt::Write> {
    inner: &'w mut W,
    left: usize,
}

impl<W: fmt::Write> fmt::Write for Truncating<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for (i, (at, _)) in s.char_indices().enumerate() {
            if i == self.left {
                self.left = 0;
                return self.inner.write_str(&s[..at]);
            }
        }
        self.left -= s.chars().count();
        self.inner.write_str(s)
    }
}

struct Description<'c>(&'c HCase<'c>);

impl fmt::Display for Description<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        let mut w = Truncating {
            inner: f,
            left: 2000,
        };
        w.write_str(&c.fields.summary)?;
        w.write_str("\n\n")?;
        w.write_str(c.fields.details.as_deref().unwrap_or(""))?;
        w.write_str("\n\nReported by ")?;
        w.write_str(c.person.full_name.as_deref().unwrap_or(""))?;
        w.write_str(" on ")?;
        w.write_str(&c.dates.reported)
    }
}

struct Phone<'a>(&'a str);

impl fmt::Display for Phone<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = self.0.chars().filter(char::is_ascii_digit).peekable();
        let mut first = [0u8; 2];
        let mut n = 0;
        while n < 2 {
            match digits.next() {
                Some(d) => {
                    first[n] = d as u8;
                    n += 1;
                }
                None => break,
            }
        }
        if first == *b"44" {
            f.write_char('0')?;
        } else {
            f.write_str(std::str::from_utf8(&first[..n]).unwrap_or(""))?;
        }
        for d in digits {
            f.write_char(d)?;
        }
        Ok(())
    }
}

struct Lower<'a>(&'a str);

impl fmt::Display for Lower<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            for l in c.to_lowercase() {
                f.write_char(l)?;
            }
        }
        Ok(())
    }
}

struct Upper<'a>(&'a str);

impl fmt::Display for Upper<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            for u in c.to_uppercase() {
                f.write_char(u)?;
            }
        }
        Ok(())
    }
}

struct Name<'a>(Option<&'a str>, Option<&'a str>);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(a), Some(b)) => write!(f, "{a} {b}"),
            (Some(a), None) | (None, Some(a)) => f.write_str(a),
            (None, None) => Ok(()),
        }
    }
}

enum UdfValue<'a> {
    Text(&'a str),
    Int(i64),
    Date(jiff::civil::Date),
}

impl Serialize for UdfValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            UdfValue::Text(t) => s.serialize_str(t),
            UdfValue::Int(i) => s.serialize_i64(*i),
            UdfValue::Date(d) => s.collect_str(&d.strftime("%d/%m/%Y")),
        }
    }
}

#[derive(Serialize)]
struct Udf<'a> {
    code: &'static str,
    value: UdfValue<'a>,
}

struct Udfs<'a>([Option<Udf<'a>>; 9]);

impl Serialize for Udfs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for u in self.0.iter().flatten() {
            seq.serialize_element(u)?;
        }
        seq.end()
    }
}

struct Body<'c>(&'c HCase<'c>);

impl<'c> Serialize for Body<'c> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c: &'c HCase<'c> = self.0;
        let f = &c.fields;
        let p = &c.person;
        let a = &c.address;
        let surface = non_empty(&f.surface);
        let hazard = non_empty(&f.hazard);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "caseTypeCode",
            if surface == Some("pavement") {
                "POTF"
            } else {
                "POTC"
            },
        )?;
        m.serialize_entry(
            "assetTypeCode",
            match surface {
                Some("road") => "CWAY",
                Some("pavement") => "FWAY",
                Some("cycle_lane") => "CYCL",
                _ => "CWAY",
            },
        )?;
        m.serialize_key("description")?;
        m.serialize_value(&Collect(&Description(c)))?;
        let location = non_empty(&a.summary)
            .or(non_empty(&f.location_notes))
            .unwrap_or("No address given");
        m.serialize_entry("locationText", location)?;
        m.serialize_key("easting")?;
        m.serialize_value(&Collect(&a.easting))?;
        m.serialize_key("northing")?;
        m.serialize_value(&Collect(&a.northing))?;
        if let Some(v) = non_empty(&a.usrn) {
            m.serialize_entry("usrn", v)?;
        }
        if let Some(v) = non_empty(&a.uprn) {
            m.serialize_entry("uprn", v)?;
        }
        m.serialize_entry("externalReference", &*c.reference)?;
        m.serialize_entry(
            "priority",
            match hazard {
                Some("low") => "P4",
                Some("medium") => "P3",
                Some("high") => "P1",
                _ => "P3",
            },
        )?;
        if let Some(v) = non_empty(&f.reported_on) {
            let d =
                jiff::civil::Date::strptime("%d/%m/%Y", v).map_err(serde::ser::Error::custom)?;
            m.serialize_key("reportedDate")?;
            m.serialize_value(&Collect(&d.strftime("%Y-%m-%d")))?;
        }
        let reported: jiff::civil::Date = c
            .dates
            .reported
            .parse()
            .map_err(serde::ser::Error::custom)?;
        m.serialize_key("reportedAt")?;
        m.serialize_value(&Collect(&format_args!("{reported}T00:00:00Z")))?;
        let (forename, surname) = (non_empty(&p.forename), non_empty(&p.surname));
        if forename.is_some() || surname.is_some() {
            m.serialize_key("reporterName")?;
            m.serialize_value(&Collect(&Name(forename, surname)))?;
        }
        if let Some(v) = non_empty(&p.mobile) {
            m.serialize_key("reporterPhone")?;
            m.serialize_value(&Collect(&Phone(v)))?;
        }
        if let Some(v) = non_empty(&p.email) {
            m.serialize_key("reporterEmail")?;
            m.serialize_value(&Collect(&Lower(v)))?;
        }
        m.serialize_entry(
            "channel",
            match non_empty(&f.channel) {
                Some("web") => "WEB",
                Some("phone") => "TEL",
                Some("app") => "APP",
                _ => "WEB",
            },
        )?;
        if let Some(v) = non_empty(&a.postcode) {
            m.serialize_key("postcode")?;
            m.serialize_value(&Collect(&Upper(v)))?;
        }
        if let Some(v) = non_empty(&a.town) {
            m.serialize_entry("town", v)?;
        }
        if let Some(v) = non_empty(&f.landmark) {
            m.serialize_entry("landmark", v)?;
        }
        if let Some(v) = non_empty(&f.vehicle_damage) {
            m.serialize_entry("vehicleDamage", v)?;
        }
        if let Some(v) = f.depth_mm {
            m.serialize_entry("depthMm", &v)?;
        }
        let text = |v: &'c Option<Cow<'c, str>>| non_empty(v).map(UdfValue::Text);
        let udf = |code, value: Option<UdfValue<'c>>| value.map(|value| Udf { code, value });
        let notes = f
            .location_notes
            .as_deref()
            .map(|n| match n.char_indices().nth(500) {
                Some((at, _)) => &n[..at],
                None => n,
            })
            .filter(|n| !n.is_empty());
        let udfs = Udfs([
            udf(
                "HAZARD",
                Some(UdfValue::Text(match hazard {
                    Some("low") => "L",
                    Some("medium") => "M",
                    Some("high") => "H",
                    _ => "M",
                })),
            ),
            udf("DEPTH", f.depth_mm.map(UdfValue::Int)),
            udf("WIDTH", f.width_mm.map(UdfValue::Int)),
            udf("RPTDATE", Some(UdfValue::Date(reported))),
            udf("LOCNOTE", notes.map(UdfValue::Text)),
            udf("RPTNOTE", text(&f.reporter_notes)),
            udf("WEATHER", text(&f.weather)),
            udf("TRAFFIC", text(&f.traffic)),
            udf("WARD", text(&f.ward)),
        ]);
        m.serialize_entry("userDefinedFields", &udfs)?;
        m.end()
    }
}

/// Serialises anything `Display` as a JSON string, without an intermediate buffer.
struct Collect<'d, D: fmt::Display + ?Sized>(&'d D);

impl<D: fmt::Display + ?Sized> Serialize for Collect<'_, D> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

fn hand_written(case: &HCase<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    // Writing into a Vec cannot fail; a date that does not parse would leave it short.
    let _ = serde_json::to_writer(&mut out, &Body(case));
    out
}

fn amap_eval(plan: &PreparedBundle, id: TemplateId, case: &Case, now: jiff::Timestamp) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    // The bench case evaluates without failure (asserted at start).
    let _ = plan.create_body(id, case, now, &mut out);
    out
}

/// The best of several rounds of `n` calls, per call.
fn time_per_call(n: u32, mut f: impl FnMut()) -> Duration {
    (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed() / n
        })
        .min()
        .unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let bundle = compile_plan();
    let plan = PreparedBundle::new(&bundle).expect("the plan prepares");
    let id = plan
        .template_id("Pothole report")
        .expect("the template is there");
    let case: Case = serde_json::from_str(CASE).expect("the case parses");
    let hand: HCase<'_> = serde_json::from_str(CASE).expect("the typed case parses");
    let now: jiff::Timestamp = "2025-12-02T09:46:56Z".parse().expect("a timestamp");

    let ours = amap_eval(&plan, id, &case, now);
    let theirs = hand_written(&hand);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs),
        "amap and the hand-written function must produce the same bytes"
    );
    if plan.create_body(id, &case, now, &mut Vec::new()).is_err() {
        panic!("the bench case must evaluate without failure");
    }

    let hand_time = time_per_call(20_000, || {
        black_box(hand_written(black_box(&hand)));
    });
    let amap_time = time_per_call(20_000, || {
        black_box(amap_eval(&plan, id, black_box(&case), now));
    });
    let hand_allocs = allocations_of(|| {
        black_box(hand_written(black_box(&hand)));
    });
    let amap_allocs = allocations_of(|| {
        black_box(amap_eval(&plan, id, black_box(&case), now));
    });
    println!(
        "CreateCase body: {} bytes, {} values from 30 mappings",
        ours.len(),
        serde_json::from_slice::<serde_json::Value>(&ours)
            .ok()
            .and_then(|v| v
                .as_object()
                .map(|o| o.len() - 1 + v["userDefinedFields"].as_array().map_or(0, Vec::len)))
            .unwrap_or(0)
    );
    println!(
        "hand-written: {:>8.0} ns, {hand_allocs} allocations per case",
        hand_time.as_nanos()
    );
    println!(
        "amap:         {:>8.0} ns, {amap_allocs} allocations per case",
        amap_time.as_nanos()
    );
    println!(
        "ratio amap / hand-written: {:.2}x (goal: at most 1.5x)",
        amap_time.as_secs_f64() / hand_time.as_secs_f64()
    );

    let mut group = c.benchmark_group("create_case_body");
    group.noise_threshold(0.05);
    group.bench_function("hand_written", |b| {
        b.iter(|| hand_written(black_box(&hand)))
    });
    group.bench_function("amap", |b| {
        b.iter(|| amap_eval(&plan, id, black_box(&case), now))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
