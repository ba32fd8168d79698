//! Evaluation against hand-built plans: the bytes of a CreateCase body, field writes, and
//! the words of every kind of failure.

use super::*;
use crate::check::functions::Builtin;
use crate::check::hir::{CompareOp, Node, NodeId, Part, Source, TargetRef, Value as Lit};
use crate::plan::{MappingPlan, SchemaHashes, TablePlan, UdfEntry};
use crate::schema::{ScalarType as Ty, UdfWire, UdfWireStyle, Wire};
use serde_json::json;

/// A template under construction.
struct T {
    name: &'static str,
    kind: TemplateKind,
    nodes: Vec<Node>,
    mappings: Vec<MappingPlan>,
}

impl T {
    fn create(name: &'static str) -> T {
        T {
            name,
            kind: TemplateKind::Create,
            nodes: vec![],
            mappings: vec![],
        }
    }
    fn incoming(name: &'static str) -> T {
        T {
            kind: TemplateKind::Incoming,
            ..T::create(name)
        }
    }
    fn n(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() as NodeId - 1
    }
    fn text(&mut self, s: &str) -> NodeId {
        self.n(Node::Lit {
            value: Lit::Text(s.into()),
        })
    }
    fn int(&mut self, i: i64) -> NodeId {
        self.n(Node::Lit {
            value: Lit::Integer(i),
        })
    }
    fn src(&mut self, source: Source) -> NodeId {
        self.n(Node::Source { source })
    }
    fn field(&mut self, name: &str, ty: Ty) -> NodeId {
        self.src(Source::Field {
            name: name.into(),
            ty,
        })
    }
    fn call(&mut self, func: Builtin, args: Vec<NodeId>) -> NodeId {
        self.n(Node::Call { func, args })
    }
    fn map(&mut self, target: TargetRef, value: NodeId, text: &str) {
        let line = self.mappings.len() + 2;
        self.mappings.push(MappingPlan {
            target,
            value,
            location: format!("t.amap:{line}"),
            text: text.into(),
        });
    }
    fn aurora(&mut self, field: &str, ty: Ty, required: bool, value: NodeId, text: &str) {
        let target = TargetRef::Aurora {
            field: field.into(),
            ty,
            wire: Wire::Native,
            required,
            max_length: None,
        };
        self.map(target, value, text);
    }
    fn udf(&mut self, code: &str, ty: Ty, value: NodeId, text: &str) {
        self.map(
            TargetRef::Udf {
                code: code.into(),
                ty,
            },
            value,
            text,
        );
    }
    fn plan(self) -> TemplatePlan {
        TemplatePlan {
            name: self.name.into(),
            kind: self.kind,
            reference: "aurora_case".into(),
            location: "t.amap:1".into(),
            nodes: self.nodes,
            mappings: self.mappings,
        }
    }
}

fn bundle(templates: Vec<TemplatePlan>) -> Bundle {
    let e = |k: &str, v: &str| (Lit::Text(k.into()), Lit::Text(v.into()));
    let udf = |code: &str, name: &str, ty| UdfEntry {
        code: code.into(),
        name: name.into(),
        ty,
    };
    Bundle {
        format: crate::plan::FORMAT.into(),
        schemas: SchemaHashes {
            aurora: "a".into(),
            connect: "c".into(),
        },
        sources: vec![],
        udf_wire: UdfWire::default(),
        udfs: vec![
            udf("HAZARD", "Hazard level", Ty::Choice),
            udf("DEPTH", "Depth (mm)", Ty::Integer),
            udf("NOTES", "Notes", Ty::Text),
        ],
        tables: vec![TablePlan {
            name: "hazard_codes".into(),
            key_type: Ty::Text,
            value_type: Ty::Text,
            entries: vec![e("low", "L"), e("medium", "M"), e("high", "H")],
        }],
        templates,
    }
}

fn now() -> Timestamp {
    "2025-12-02T09:46:56Z".parse().unwrap()
}

fn case(v: serde_json::Value) -> Case {
    serde_json::from_value(v).unwrap()
}

