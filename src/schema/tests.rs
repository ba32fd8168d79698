//! Tests of the schema and project loaders: what they load, and every diagnostic with its
//! span in the TOML text.

use super::*;
use crate::diagnostics::{Code, Diagnostic, FileId, Span};

const F: FileId = FileId(7);

fn at(text: &str, span: Span) -> &str {
    &text[span.range()]
}

fn codes(diags: &[Diagnostic]) -> Vec<Code> {
    diags.iter().map(|d| d.code).collect()
}

/// The one diagnostic of a load, with its text under the primary span.
fn only<'t>(text: &'t str, diags: &[Diagnostic]) -> (Diagnostic, &'t str) {
    assert_eq!(diags.len(), 1, "expected one diagnostic, got {diags:#?}");
    let d = diags[0].clone();
    assert_eq!(d.primary.file, F);
    let under = at(text, d.primary.span);
    (d, under)
}

#[test]
fn connect_schema_loads_in_declaration_order_with_defaults() {
    let text = r#"
[fields.summary]
type = "text"
required = true
max_length = 150
description = "One line"

[fields.hazard]
type = "choice"
options = ["low", "medium", "high"]

[fields.depth]
type = "integer"

[dates.reported]
type = "date"
required = true

[dates.updated]

[references.aurora_case]
label = "Aurora case"
"#;
    let (s, diags) = load_connect(text, F);
    assert!(diags.is_empty(), "{diags:#?}");
    let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["summary", "hazard", "depth"]);
    let summary = s.field("summary").expect("summary");
    assert_eq!(summary.ty, ScalarType::Text);
    assert!(summary.required);
    assert_eq!(summary.max_length, Some(150));
    assert_eq!(summary.description.as_deref(), Some("One line"));
    assert_eq!(summary.decl.file, F);
    assert_eq!(at(text, summary.decl.span), "summary");
    let hazard = s.field("hazard").expect("hazard");
    assert_eq!(hazard.options, ["low", "medium", "high"]);
    assert!(!hazard.required);
    assert_eq!(s.date("reported").map(|d| d.ty), Some(ScalarType::Date));
    // A date's type defaults to datetime.
    let updated = s.date("updated").expect("updated");
    assert_eq!(updated.ty, ScalarType::Datetime);
    assert!(!updated.required);
    let r = s.reference("aurora_case").expect("reference");
    assert_eq!(r.label.as_deref(), Some("Aurora case"));
    assert_eq!(at(text, r.decl.span), "aurora_case");
}

#[test]
fn inline_tables_load_like_headers() {
    let text = "[fields]\nsummary = { type = \"text\", required = true }\n";
    let (s, diags) = load_connect(text, F);
    assert!(diags.is_empty(), "{diags:#?}");
    let f = s.field("summary").expect("summary");
    assert!(f.required);
    assert_eq!(at(text, f.decl.span), "summary");
}

#[test]
fn aurora_schema_loads_every_section() {
    let text = r#"
[create.caseTypeCode]
type = "choice"
required = true
values = ["P001", "FT01"]

[create.easting]
type = "number"
wire = "string"

[contact.emailAddress]
type = "text"
max_length = 254

[[udf]]
code = "HAZARD"
name = "Hazard level"
type = "choice"
values = ["L", "M", "H"]

[[udf]]
code = "NOTES"
name = "Notes"
type = "text"
max_length = 50

[snapshot."Message.CaseNumber"]
type = "text"
required = true

[udf_wire]
style = "object"
field = "udfs"
"#;
    let (s, diags) = load_aurora(text, F);
    assert!(diags.is_empty(), "{diags:#?}");
    let ct = s.create_field("caseTypeCode").expect("caseTypeCode");
    assert_eq!(ct.values, ["P001", "FT01"]);
    assert!(ct.required);
    assert_eq!(ct.wire, Wire::Native);
    assert_eq!(
        s.create_field("easting").map(|f| f.wire),
        Some(Wire::String)
    );
    assert_eq!(
        s.contact_field("emailAddress").and_then(|f| f.max_length),
        Some(254)
    );
    let codes: Vec<&str> = s.udfs.iter().map(|u| u.code.as_str()).collect();
    assert_eq!(codes, ["HAZARD", "NOTES"]);
    let hazard = s.udf_by_code("HAZARD").expect("HAZARD");
    assert_eq!(hazard.name, "Hazard level");
    assert_eq!(at(text, hazard.decl.span), "code = \"HAZARD\"");
    assert_eq!(s.udf_by_code("NOTES").and_then(|u| u.max_length), Some(50));
    let cn = s.snapshot_field("Message.CaseNumber").expect("snapshot");
    assert!(cn.required);
    assert_eq!(at(text, cn.decl.span), "\"Message.CaseNumber\"");
    // Keys left out of [udf_wire] keep their defaults.
    let defaults = UdfWire::default();
    assert_eq!(s.udf_wire.style, UdfWireStyle::Object);
    assert_eq!(s.udf_wire.field, "udfs");
    assert_eq!(s.udf_wire.code_key, defaults.code_key);
    assert_eq!(s.udf_wire.snapshot_path, defaults.snapshot_path);
}

