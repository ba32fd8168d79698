//! Properties of evaluation on arbitrary input: whatever JSON arrives as a case or a snapshot,
//! reading it and evaluating every example template never panics; a create either writes a
//! JSON object or fails with a validation failure that names the template, `file:line` and a
//! reason.

use amap::plan::Bundle;
use amap::runtime::case::{self, Case};
use amap::runtime::eval::PreparedBundle;
use amap::syntax::ast::TemplateKind;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::OnceLock;

struct Examples {
    bundle: Bundle,
    prepared: PreparedBundle,
    connect: amap::schema::ConnectSchema,
    fields: Vec<String>,
    dates: Vec<String>,
}

fn examples() -> &'static Examples {
    static EXAMPLES: OnceLock<Examples> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let ws = amap::workspace::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
            .expect("the examples load");
        let checked = ws.check();
        assert!(!checked.diagnostics.iter().any(|d| d.is_error()));
        let bundle = ws.compile(&checked);
        assert_eq!(bundle.templates.len(), 6);
        let prepared = PreparedBundle::new(&bundle).expect("the examples prepare");
        Examples {
            fields: ws.connect.fields.iter().map(|f| f.name.clone()).collect(),
            dates: ws.connect.dates.iter().map(|d| d.name.clone()).collect(),
            connect: ws.connect.clone(),
            bundle,
            prepared,
        }
    })
}

/// Text that is sometimes meaningful to the templates (options, numbers, dates, codes) and
/// sometimes not.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("road".to_string()),
        Just("pavement".to_string()),
        Just("asbestos".to_string()),
        Just("exposed_wires".to_string()),
        Just("high".to_string()),
        Just("Location notes".to_string()),
        Just("CS_CLEAR_CASE".to_string()),
        Just("HAZARD".to_string()),
        Just("2025-12-02".to_string()),
        Just("2025-12-02T09:46:56.84597Z".to_string()),
        Just("02/12/2025".to_string()),
        Just("+44 7700 900123".to_string()),
        Just("1e400".to_string()),
        Just(" 007 ".to_string()),
        "-?[0-9]{1,20}(\\.[0-9]{0,8})?",
        "\\PC{0,40}",
        "[ -~]{0,3000}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Mostly leaves, sometimes anything.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![4 => leaf(), 1 => json()]
}

/// Mostly text (what Connect sends), sometimes anything.
fn texty() -> BoxedStrategy<Value> {
    prop_oneof![6 => text().prop_map(Value::String), 1 => value()].boxed()
}

