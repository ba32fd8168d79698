//! Properties of the parser on arbitrary input: it never panics, every diagnostic points inside
//! the text on character boundaries, every broken item carries an error, and well-formed
//! templates built from random pieces parse back without diagnostics.

use amap::diagnostics::{Code, Diagnostic, FileId, Span};
use amap::syntax::ast::{self, Item};
use amap::syntax::parse;
use proptest::prelude::*;

fn on_boundaries(text: &str, span: Span) -> bool {
    span.start <= span.end
        && (span.end as usize) <= text.len()
        && text.is_char_boundary(span.start as usize)
        && text.is_char_boundary(span.end as usize)
}

/// The invariants every parse must keep, whatever the input.
fn check_invariants(text: &str) -> Result<(ast::File, Vec<Diagnostic>), TestCaseError> {
    let (file, diags) = parse(text, FileId(7));
    for d in &diags {
        prop_assert!(
            on_boundaries(text, d.primary.span),
            "diagnostic span {:?} out of the text or off a boundary: {}",
            d.primary.span,
            d.message
        );
        prop_assert_eq!(d.primary.file, FileId(7));
        for l in &d.labels {
            prop_assert!(
                on_boundaries(text, l.location.span),
                "label span {:?}",
                l.location.span
            );
        }
        prop_assert!(
            matches!(d.code, Code::E0001 | Code::E0002),
            "unexpected code {:?}",
            d.code
        );
        prop_assert!(!d.message.is_empty());
        // Messages are words, not grammar rule names.
        for rule_name in [
            "unary",
            "p_expr",
            "segments",
            "udf_key_arg",
            "kw_",
            "Rule::",
            "positives",
        ] {
            prop_assert!(
                !d.message.contains(rule_name),
                "rule name in message: {}",
                d.message
            );
        }
    }
    for item in &file.items {
        let span = match item {
            Item::Template(t) => t.span,
            Item::Table(t) => t.span,
            Item::Error(span) => {
                let covered = diags.iter().any(|d| {
                    d.is_error()
                        && span.start <= d.primary.span.start
                        && d.primary.span.end <= span.end
                });
                prop_assert!(covered, "Item::Error {:?} without a diagnostic in it", span);
                *span
            }
        };
        prop_assert!(on_boundaries(text, span), "item span {:?}", span);
    }
    let errors = file
        .items
        .iter()
        .filter(|i| matches!(i, Item::Error(_)))
        .count();
    let e0001 = diags.iter().filter(|d| d.code == Code::E0001).count();
    prop_assert!(
        e0001 <= errors,
        "{} E0001 for {} broken items",
        e0001,
        errors
    );
    Ok((file, diags))
}

const TOKENS: &[&str] = &[
    "create",
    "incoming",
    "table",
    "for",
    "ref.aurora_case",
    "ref",
    "udf",
    "if",
    "then",
    "else",
    "not",
    "and",
    "or",
    "exists",
    "true",
    "false",
    "field.summary",
    "field[\"odd-name\"]",
    "aurora.Message.CaseNumber",
    "address.easting",
    "person",
    "date",
    "lookup",
    "hazard_codes",
    "join",
    "\"P001\"",
    "\"{field.summary} at {address.summary}\"",
    "\"bad \\q\"",
    "\"open {\"",
    "\"{1+2}\"",
    "r\"raw {x}\"",
    "\"unterminated",
    "12",
    "-3.5",
    "{",
    "}",
    "=",
    "==",
    "!=",
    "??",
    "!",
    "(",
    ")",
    ";",
    ",",
    ":",
    "->",
    "=>",
    "?",
    ".",
    "[",
    "]",
    "\n",
    "\n\n",
    "///",
    "/// doc\n",
    "// comment\n",
    "text",
    "integer?",
    "é",
    "\u{0}",
    "\t",
    "\"",
    "\\",
];

fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(TOKENS);
    let sep = prop::sample::select(&[" ", "", "\n", "  "][..]);
    prop::collection::vec((token, sep), 0..80).prop_map(|parts| {
        let mut s = String::new();
        for (t, sep) in parts {
            s.push_str(t);
            s.push_str(sep);
        }
        s
    })
}

/// A valid template around a soup of mappings, some of them broken.
fn templates_with_soup() -> impl Strategy<Value = String> {
    (token_soup(), token_soup()).prop_map(|(a, b)| {
        format!(
            "create \"One\" for ref.x {{\n  aurora.a = {a}\n}}\n\ntable t: text -> text {{\n  \"a\" => \"b\"\n}}\n\nincoming \"Two\" for ref.x {{\n  field.b = {b}\n}}\n"
        )
    })
}

// ---- well-formed text from random pieces

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("field.summary".to_string()),
        Just("field[\"odd-name\"]".to_string()),
        Just("aurora.Message.CaseNumber".to_string()),
        Just("\"text {person.surname} \\{x\\}\"".to_string()),
        Just("r\"raw\"".to_string()),
        Just("42".to_string()),
        Just("-0.5".to_string()),
        Just("true".to_string()),
        Just("udf \"HAZARD\"".to_string()),
        Just("udf field.key".to_string()),
        Just("hazard_codes".to_string()),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} ?? {b}")),
            inner.clone().prop_map(|a| format!("({a})!")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|args| format!("join(\n  {}\n)", args.join(",\n  "))),
            (inner.clone(), inner.clone(), inner.clone(), inner.clone()).prop_map(
                |(a, b, c, d)| {
                    format!("if ({a}) == ({b}) and exists(field.x) or ({c}) then ({c}) else ({d})")
                }
            ),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        check_invariants(&text)?;
    }

    #[test]
    fn ascii_punctuation_never_panics(text in "[ -~\n\t\r]{0,200}") {
        check_invariants(&text)?;
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check_invariants(&text)?;
    }

    #[test]
    fn soup_inside_templates_keeps_the_neighbours(text in templates_with_soup()) {
        let (file, _) = check_invariants(&text)?;
        // The table between the two templates is always intact.
        let tables = file.items.iter().filter(|i| matches!(i, Item::Table(_))).count();
        prop_assert!(tables >= 1, "the table was lost: {:?}", file.items);
    }

    #[test]
    fn well_formed_templates_parse_cleanly(values in prop::collection::vec(expr(), 1..8)) {
        let mut text = String::from("/// Generated.\ncreate \"Generated\" for ref.x {\n");
        for (i, v) in values.iter().enumerate() {
            text.push_str(&format!("    aurora.f{i} = {v}\n"));
        }
        text.push_str("}\n");
        let (file, diags) = check_invariants(&text)?;
        prop_assert!(diags.is_empty(), "{:?}\n{}", diags, text);
        let [Item::Template(t)] = file.items.as_slice() else {
            return Err(TestCaseError::fail(format!("expected one template: {:?}", file.items)));
        };
        prop_assert_eq!(t.mappings.len(), values.len());
        prop_assert_eq!(t.doc.as_deref(), Some("Generated."));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash(depth in 1usize..400, kind in 0usize..4) {
        let inner = match kind {
            0 => format!("{}1{}", "(".repeat(depth), ")".repeat(depth)),
            1 => format!("{}x", "not ".repeat(depth)),
            2 => vec!["a"; depth + 1].join(" ?? "),
            _ => format!("{}1{}", "f(".repeat(depth), ")".repeat(depth)),
        };
        let text = format!("create \"Deep\" for ref.x {{\n  aurora.a = {inner}\n}}\n");
        let (file, diags) = check_invariants(&text)?;
        if depth > 70 {
            prop_assert!(diags.iter().any(|d| d.message == "expression nested too deeply"));
            prop_assert!(matches!(file.items.as_slice(), [Item::Error(_)]));
        }
        if depth < 40 {
            prop_assert!(diags.is_empty(), "{:?}", diags);
        }
    }
}