#[test]
fn udf_wire_defaults_when_absent() {
    let (s, diags) = load_aurora("", F);
    assert!(diags.is_empty());
    assert_eq!(s.udf_wire, UdfWire::default());
}

#[test]
fn s0001_invalid_toml_points_at_the_error() {
    let text = "[fields.summary]\ntype = \"text\nrequired = true\n";
    let (_, diags) = load_connect(text, F);
    assert!(!diags.is_empty());
    assert!(diags.iter().all(|d| d.code == Code::S0001), "{diags:#?}");
    let line_2 = text.find("type").unwrap_or(0) as u32;
    let span = diags[0].primary.span;
    assert!(
        span.start >= line_2 && span.start <= text.len() as u32,
        "{span:?}"
    );

    let text = "[fields.a]\ntype = \"text\"\n[fields.a]\ntype = \"text\"\n";
    let (_, diags) = load_connect(text, F);
    assert!(diags.iter().all(|d| d.code == Code::S0001), "{diags:#?}");
    assert!(
        diags[0].message.contains("duplicate"),
        "{}",
        diags[0].message
    );
    // At the second `a`.
    assert_eq!(diags[0].primary.span.start, 33);
}

#[test]
fn s0002_unknown_key_suggests_the_closest() {
    let text = "[fields.summary]\ntype = \"text\"\nrequried = true\n";
    let (s, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!(d.code, Code::S0002);
    assert_eq!(under, "requried");
    assert_eq!(d.help.as_deref(), Some("did you mean `required`?"));
    assert_eq!(d.fixes.len(), 1);
    assert_eq!(d.fixes[0].replacement, "required");
    assert_eq!(at(text, d.fixes[0].location.span), "requried");
    // The rest of the entry still loads, without the misspelt key.
    let f = s.field("summary").expect("summary");
    assert!(!f.required);
}

#[test]
fn s0002_unknown_sections_and_far_keys() {
    let text = "[feilds.summary]\ntype = \"text\"\n";
    let (_, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0002, "feilds"));
    assert_eq!(d.help.as_deref(), Some("did you mean `fields`?"));

    let text = "[create.description]\ntype = \"text\"\ncolour = \"red\"\n";
    let (_, diags) = load_aurora(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0002, "colour"));
    let help = d.help.unwrap_or_default();
    assert!(
        help.contains("`wire`") && help.contains("`max_length`"),
        "{help}"
    );
    assert!(d.fixes.is_empty());

    let text = "[udf_wire]\nstyl = \"list\"\n";
    let (_, diags) = load_aurora(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0002, "styl"));
    assert_eq!(d.help.as_deref(), Some("did you mean `style`?"));
}

#[test]
fn s0003_unknown_type_lists_the_valid_ones() {
    let text = "[fields.summary]\ntype = \"string\"\n";
    let (s, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "\"string\""));
    assert!(
        d.message
            .contains("`text`, `number`, `integer`, `bool`, `date`, `datetime` or `choice`"),
        "{}",
        d.message
    );
    assert_eq!(d.help.as_deref(), Some("did you mean `text`?"));
    // The field is still declared, so templates using it are not flooded with errors.
    assert!(s.field("summary").is_some());

    let text = "[fields.n]\ntype = \"numbr\"\n";
    let (_, diags) = load_connect(text, F);
    let (d, _) = only(text, &diags);
    assert_eq!(d.help.as_deref(), Some("did you mean `number`?"));
}