fn body_text(b: &Bundle, c: &Case) -> Result<String, EvalFailure> {
    let p = PreparedBundle::new(b).unwrap();
    let mut out = Vec::new();
    p.create_body(TemplateId(0), c, now(), &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn failure(b: &Bundle, c: &Case) -> EvalFailure {
    let p = PreparedBundle::new(b).unwrap();
    let mut out = b"untouched".to_vec();
    let e = p
        .create_body(TemplateId(0), c, now(), &mut out)
        .unwrap_err();
    assert_eq!(out, b"untouched");
    e
}

/// The pothole template of the language reference, plus dates, phone and truncation.
fn pothole() -> Bundle {
    let mut t = T::create("Pothole report");
    let tc = t.text("P001");
    t.aurora(
        "caseTypeCode",
        Ty::Choice,
        true,
        tc,
        "aurora.caseTypeCode = \"P001\"",
    );
    let summary = t.field("summary", Ty::Text);
    let addr = t.src(Source::Address {
        attr: "summary".into(),
    });
    let desc = t.n(Node::Interp {
        parts: vec![
            Part::Node { node: summary },
            Part::Text("\n\nReported at ".into()),
            Part::Node { node: addr },
        ],
    });
    t.aurora(
        "description",
        Ty::Text,
        true,
        desc,
        "aurora.description = \"…\"",
    );
    let addr2 = t.src(Source::Address {
        attr: "summary".into(),
    });
    let none = t.text("No address given");
    let loc = t.n(Node::Coalesce { a: addr2, b: none });
    t.aurora(
        "locationText",
        Ty::Text,
        false,
        loc,
        "aurora.locationText = …",
    );
    let east = t.src(Source::Address {
        attr: "easting".into(),
    });
    let east = t.n(Node::Require { a: east });
    t.map(
        TargetRef::Aurora {
            field: "easting".into(),
            ty: Ty::Number,
            wire: Wire::String,
            required: true,
            max_length: None,
        },
        east,
        "aurora.easting = address.easting!",
    );
    let usrn = t.src(Source::Address {
        attr: "usrn".into(),
    });
    t.aurora("usrn", Ty::Text, false, usrn, "aurora.usrn = address.usrn");
    let reference = t.src(Source::Case {
        attr: "reference".into(),
    });
    t.aurora(
        "externalReference",
        Ty::Text,
        false,
        reference,
        "aurora.externalReference = case.reference",
    );
    let reported = t.src(Source::Date {
        name: "reported".into(),
        ty: Ty::Date,
    });
    let widened = t.n(Node::Widen {
        a: reported,
        to: Ty::Datetime,
    });
    t.aurora(
        "reportedAt",
        Ty::Datetime,
        false,
        widened,
        "aurora.reportedAt = date.reported",
    );
    let mobile = t.src(Source::Person {
        attr: "mobile".into(),
    });
    let phone = t.call(Builtin::Phone, vec![mobile]);
    t.aurora(
        "phone",
        Ty::Text,
        false,
        phone,
        "aurora.phone = phone(person.mobile)",
    );
    let details = t.field("details", Ty::Text);
    let n = t.int(10);
    let short = t.call(Builtin::Truncate, vec![details, n]);
    t.aurora(
        "short",
        Ty::Text,
        false,
        short,
        "aurora.short = truncate(field.details, 10)",
    );
    let forename = t.src(Source::Person {
        attr: "forename".into(),
    });
    t.map(
        TargetRef::Contact {
            field: "firstName".into(),
            ty: Ty::Text,
            required: false,
        },
        forename,
        "contact.firstName = person.forename",
    );
    let hazard = t.field("hazard", Ty::Choice);
    let looked = t.n(Node::Lookup {
        table: 0,
        key: hazard,
    });
    let m = t.text("M");
    let code = t.n(Node::Coalesce { a: looked, b: m });
    t.udf(
        "HAZARD",
        Ty::Choice,
        code,
        "udf \"HAZARD\" = lookup(field.hazard, hazard_codes) ?? \"M\"",
    );
    let d2 = t.src(Source::Date {
        name: "reported".into(),
        ty: Ty::Date,
    });
    let f = t.text("%d/%m/%Y");
    let formatted = t.call(Builtin::Format, vec![d2, f]);
    t.udf(
        "NOTES",
        Ty::Text,
        formatted,
        "udf \"NOTES\" = format(date.reported, \"%d/%m/%Y\")",
    );
    let depth = t.field("depth", Ty::Integer);
    t.udf("DEPTH", Ty::Integer, depth, "udf \"DEPTH\" = field.depth");
    bundle(vec![t.plan()])
}

fn pothole_case() -> Case {
    case(json!({
        "reference": "CAS-001",
        "fields": {"summary": "Deep \"pothole\"", "hazard": "high", "details": "Große Straße corner"},
        "dates": {"reported": "2025-12-02"},
        "person": {"forename": "Ann", "mobile": "+44 7700 900123"},
        "address": {"summary": "1 High St, Leeds", "easting": 412345.5}
    }))
}

#[test]
fn a_create_template_writes_the_create_case_body() {
    let text = body_text(&pothole(), &pothole_case()).unwrap();
    assert_eq!(
        text,
        r#"{"caseTypeCode":"P001","description":"Deep \"pothole\"\n\nReported at 1 High St, Leeds","locationText":"1 High St, Leeds","easting":"412345.5","externalReference":"CAS-001","reportedAt":"2025-12-02T00:00:00Z","phone":"07700900123","short":"Große Stra","userDefinedFields":[{"code":"HAZARD","value":"H"},{"code":"NOTES","value":"02/12/2025"}]}"#
    );
    let r = evaluate_create(&pothole(), &pothole().templates[0], &pothole_case(), now()).unwrap();
    assert_eq!(
        r.contact,
        json!({"firstName": "Ann"}).as_object().unwrap().clone()
    );
    assert_eq!(r.body["easting"], json!("412345.5"));
    assert_eq!(r.reference, "aurora_case");
}

#[test]
fn optional_values_are_left_out_and_defaults_apply() {
    let c = case(json!({
        "fields": {"summary": "Hole", "hazard": "unknown", "depth": "40"},
        "dates": {"reported": "2025-12-02"},
        "address": {"easting": "412345"}
    }));
    let text = body_text(&pothole(), &c).unwrap();
    assert_eq!(
        text,
        r#"{"caseTypeCode":"P001","description":"Hole\n\nReported at ","locationText":"No address given","easting":"412345","reportedAt":"2025-12-02T00:00:00Z","userDefinedFields":[{"code":"HAZARD","value":"M"},{"code":"NOTES","value":"02/12/2025"},{"code":"DEPTH","value":40}]}"#
    );
}

#[test]
fn udfs_can_be_written_as_an_object() {
    let mut b = pothole();
    b.udf_wire = UdfWire {
        field: "udfs".into(),
        style: UdfWireStyle::Object,
        ..UdfWire::default()
    };
    let text = body_text(&b, &pothole_case()).unwrap();
    assert!(
        text.ends_with(r#""udfs":{"HAZARD":"H","NOTES":"02/12/2025"}}"#),
        "{text}"
    );
}

#[test]
fn a_required_target_names_the_empty_source() {
    let mut t = T::create("Bare");
    let d = t.field("details", Ty::Text);
    t.aurora(
        "description",
        Ty::Text,
        true,
        d,
        "aurora.description = field.details",
    );
    let e = failure(&bundle(vec![t.plan()]), &Case::default());
    assert_eq!(
        e.reason,
        "aurora.description is required but field.details is empty"
    );
    assert_eq!(e.location, "t.amap:2");
    assert_eq!(e.mapping, "aurora.description = field.details");
    assert_eq!(e.template, "Bare");
    assert_eq!(
        e.to_string(),
        "t.amap:2: template \"Bare\": aurora.description is required but field.details is empty (in `aurora.description = field.details`)"
    );
}

#[test]
fn a_required_value_asserted_with_bang_fails_when_empty() {
    let mut c = pothole_case();
    c.address.easting = None;
    let e = failure(&pothole(), &c);
    assert_eq!(
        e.reason,
        "address.easting! failed: address.easting is empty"
    );
    assert_eq!(e.location, "t.amap:5");
}

#[test]
fn fallible_functions_fail_with_the_call_and_the_reason() {
    let mut t = T::create("Numbers");
    let q = t.field("quantity", Ty::Text);
    let n = t.call(Builtin::Number, vec![q]);
    t.aurora(
        "quantity",
        Ty::Number,
        false,
        n,
        "aurora.quantity = number(field.quantity)",
    );
    let b = bundle(vec![t.plan()]);
    let e = failure(&b, &case(json!({"fields": {"quantity": "abc"}})));
    assert_eq!(
        e.reason,
        "number(field.quantity) failed: \"abc\" is not a number"
    );
    assert_eq!(
        body_text(&b, &case(json!({"fields": {"quantity": " 12.50 "}}))).unwrap(),
        r#"{"quantity":12.5}"#
    );
    assert_eq!(body_text(&b, &Case::default()).unwrap(), "{}");
}

#[test]
fn a_value_that_does_not_fit_its_type_fails_where_it_is_read() {
    let mut t = T::create("Typed");
    let q = t.field("quantity", Ty::Number);
    t.aurora(
        "quantity",
        Ty::Number,
        false,
        q,
        "aurora.quantity = field.quantity",
    );
    let e = failure(
        &bundle(vec![t.plan()]),
        &case(json!({"fields": {"quantity": "abc"}})),
    );
    assert_eq!(
        e.reason,
        "field.quantity holds \"abc\", which is not a number"
    );
}

#[test]
fn coalesce_catches_empty_and_failed_values() {
    let mut t = T::create("Defaults");
    let q = t.field("depth", Ty::Text);
    let i = t.call(Builtin::Integer, vec![q]);
    let zero = t.int(0);
    let v = t.n(Node::Coalesce { a: i, b: zero });
    t.udf(
        "DEPTH",
        Ty::Integer,
        v,
        "udf \"DEPTH\" = integer(field.depth) ?? 0",
    );
    let bad = t.field("bad", Ty::Number);
    let dflt = t.n(Node::Lit {
        value: Lit::Number("1.5".into()),
    });
    let v = t.n(Node::Coalesce { a: bad, b: dflt });
    t.aurora(
        "size",
        Ty::Number,
        false,
        v,
        "aurora.size = field.bad ?? 1.5",
    );
    let b = bundle(vec![t.plan()]);
    for (fields, expected) in [
        (
            json!({"depth": "x", "bad": "y"}),
            r#"{"size":1.5,"userDefinedFields":[{"code":"DEPTH","value":0}]}"#,
        ),
        (
            json!({"depth": "0042", "bad": 2}),
            r#"{"size":2,"userDefinedFields":[{"code":"DEPTH","value":42}]}"#,
        ),
        (
            json!({}),
            r#"{"size":1.5,"userDefinedFields":[{"code":"DEPTH","value":0}]}"#,
        ),
    ] {
        assert_eq!(
            body_text(&b, &case(json!({"fields": fields}))).unwrap(),
            expected
        );
    }
}

#[test]
fn dynamic_udf_keys_resolve_at_run_time() {
    let mut t = T::create("Dynamic");
    let key = t.field("udf_code", Ty::Text);
    let v = t.text("value");
    t.map(
        TargetRef::UdfDynamic { key },
        v,
        "udf field.udf_code = \"value\"",
    );
    let b = bundle(vec![t.plan()]);
    let run = |code: serde_json::Value| body_text(&b, &case(json!({"fields": {"udf_code": code}})));
    assert_eq!(
        run(json!("notes")).unwrap(),
        r#"{"userDefinedFields":[{"code":"NOTES","value":"value"}]}"#
    );
    assert_eq!(run(json!("")).unwrap(), "{}");
    let e = run(json!("X")).unwrap_err();
    assert_eq!(e.reason, "dynamic UDF key \"X\" matches no UDF");
}

#[test]
fn a_udf_written_twice_is_a_failure() {
    let mut t = T::create("Twice");
    let v = t.text("a");
    t.udf("NOTES", Ty::Text, v, "udf \"NOTES\" = \"a\"");
    let key = t.field("udf_code", Ty::Text);
    t.map(
        TargetRef::UdfDynamic { key },
        v,
        "udf field.udf_code = \"a\"",
    );
    let e = failure(
        &bundle(vec![t.plan()]),
        &case(json!({"fields": {"udf_code": "NOTES"}})),
    );
    assert_eq!(
        e.reason,
        "udf \"NOTES\" is written by more than one mapping of this template"
    );
    assert_eq!(e.location, "t.amap:3");
}

#[test]
fn the_first_failing_mapping_in_source_order_is_reported() {
    let mut t = T::create("Order");
    let q = t.field("a", Ty::Number);
    t.udf("NOTES", Ty::Text, q, "udf \"NOTES\" = field.a");
    let r = t.field("b", Ty::Number);
    t.aurora("b", Ty::Number, false, r, "aurora.b = field.b");
    let e = failure(
        &bundle(vec![t.plan()]),
        &case(json!({"fields": {"a": "x", "b": "y"}})),
    );
    assert_eq!(e.location, "t.amap:2");
    assert_eq!(e.reason, "field.a holds \"x\", which is not a number");
}

#[test]
fn values_longer_than_the_target_allows_fail() {
    let mut t = T::create("Long");
    let s = t.field("summary", Ty::Text);
    let i = t.n(Node::Interp {
        parts: vec![Part::Text("Ä".into()), Part::Node { node: s }],
    });
    for (name, node) in [("plain", s), ("interp", i)] {
        t.map(
            TargetRef::Aurora {
                field: name.into(),
                ty: Ty::Text,
                wire: Wire::Native,
                required: false,
                max_length: Some(3),
            },
            node,
            "…",
        );
    }
    let b = bundle(vec![t.plan()]);
    assert_eq!(
        body_text(&b, &case(json!({"fields": {"summary": "ßß"}}))).unwrap(),
        r#"{"plain":"ßß","interp":"Äßß"}"#
    );
    let e = body_text(&b, &case(json!({"fields": {"summary": "abcd"}}))).unwrap_err();
    assert_eq!(
        e.reason,
        "aurora.plain takes at most 3 characters, but the value has 4 (cut it with truncate)"
    );
    let e = body_text(&b, &case(json!({"fields": {"summary": "abc"}}))).unwrap_err();
    assert_eq!(e.location, "t.amap:3");
}

#[test]
fn conditions_compare_and_test_presence() {
    let mut t = T::create("Conditions");
    let hazard = t.field("hazard", Ty::Choice);
    let high = t.text("high");
    let is_high = t.n(Node::Compare {
        op: CompareOp::Eq,
        a: hazard,
        b: high,
    });
    let flag = t.field("flag", Ty::Bool);
    let not_flag = t.n(Node::Not { a: flag });
    let both = t.n(Node::And {
        a: is_high,
        b: not_flag,
    });
    let n = t.field("n", Ty::Integer);
    let five = t.n(Node::Lit {
        value: Lit::Number("5".into()),
    });
    let is_five = t.n(Node::Compare {
        op: CompareOp::Eq,
        a: n,
        b: five,
    });
    let mobile = t.src(Source::Person {
        attr: "mobile".into(),
    });
    let has_mobile = t.n(Node::Exists { a: mobile });
    let either = t.n(Node::Or {
        a: is_five,
        b: has_mobile,
    });
    let cond = t.n(Node::Or { a: both, b: either });
    let yes = t.text("P001");
    let no = t.text("SL01");
    let v = t.n(Node::If {
        cond,
        then: yes,
        otherwise: no,
    });
    t.aurora(
        "caseTypeCode",
        Ty::Choice,
        true,
        v,
        "aurora.caseTypeCode = if … then … else …",
    );
    let b = bundle(vec![t.plan()]);
    let run = |v: serde_json::Value| body_text(&b, &case(v)).unwrap();
    assert_eq!(
        run(json!({"fields": {"hazard": "high", "flag": false}})),
        r#"{"caseTypeCode":"P001"}"#
    );
    // An empty condition counts as false, and `not` of empty is empty.
    assert_eq!(
        run(json!({"fields": {"hazard": "high"}})),
        r#"{"caseTypeCode":"SL01"}"#
    );
    assert_eq!(
        run(json!({"fields": {"hazard": "high", "flag": true}})),
        r#"{"caseTypeCode":"SL01"}"#
    );
    assert_eq!(
        run(json!({"fields": {"n": 5}})),
        r#"{"caseTypeCode":"P001"}"#
    );
    assert_eq!(
        run(json!({"fields": {"n": "6"}})),
        r#"{"caseTypeCode":"SL01"}"#
    );
    assert_eq!(
        run(json!({"person": {"mobile": "07"}})),
        r#"{"caseTypeCode":"P001"}"#
    );
    assert_eq!(run(json!({})), r#"{"caseTypeCode":"SL01"}"#);
}

#[test]
fn text_functions_stream_into_the_body() {
    let mut t = T::create("Text");
    let s = t.field("s", Ty::Text);
    let up = t.call(Builtin::Upper, vec![s]);
    t.aurora("upper", Ty::Text, false, up, "…");
    let lo = t.call(Builtin::Lower, vec![s]);
    t.aurora("lower", Ty::Text, false, lo, "…");
    let nl = t.text("\n");
    let sp = t.text(" ");
    let rep = t.call(Builtin::Replace, vec![s, nl, sp]);
    t.aurora("replaced", Ty::Text, false, rep, "…");
    let sep = t.text(", ");
    let town = t.src(Source::Address {
        attr: "town".into(),
    });
    let joined = t.call(Builtin::Join, vec![sep, s, town, s]);
    t.aurora("joined", Ty::Text, false, joined, "…");
    let tx = t.call(Builtin::Text, vec![s]);
    let tr = t.call(Builtin::Trim, vec![tx]);
    t.aurora("trimmed", Ty::Text, false, tr, "…");
    let dflt = t.text("none");
    let c = t.n(Node::Coalesce { a: up, b: dflt });
    let nested = t.n(Node::Interp {
        parts: vec![
            Part::Text("<".into()),
            Part::Node { node: c },
            Part::Text(">".into()),
        ],
    });
    t.aurora("nested", Ty::Text, false, nested, "…");
    let now_node = t.call(Builtin::Now, vec![]);
    t.aurora("at", Ty::Datetime, false, now_node, "…");
    let b = bundle(vec![t.plan()]);
    assert_eq!(
        body_text(&b, &case(json!({"fields": {"s": " Ab\n\"ç\" "}}))).unwrap(),
        r#"{"upper":" AB\n\"Ç\" ","lower":" ab\n\"ç\" ","replaced":" Ab \"ç\" ","joined":" Ab\n\"ç\" ,  Ab\n\"ç\" ","trimmed":"Ab\n\"ç\"","nested":"< AB\n\"Ç\" >","at":"2025-12-02T09:46:56Z"}"#
    );
    assert_eq!(
        body_text(&b, &Case::default()).unwrap(),
        r#"{"nested":"<none>","at":"2025-12-02T09:46:56Z"}"#
    );
}

#[test]
fn dates_parse_and_format() {
    let mut t = T::create("Dates");
    let s = t.field("when", Ty::Text);
    let f = t.text("%d/%m/%Y");
    let d = t.call(Builtin::Date, vec![s, f]);
    let out = t.text("%Y-%m-%d");
    let formatted = t.call(Builtin::Format, vec![d, out]);
    t.aurora(
        "when",
        Ty::Text,
        false,
        formatted,
        "aurora.when = format(date(field.when, \"%d/%m/%Y\"), \"%Y-%m-%d\")",
    );
    let b = bundle(vec![t.plan()]);
    assert_eq!(
        body_text(&b, &case(json!({"fields": {"when": "02/12/2025"}}))).unwrap(),
        r#"{"when":"2025-12-02"}"#
    );
    let e = body_text(&b, &case(json!({"fields": {"when": "31/02/2025"}}))).unwrap_err();
    assert_eq!(
        e.reason,
        "date(field.when, \"%d/%m/%Y\") failed: \"31/02/2025\" is not a date in the form %d/%m/%Y"
    );
}

fn incoming_bundle() -> Bundle {
    let mut a = T::incoming("Status");
    let trig = a.src(Source::Aurora {
        path: "TriggerType".into(),
        ty: Ty::Choice,
    });
    a.map(
        TargetRef::Field {
            name: "aurora_status".into(),
            ty: Ty::Choice,
        },
        trig,
        "field.aurora_status = aurora.TriggerType",
    );
    let when = a.src(Source::Aurora {
        path: "Date".into(),
        ty: Ty::Datetime,
    });
    a.map(
        TargetRef::Date {
            name: "aurora_updated".into(),
            ty: Ty::Datetime,
        },
        when,
        "date.aurora_updated = aurora.Date",
    );
    let reason = a.src(Source::Aurora {
        path: "Message.ClearanceReasonCode".into(),
        ty: Ty::Text,
    });
    a.map(
        TargetRef::Field {
            name: "clearance".into(),
            ty: Ty::Text,
        },
        reason,
        "field.clearance = aurora.Message.ClearanceReasonCode",
    );
    let hist = a.src(Source::Aurora {
        path: "Message.CaseEventHistory.0.EventDateTime".into(),
        ty: Ty::Datetime,
    });
    a.map(
        TargetRef::Date {
            name: "first_event".into(),
            ty: Ty::Datetime,
        },
        hist,
        "date.first_event = aurora.Message.CaseEventHistory.0.EventDateTime",
    );
    let mut b = T::incoming("UDFs");
    let depth = b.src(Source::Udf {
        code: "DEPTH".into(),
        ty: Ty::Integer,
    });
    b.map(
        TargetRef::Field {
            name: "depth".into(),
            ty: Ty::Integer,
        },
        depth,
        "field.depth = udf \"DEPTH\"",
    );
    let key = b.field("udf_code", Ty::Text);
    let dynamic = b.src(Source::UdfDynamic { key });
    b.map(
        TargetRef::Field {
            name: "details".into(),
            ty: Ty::Text,
        },
        dynamic,
        "field.details = udf field.udf_code",
    );
    let mut other = T::incoming("Other reference");
    let v = other.text("x");
    other.map(
        TargetRef::Field {
            name: "x".into(),
            ty: Ty::Text,
        },
        v,
        "field.x = \"x\"",
    );
    let mut other = other.plan();
    other.reference = "other".into();
    bundle(vec![a.plan(), other, b.plan()])
}

fn snapshot() -> serde_json::Value {
    json!({
        "TriggerSource": "Interactive Source",
        "TriggerType": "CS_CHANGE_QUEUE",
        "Date": "2025-12-02T09:46:56.84597Z",
        "Message": {
            "CaseNumber": "A-1",
            "ClearanceReasonCode": "",
            "CaseEventHistory": [{"EventDateTime": "2025-11-26T09:24:46.1888937Z"}],
            "UserDefinedFields": [
                {"Code": "DEPTH", "Value": "40"},
                {"Code": "NOTES", "Value": "deep one"}
            ],
            "Unknown": {"kept": true}
        }
    })
}

#[test]
fn incoming_templates_write_fields_in_bundle_order() {
    let b = incoming_bundle();
    let c = case(json!({"fields": {"udf_code": "Notes"}}));
    let writes = evaluate_incoming(&b, "aurora_case", &snapshot(), &c, now()).unwrap();
    let shown: Vec<(WriteTarget, serde_json::Value)> =
        writes.into_iter().map(|w| (w.target, w.value)).collect();
    assert_eq!(
        shown,
        vec![
            (
                WriteTarget::Field("aurora_status".into()),
                json!("CS_CHANGE_QUEUE")
            ),
            (
                WriteTarget::Date("aurora_updated".into()),
                json!("2025-12-02T09:46:56.84597Z")
            ),
            (
                WriteTarget::Date("first_event".into()),
                json!("2025-11-26T09:24:46.1888937Z")
            ),
            (WriteTarget::Field("depth".into()), json!(40)),
            (WriteTarget::Field("details".into()), json!("deep one")),
        ]
    );
    assert_eq!(
        evaluate_incoming(&b, "nothing", &snapshot(), &c, now()).unwrap(),
        vec![]
    );
    let e = evaluate_incoming(
        &b,
        "aurora_case",
        &snapshot(),
        &case(json!({"fields": {"udf_code": "X"}})),
        now(),
    )
    .unwrap_err();
    assert_eq!(e.reason, "dynamic UDF key \"X\" matches no UDF");
    assert_eq!(e.template, "UDFs");
    let mut bad = snapshot();
    bad["Date"] = json!("yesterday");
    let e = evaluate_incoming(&b, "aurora_case", &bad, &c, now()).unwrap_err();
    assert_eq!(
        e.reason,
        "aurora.Date holds \"yesterday\", which is not a datetime (RFC 3339, e.g. 2025-12-02T09:46:56Z)"
    );
}

#[test]
fn malformed_bundles_are_refused_before_evaluation() {
    let mut t = T::create("Cycle");
    t.n(Node::Require { a: 1 });
    t.n(Node::Require { a: 0 });
    t.aurora("x", Ty::Text, false, 0, "…");
    let e = PreparedBundle::new(&bundle(vec![t.plan()])).unwrap_err();
    assert!(e.reason.contains("does not come before it"), "{e}");

    let mut t = T::create("Deep");
    let mut n = t.text("x");
    for _ in 0..300 {
        n = t.n(Node::Require { a: n });
    }
    t.aurora("x", Ty::Text, false, n, "…");
    let e = PreparedBundle::new(&bundle(vec![t.plan()])).unwrap_err();
    assert!(e.reason.contains("nest deeper"), "{e}");

    let mut t = T::create("Missing");
    t.aurora("x", Ty::Text, false, 7, "…");
    assert!(PreparedBundle::new(&bundle(vec![t.plan()])).is_err());

    let mut t = T::create("Writes a field");
    let v = t.text("x");
    t.map(
        TargetRef::Field {
            name: "x".into(),
            ty: Ty::Text,
        },
        v,
        "…",
    );
    assert!(PreparedBundle::new(&bundle(vec![t.plan()])).is_err());
}

#[test]
fn an_incoming_template_makes_no_create_request() {
    let b = incoming_bundle();
    let p = PreparedBundle::new(&b).unwrap();
    let id = p.template_id("Status").unwrap();
    let e = p
        .create_body(id, &Case::default(), now(), &mut Vec::new())
        .unwrap_err();
    assert!(e.reason.contains("incoming template"), "{e}");
}

#[test]
fn truncation_streams_and_does_not_nest_limits() {
    let mut t = T::create("Truncate");
    let s = t.field("s", Ty::Text);
    let other = t.field("other", Ty::Text);
    let dflt = t.text("défault");
    let c = t.n(Node::Coalesce { a: other, b: dflt });
    let interp = t.n(Node::Interp {
        parts: vec![
            Part::Node { node: s },
            Part::Text("/".into()),
            Part::Node { node: c },
        ],
    });
    let four = t.int(4);
    let inner = t.call(Builtin::Truncate, vec![interp, four]);
    let wrapped = t.n(Node::Interp {
        parts: vec![Part::Node { node: inner }, Part::Text("|".into())],
    });
    let six = t.int(6);
    let outer = t.call(Builtin::Truncate, vec![wrapped, six]);
    t.aurora("inner", Ty::Text, false, inner, "…");
    t.aurora("outer", Ty::Text, false, outer, "…");
    let seven = t.int(7);
    let long = t.call(Builtin::Truncate, vec![interp, seven]);
    t.aurora("long", Ty::Text, false, long, "…");
    let b = bundle(vec![t.plan()]);
    assert_eq!(
        body_text(&b, &case(json!({"fields": {"s": "ab"}}))).unwrap(),
        r#"{"inner":"ab/d","outer":"ab/d|","long":"ab/défa"}"#
    );
    assert_eq!(
        body_text(&b, &case(json!({"fields": {"s": "\"ab\"", "other": "x"}}))).unwrap(),
        r#"{"inner":"\"ab\"","outer":"\"ab\"|","long":"\"ab\"/x"}"#
    );
    assert_eq!(
        body_text(&b, &Case::default()).unwrap(),
        r#"{"inner":"/déf","outer":"/déf|","long":"/défaul"}"#
    );
}