/// An object with each of `keys` present or not (and sometimes an unknown key).
fn object_of(keys: Vec<String>, values: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    let n = keys.len();
    (
        prop::collection::vec(prop::option::weighted(0.7, values.clone()), n),
        prop::option::weighted(0.1, ("[a-z]{1,8}", values)),
    )
        .prop_map(move |(entries, extra)| {
            let mut m = Map::new();
            for (k, v) in keys.iter().zip(entries) {
                if let Some(v) = v {
                    m.insert(k.clone(), v);
                }
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Value::Object(m)
        })
}

fn strings() -> BoxedStrategy<Value> {
    text().prop_map(Value::String).boxed()
}

fn case_json() -> impl Strategy<Value = Value> {
    let ex = examples();
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let person = names(&[
        "title",
        "forename",
        "surname",
        "full_name",
        "email",
        "phone",
        "mobile",
    ]);
    let address_text = names(&["summary", "line1", "line2", "town", "postcode"]);
    let address_numbers = names(&["uprn", "usrn", "easting", "northing"]);
    let numbers = prop_oneof![
        4 => (0u32..1_000_000).prop_map(Value::from),
        2 => (0.0f64..1e6).prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        1 => value()
    ]
    .boxed();
    let dates = prop_oneof![
        3 => (2000i16..2100, 1i8..13, 1i8..29)
            .prop_map(|(y, m, d)| Value::String(format!("{y:04}-{m:02}-{d:02}"))),
        1 => texty()
    ]
    .boxed();
    let sometimes_anything = |s: BoxedStrategy<Value>| prop_oneof![9 => s, 1 => value()];
    (
        prop::option::weighted(0.9, sometimes_anything(strings())),
        prop::option::weighted(0.5, sometimes_anything(strings())),
        object_of(ex.fields.clone(), texty()),
        object_of(ex.dates.clone(), dates),
        sometimes_anything(object_of(person, strings()).boxed()),
        sometimes_anything(
            (
                object_of(address_text, strings()),
                object_of(address_numbers, numbers),
            )
                .prop_map(|(mut a, b)| {
                    if let (Value::Object(a), Value::Object(b)) = (&mut a, b) {
                        a.extend(b);
                    }
                    a
                })
                .boxed(),
        ),
        sometimes_anything(object_of(vec!["aurora_case".into()], texty()).boxed()),
    )
        .prop_map(
            |(reference, created_at, fields, dates, person, address, references)| {
                let mut m = Map::new();
                if let Some(r) = reference {
                    m.insert("reference".into(), r);
                }
                if let Some(c) = created_at {
                    m.insert("created_at".into(), c);
                }
                m.insert("fields".into(), fields);
                m.insert("dates".into(), dates);
                m.insert("person".into(), person);
                m.insert("address".into(), address);
                m.insert("references".into(), references);
                Value::Object(m)
            },
        )
}

fn snapshot_json() -> impl Strategy<Value = Value> {
    (
        value(),
        value(),
        value(),
        prop::collection::vec((value(), value()), 0..4),
        prop_oneof![3 => Just(None), 1 => value().prop_map(Some)],
    )
        .prop_map(|(trigger, date, number, udfs, odd)| {
            let udfs: Vec<Value> = udfs
                .into_iter()
                .map(|(code, value)| serde_json::json!({"Code": code, "Value": value}))
                .collect();
            let mut message = serde_json::json!({
                "CaseNumber": number,
                "ClearanceReasonPortalText": trigger.clone(),
                "UserDefinedFields": udfs,
            });
            if let Some(odd) = odd {
                message["UserDefinedFields"] = odd;
            }
            serde_json::json!({"TriggerType": trigger, "Date": date, "Message": message})
        })
}

fn now() -> jiff::Timestamp {
    "2025-12-02T10:00:00Z".parse().expect("a time")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn create_templates_never_panic_on_any_case(raw in case_json()) {
        let ex = examples();
        // A case that does not even have the right shape is refused as a whole.
        let Ok(case) = serde_json::from_value::<Case>(raw) else {
            return Ok(());
        };
        let _ = case::validate(&case, &ex.connect);
        for t in ex.bundle.templates.iter().filter(|t| t.kind == TemplateKind::Create) {
            let id = ex.prepared.template_id(&t.name).expect("prepared");
            let mut out = b"[".to_vec();
            match ex.prepared.create_body(id, &case, now(), &mut out) {
                Ok(_) => {
                    let body: Value = serde_json::from_slice(&out[1..])
                        .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {}", String::from_utf8_lossy(&out))))?;
                    prop_assert!(body.is_object());
                }
                Err(f) => {
                    prop_assert_eq!(&out, b"[", "a failure leaves the buffer as it was");
                    prop_assert_eq!(&f.template, &t.name);
                    prop_assert!(f.location.starts_with("templates/"), "{}", f.location);
                    prop_assert!(!f.reason.is_empty());
                }
            }
            prop_assert_eq!(
                ex.prepared.create(id, &case, now()).is_ok(),
                ex.prepared.create_body(id, &case, now(), &mut Vec::new()).is_ok()
            );
        }
    }

    #[test]
    fn incoming_templates_never_panic_on_any_snapshot(raw in case_json(), snapshot in snapshot_json()) {
        let ex = examples();
        let case = serde_json::from_value::<Case>(raw).unwrap_or_default();
        for reference in ["aurora_case", "aurora_flytip_case", "aurora_lighting_case"] {
            match ex.prepared.incoming(reference, &snapshot, &case, now()) {
                Ok(writes) => {
                    for w in writes {
                        prop_assert!(!w.value.is_null());
                    }
                }
                Err(f) => {
                    prop_assert!(f.location.starts_with("templates/"), "{}", f.location);
                    prop_assert!(!f.reason.is_empty());
                }
            }
        }
    }
}