#[test]
fn s0003_date_types_are_date_or_datetime() {
    let text = "[dates.reported]\ntype = \"text\"\n";
    let (_, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "\"text\""));
    assert!(d.message.contains("`date` or `datetime`"), "{}", d.message);
}

#[test]
fn s0003_wrong_toml_types() {
    let text = "[fields.a]\ntype = \"text\"\nrequired = \"yes\"\nmax_length = \"10\"\n";
    let (_, diags) = load_connect(text, F);
    assert_eq!(codes(&diags), [Code::S0003, Code::S0003]);
    assert_eq!(at(text, diags[0].primary.span), "\"yes\"");
    assert!(
        diags[0].message.contains("not a string"),
        "{}",
        diags[0].message
    );
    assert_eq!(at(text, diags[1].primary.span), "\"10\"");

    let text = "[fields.a]\ntype = \"choice\"\noptions = \"a, b\"\n";
    let (_, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "\"a, b\""));

    let text = "[fields.a]\ntype = \"choice\"\noptions = [\"a\", 2]\n";
    let (s, diags) = load_connect(text, F);
    let (_, under) = only(text, &diags);
    assert_eq!(under, "2");
    assert_eq!(
        s.field("a").map(|f| f.options.clone()),
        Some(vec!["a".into()])
    );

    let text = "fields = 3\n";
    let (_, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "3"));

    let text = "[fields]\nsummary = \"text\"\n";
    let (_, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "\"text\""));
    assert!(d.message.contains("must be a table"), "{}", d.message);
}

#[test]
fn s0003_values_only_on_a_choice() {
    let text = "[fields.a]\ntype = \"text\"\noptions = [\"x\"]\n";
    let (_, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "options"));

    let text = "[snapshot.\"Date\"]\ntype = \"datetime\"\nvalues = [\"x\"]\n";
    let (_, diags) = load_aurora(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "values"));
}

#[test]
fn s0003_a_choice_needs_values() {
    let text = "[create.caseTypeCode]\ntype = \"choice\"\n";
    let (_, diags) = load_aurora(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "\"choice\""));
    assert!(d.help.unwrap_or_default().contains("values = ["));

    let text = "[fields.a]\ntype = \"choice\"\noptions = []\n";
    let (_, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "[]"));
    assert!(d.message.contains("no allowed values"), "{}", d.message);
}

#[test]
fn s0003_max_length_must_be_positive_and_on_text() {
    let text = "[fields.a]\ntype = \"text\"\nmax_length = 0\n";
    let (s, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "0"));
    assert_eq!(s.field("a").and_then(|f| f.max_length), None);

    let text = "[fields.a]\ntype = \"text\"\nmax_length = -4\n";
    let (_, diags) = load_connect(text, F);
    assert_eq!(only(text, &diags).1, "-4");

    let text = "[[udf]]\ncode = \"D\"\nname = \"Depth\"\ntype = \"integer\"\nmax_length = 5\n";
    let (s, diags) = load_aurora(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "max_length"));
    assert!(d.message.contains("`integer`"), "{}", d.message);
    assert_eq!(s.udf_by_code("D").and_then(|u| u.max_length), None);
}

#[test]
fn s0003_wire_style_and_udf_shape() {
    let text = "[create.easting]\ntype = \"number\"\nwire = \"text\"\n";
    let (_, diags) = load_aurora(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "\"text\""));
    assert!(d.message.contains("`string` or `native`"));

    let text = "[udf_wire]\nstyle = \"array\"\n";
    let (s, diags) = load_aurora(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "\"array\""));
    assert_eq!(s.udf_wire.style, UdfWireStyle::List);

    let text = "[udf_wire]\nfield = \"\"\n";
    let (s, diags) = load_aurora(text, F);
    assert_eq!(only(text, &diags).1, "\"\"");
    assert_eq!(s.udf_wire.field, "userDefinedFields");

    let text = "[udf]\ncode = \"A\"\n";
    let (_, diags) = load_aurora(text, F);
    let (d, _) = only(text, &diags);
    assert_eq!(d.code, Code::S0003);
    assert!(d.help.unwrap_or_default().contains("[[udf]]"));

    let text = "[snapshot.\"Message..CaseNumber\"]\ntype = \"text\"\n";
    let (_, diags) = load_aurora(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0003, "\"Message..CaseNumber\""));
}

