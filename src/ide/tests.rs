//! The editor features over every position of the examples: no position makes one panic, and
//! what each answers is consistent with the position asked about. The same for every prefix of
//! each file (the text while it is being typed), for completion, which reads the raw text.

use super::db;
use super::project::ProjectDb;
use super::{complete, hover, navigate};
use std::path::Path;

fn examples() -> ProjectDb {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    ProjectDb::load(&dir, &[]).expect("the examples load")
}

fn boundaries(text: &str) -> impl Iterator<Item = u32> + '_ {
    (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .map(|i| i as u32)
}

#[test]
fn every_position_of_the_examples_answers_consistently() {
    let project = examples();
    let templates: Vec<_> = project.templates().collect();
    assert!(!templates.is_empty(), "no example templates");
    let (mut hovers, mut definitions) = (0, 0);
    for (name, source) in templates {
        let text = source.text(&project.db).clone();
        for offset in boundaries(&text) {
            if let Some(h) = hover::hover(&project.db, source, offset) {
                // About the name under the cursor, or the name of the header it is in.
                let line = |at: u32| text[..at as usize].matches('\n').count();
                assert!(
                    (h.span.start <= offset && offset <= h.span.end)
                        || line(h.span.start) == line(offset),
                    "{name}@{offset}: hover about {:?}",
                    h.span
                );
                assert!(!h.markdown.is_empty(), "{name}@{offset}: an empty hover");
                hovers += 1;
            }
            if let Some(target) = navigate::definition(&project.db, source, offset) {
                let target_text = project
                    .text(target.file)
                    .unwrap_or_else(|| panic!("{name}@{offset}: {target:?} is no file"));
                assert!(
                    target.span.end as usize <= target_text.len()
                        && target.span.start < target.span.end,
                    "{name}@{offset}: {target:?} is outside its file"
                );
                definitions += 1;
            }
            for c in complete::complete(&project.db, &text, offset) {
                assert!(
                    c.replace.end == offset && c.replace.start <= offset,
                    "{name}@{offset}: {c:?} does not end at the cursor"
                );
            }
        }
        let symbols = navigate::symbols(&project.db, source);
        for s in symbols
            .iter()
            .chain(symbols.iter().flat_map(|s| &s.children))
        {
            assert!(
                s.span.start <= s.selection.start && s.selection.end <= s.span.end,
                "{name}: {s:?}"
            );
        }
    }
    assert!(
        hovers > 100 && definitions > 100,
        "{hovers} hovers, {definitions} definitions"
    );
}

#[test]
fn completion_answers_at_the_end_of_every_prefix_being_typed() {
    // The database is used directly: salsa waits for every clone to be dropped before it
    // takes a new input.
    let ProjectDb {
        mut db, mut inputs, ..
    } = examples();
    let (name, full) = {
        let first = inputs.project.files(&db)[0];
        (first.name(&db).clone(), first.text(&db).clone())
    };
    let file = inputs.add_file(&mut db, "typing.amap", "");
    let mut answered = 0;
    for end in boundaries(&full).step_by(7) {
        let text = &full[..end as usize];
        inputs.set_text(&mut db, file, text);
        // Parsing, checking and completing a half-written file.
        let _ = db::file_diagnostics(&db, file);
        let items = complete::complete(&db, text, end);
        if !items.is_empty() {
            answered += 1;
        }
        for c in &items {
            assert!(c.replace.end == end, "{name}[..{end}]: {c:?}");
        }
    }
    assert!(answered > 10, "only {answered} prefixes had completions");
}

mod arbitrary_text {
    use super::super::format::format;
    use super::*;
    use proptest::prelude::*;

    /// Pieces of the language and of what lies between them, in any order.
    const PIECES: &[&str] = &[
        "create ",
        "incoming ",
        "table ",
        "t: text -> text ",
        "\"A\" ",
        "for ",
        "ref.",
        "r ",
        "{",
        "}",
        "\n",
        "    ",
        "aurora.",
        "field.",
        "date.",
        "person.",
        "address.",
        "case.",
        "contact.",
        "description",
        "summary",
        " = ",
        " => ",
        "udf \"",
        "udf ",
        "HAZARD\"",
        "lookup(",
        "trim(",
        ", ",
        ")",
        "(",
        " ?? ",
        "!",
        "if ",
        " then ",
        " else ",
        " == ",
        "exists(",
        "not ",
        "\"x{field.summary}\"",
        "r\"raw\"",
        "12",
        "-3.5",
        "true",
        "//c\n",
        "/// doc\n",
        "[\"odd\"]",
        ";",
        "\r\n",
        "é",
        "😀",
        "\\",
        "\"",
    ];

    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(PIECES), 0..40)
            .prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever is typed, every editor feature answers at every position without
        /// panicking, and formatting either refuses or returns text that formats to itself.
        #[test]
        fn every_feature_answers_on_any_text(text in text()) {
            let ProjectDb { mut db, mut inputs, .. } = examples();
            let file = inputs.add_file(&mut db, "typed.amap", &text);
            let _ = db::project_diagnostics(&db);
            let _ = navigate::symbols(&db, file);
            for offset in boundaries(&text) {
                let _ = hover::hover(&db, file, offset);
                let _ = navigate::definition(&db, file, offset);
                for c in complete::complete(&db, &text, offset) {
                    prop_assert_eq!(c.replace.end, offset);
                }
            }
            if let Ok(out) = format(&text) {
                let again = format(&out);
                prop_assert_eq!(again, Ok(out));
            }
        }
    }
}
