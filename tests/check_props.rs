//! Properties of the whole front end on arbitrary input: parse, check and compile never panic,
//! whatever text or token soup they are given, and every diagnostic points inside its file.

use amap::check::{Env, ProjectFile, check_project};
use amap::diagnostics::{FileId, SourceMap, Span};
use amap::plan::{Bundle, CompileInput, SchemaHashes, compile};
use amap::schema::{AuroraSchema, ConnectSchema, load_aurora, load_connect};
use amap::syntax::parse;
use proptest::prelude::*;
use std::sync::OnceLock;

fn schemas() -> &'static (AuroraSchema, ConnectSchema) {
    static SCHEMAS: OnceLock<(AuroraSchema, ConnectSchema)> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema/");
        let aurora = std::fs::read_to_string(format!("{dir}aurora.toml")).expect("aurora schema");
        let connect =
            std::fs::read_to_string(format!("{dir}connect.toml")).expect("connect schema");
        let (a, da) = load_aurora(&aurora, FileId(1));
        let (c, dc) = load_connect(&connect, FileId(2));
        assert!(da.is_empty() && dc.is_empty());
        (a, c)
    })
}

/// Parses and checks `text` as a one-file project, compiles it, and checks the invariants.
fn front_end(text: &str) -> Result<(), TestCaseError> {
    let (aurora, connect) = schemas();
    let mut sources = SourceMap::new();
    let id = sources.add("fuzz.amap", text);
    let (ast, mut diags) = parse(text, id);
    let env = Env { aurora, connect };
    let checked = check_project(
        &[ProjectFile {
            file: id,
            ast: &ast,
        }],
        &env,
    );
    diags.extend(checked.diagnostics.iter().cloned());
    for d in &diags {
        if d.primary.file == id {
            prop_assert!(
                in_text(text, d.primary.span),
                "{:?} outside the text: {}",
                d.primary.span,
                d.message
            );
        }
        for fix in &d.fixes {
            prop_assert!(
                in_text(text, fix.location.span),
                "fix span {:?}",
                fix.location.span
            );
        }
        prop_assert!(!d.message.is_empty());
    }
    let bundle = compile(&CompileInput {
        checked: &checked,
        env,
        sources: &sources,
        template_files: &[id],
        schemas: SchemaHashes {
            aurora: "a".into(),
            connect: "c".into(),
        },
    });
    // Whatever compiled must survive a round trip through its serialised form.
    let again =
        Bundle::from_json(&bundle.to_json()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(again, bundle);
    Ok(())
}

fn in_text(text: &str, span: Span) -> bool {
    span.start <= span.end
        && (span.end as usize) <= text.len()
        && text.is_char_boundary(span.start as usize)
        && text.is_char_boundary(span.end as usize)
}

/// Pieces of the language, valid names and invalid ones, to build token soups from.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "create",
        "incoming",
        "table",
        "for",
        "ref.aurora_case",
        "ref.nope",
        "\"T\"",
        "\"U\"",
        "{",
        "}",
        "=",
        "=>",
        "??",
        "!",
        "(",
        ")",
        ";",
        "\n",
        " ",
        ",",
        "not",
        "if",
        "then",
        "else",
        "exists",
        "and",
        "or",
        "==",
        "!=",
        "aurora.caseTypeCode",
        "aurora.description",
        "aurora.easting",
        "aurora.Message.CaseNumber",
        "aurora.TriggerType",
        "contact.firstName",
        "field.summary",
        "field.hazard",
        "field.details",
        "field.udf_pick",
        "field.depth_mm",
        "date.reported",
        "date.updated",
        "person.email",
        "address.easting",
        "case.reference",
        "udf",
        "\"HAZARD\"",
        "\"Size\"",
        "\"P001\"",
        "\"{field.summary}\"",
        "\"{\"",
        "r\"x\"",
        "lookup",
        "truncate",
        "format",
        "join",
        "number",
        "phone",
        "now",
        "text",
        "hazard_codes",
        "\"%d/%m/%Y\"",
        "\"%Q\"",
        "12",
        "-3.50",
        "true",
        "x: text -> text",
        ": text -> integer",
        "///doc\n",
        "// c\n",
        "\"low\" => \"L\"",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        front_end(&text)?;
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..80)) {
        front_end(&tokens.join(" "))?;
    }

    #[test]
    fn templates_with_random_bodies_never_panic(
        kind in prop::sample::select(vec!["create", "incoming"]),
        body in prop::collection::vec((token(), token(), token(), token()), 0..12),
    ) {
        let mut text = format!(
            "table hazard_codes: text -> text {{\n    \"low\" => \"L\"\n}}\n{kind} \"T\" for ref.aurora_case {{\n"
        );
        for (target, a, op, b) in body {
            text.push_str(&format!("    {target} = {a} {op} {b}\n"));
        }
        text.push_str("}\n");
        front_end(&text)?;
    }
}