#[test]
fn s0004_missing_keys() {
    let text = "[fields.summary]\nrequired = true\n";
    let (s, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0004, "summary"));
    assert!(d.message.contains("`type`"));
    assert!(s.field("summary").is_some());

    let text = "[[udf]]\ntype = \"text\"\n";
    let (s, diags) = load_aurora(text, F);
    assert_eq!(codes(&diags), [Code::S0004, Code::S0004]);
    assert!(diags.iter().all(|d| at(text, d.primary.span) == "[[udf]]"));
    assert!(diags[0].message.contains("`code`") || diags[1].message.contains("`code`"));
    assert!(diags.iter().any(|d| d.message.contains("`name`")));
    assert!(s.udfs.is_empty());

    let text = "[[udf]]\ncode = \"X\"\ntype = \"text\"\n";
    let (s, diags) = load_aurora(text, F);
    let (d, _) = only(text, &diags);
    assert_eq!(d.code, Code::S0004);
    assert!(d.message.contains("`X` has no `name`"), "{}", d.message);
    assert_eq!(s.udfs.len(), 1);
}

#[test]
fn s0005_duplicates() {
    let text = "[[udf]]\ncode = \"HAZ\"\nname = \"Hazard\"\ntype = \"text\"\n\n[[udf]]\ncode = \"HAZ\"\nname = \"Hazard again\"\ntype = \"text\"\n";
    let (s, diags) = load_aurora(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0005, "\"HAZ\""));
    assert!(d.primary.span.start > 40);
    assert_eq!(d.labels.len(), 1);
    assert_eq!(at(text, d.labels[0].location.span), "\"HAZ\"");
    assert!(d.labels[0].location.span.start < 20);
    assert_eq!(s.udfs.len(), 1);
    assert_eq!(s.udfs[0].name, "Hazard");

    let text = "[fields.a]\ntype = \"choice\"\noptions = [\"x\", \"y\", \"x\"]\n";
    let (s, diags) = load_connect(text, F);
    let (d, under) = only(text, &diags);
    assert_eq!((d.code, under), (Code::S0005, "\"x\""));
    assert_eq!(s.field("a").map(|f| f.options.len()), Some(2));
}

#[test]
fn broken_toml_reports_only_the_syntax_errors() {
    // Follow-on errors (the unreadable type is "missing") would be noise.
    let text = "[fields.a]\ntype = text\n";
    let (_, diags) = load_connect(text, F);
    assert!(!diags.is_empty());
    assert!(diags.iter().all(|d| d.code == Code::S0001), "{diags:#?}");
}

#[test]
fn the_example_schemas_load_cleanly() {
    let aurora = include_str!("../../examples/schema/aurora.toml");
    let connect = include_str!("../../examples/schema/connect.toml");
    let (a, da) = load_aurora(aurora, F);
    let (c, dc) = load_connect(connect, F);
    assert!(da.is_empty(), "{da:#?}");
    assert!(dc.is_empty(), "{dc:#?}");
    assert!(a.create_field("caseTypeCode").is_some_and(|f| f.required));
    assert!(
        a.snapshot_field("Message.CaseNumber")
            .is_some_and(|f| f.required)
    );
    assert!(a.udfs.len() >= 6);
    assert!(c.reference("aurora_case").is_some());
}

mod project {
    use super::*;

    const VALID: &str = r#"[project]
templates = ["templates/**/*.amap", "extra/*.amap"]
aurora_schema = "schema/aurora.toml"
connect_schema = "schema/connect.toml"

[server]
listen = "127.0.0.1:8080"

[retry]
attempts = 5
"#;

    #[test]
    fn a_valid_project_file() {
        let (config, diags) = parse_project(VALID, F);
        assert!(diags.is_empty(), "{diags:#?}");
        let config = config.expect("config");
        let patterns: Vec<&str> = config.templates.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(patterns, ["templates/**/*.amap", "extra/*.amap"]);
        assert_eq!(at(VALID, config.templates[1].1), "\"extra/*.amap\"");
        assert_eq!(config.aurora_schema.0, "schema/aurora.toml");
        assert_eq!(
            at(VALID, config.connect_schema.1),
            "\"schema/connect.toml\""
        );
        let keys: Vec<&str> = config.other.keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["retry", "server"]);
        assert_eq!(
            config.other["server"]["listen"].as_str(),
            Some("127.0.0.1:8080")
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let text = VALID.replace("connect_schema =", "conect_schema =");
        let (config, diags) = parse_project(&text, F);
        assert!(config.is_none());
        assert_eq!(codes(&diags), [Code::S0004, Code::S0002]);
        assert!(diags[0].message.contains("`connect_schema`"));
        assert_eq!(at(&text, diags[0].primary.span), "project");
        assert_eq!(at(&text, diags[1].primary.span), "conect_schema");
        assert_eq!(
            diags[1].help.as_deref(),
            Some("did you mean `connect_schema`?")
        );

        let text = format!("{VALID}\n[sever]\nport = 1\n");
        let (config, diags) = parse_project(&text, F);
        let (d, under) = only(&text, &diags);
        assert_eq!((d.code, under), (Code::S0002, "sever"));
        assert_eq!(d.help.as_deref(), Some("did you mean `server`?"));
        // An unknown top-level table does not stop the project from loading.
        assert!(config.is_some());
    }

    #[test]
    fn missing_project_table() {
        let text = "[server]\nlisten = \"127.0.0.1:1\"\n";
        let (config, diags) = parse_project(text, F);
        assert!(config.is_none());
        assert_eq!(codes(&diags), [Code::S0004]);
        assert!(diags[0].message.contains("[project]"));
    }

    #[test]
    fn templates_must_be_a_list_of_valid_patterns() {
        let text = VALID.replace(
            "[\"templates/**/*.amap\", \"extra/*.amap\"]",
            "\"templates/*.amap\"",
        );
        let (config, diags) = parse_project(&text, F);
        assert!(config.is_none());
        let (d, under) = only(&text, &diags);
        assert_eq!((d.code, under), (Code::S0003, "\"templates/*.amap\""));
        assert_eq!(
            d.help.as_deref(),
            Some("write `templates = [\"templates/*.amap\"]`")
        );

        let text = VALID.replace("extra/*.amap", "extra/[.amap");
        let (config, diags) = parse_project(&text, F);
        assert!(config.is_none());
        let (d, under) = only(&text, &diags);
        assert_eq!((d.code, under), (Code::S0003, "\"extra/[.amap\""));

        let text = VALID.replace("[\"templates/**/*.amap\", \"extra/*.amap\"]", "[]");
        let (config, diags) = parse_project(&text, F);
        assert!(config.is_none());
        assert_eq!(only(&text, &diags).1, "[]");
    }

    #[test]
    fn invalid_toml() {
        let (config, diags) = parse_project("[project\n", F);
        assert!(config.is_none());
        assert!(!diags.is_empty());
        assert!(diags.iter().all(|d| d.code == Code::S0001));
    }

    #[test]
    fn the_example_project_file_is_valid() {
        let text = include_str!("../../examples/amap.toml");
        let (config, diags) = parse_project(text, F);
        assert!(diags.is_empty(), "{diags:#?}");
        assert!(config.is_some());
    }
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn loaders_never_panic(text in "(\\[|\\]|\\[\\[|=|\"|\n|[a-z_.]{1,8}| |[0-9]{1,3}|,|\\{|\\})*") {
            let _ = load_connect(&text, F);
            let _ = load_aurora(&text, F);
            let _ = parse_project(&text, F);
        }

        #[test]
        fn every_span_is_inside_the_text(text in "(\\[fields\\.a\\]\n|\\[\\[udf\\]\n|type = |\"choice\"|\"x\"|options = |values = |\\[\\]|max_length = 0|\n|required = 1|code = \"A\"\n)*") {
            for diags in [load_connect(&text, F).1, load_aurora(&text, F).1, parse_project(&text, F).1] {
                for d in diags {
                    prop_assert!(d.primary.span.end as usize <= text.len());
                    prop_assert!(d.primary.span.start <= d.primary.span.end);
                    prop_assert!(text.is_char_boundary(d.primary.span.start as usize));
                }
            }
        }
    }
}
