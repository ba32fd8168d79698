//! The renderers on a hand-built project, compared with the expected output under
//! `tests/render/`, and `docs/diagnostics.md` compared with the code registry.
//! `AMAP_BLESS=1 cargo test --test render` rewrites both from the current output.

use amap::diagnostics::render::{self, Counts, Format, HumanOptions};
use amap::diagnostics::{Code, Diagnostic, FileId, Severity, SourceMap, Span};
use std::path::{Path, PathBuf};

const TEMPLATE: &str = "\
// Überweg: crossings and potholes
create \"Pothole report\" for ref.aurora_case {
    aurora.caseTypeCode = \"P001\"
    aurora.description  = \"Straße: {field.detail}\"
    aurora.locationText = field.summary
}
";

const SCHEMA: &str = "\
[create.description]
type = \"text\"
required = true

[create.locationText]
type = \"text\"
max_length = 100
";

fn span_of(text: &str, needle: &str) -> Span {
    let start = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in text"));
    Span::from_range(start..start + needle.len())
}

/// Two files and three diagnostics: an error after a multi-byte character on its line, an
/// error with a label in the other file, and a warning.
fn project() -> (SourceMap, FileId, FileId, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let template = sources.add("templates/potholes.amap", TEMPLATE);
    let schema = sources.add("schema/aurora.toml", SCHEMA);
    let diagnostics = vec![
        Diagnostic::new(
            Code::E0101,
            template,
            span_of(TEMPLATE, "field.detail"),
            "unknown field `field.detail`",
        )
        .with_primary_label("not a field of the Connect schema")
        .with_help("did you mean `field.details`?"),
        Diagnostic::new(
            Code::E0202,
            template,
            span_of(TEMPLATE, "\"Straße: {field.detail}\""),
            "`aurora.description` is required, but this value may be empty",
        )
        .with_primary_label("text? may be empty")
        .with_label(schema, span_of(SCHEMA, "required = true"), "required here")
        .with_help("give a default with `?? \"\"`, or assert a value with `!`"),
        Diagnostic::new(
            Code::W0202,
            template,
            span_of(TEMPLATE, "field.summary"),
            "`field.summary` may be longer than `aurora.locationText` (150 > 100 characters)",
        )
        .with_primary_label("up to 150 characters")
        .with_label(
            schema,
            span_of(SCHEMA, "max_length = 100"),
            "at most 100 here",
        )
        .with_help("cut it with `truncate(field.summary, 100)`"),
    ];
    (sources, template, schema, diagnostics)
}

fn bless() -> bool {
    std::env::var_os("AMAP_BLESS").is_some()
}

fn expected_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/render")
}

fn assert_snapshot(path: &Path, actual: &str) {
    if bless() {
        std::fs::write(path, actual).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (AMAP_BLESS=1 cargo test --test render creates it)\n{actual}",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the output (AMAP_BLESS=1 to update)\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

fn counts() -> Counts {
    Counts {
        files: 1,
        templates: 1,
    }
}

#[test]
fn human_snapshot() {
    let (sources, _, _, diagnostics) = project();
    let text = render::human(&diagnostics, &sources, &HumanOptions::default());
    assert!(!text.contains('\u{1b}'), "no colour unless asked");
    assert!(text.lines().all(|l| !l.ends_with(' ')), "trailing spaces");
    assert!(text.starts_with("error[E0101]: unknown field `field.detail`\n"));
    // The column counts characters: `ß` is one.
    assert!(text.contains("templates/potholes.amap:4:37"), "{text}");
    assert!(text.contains("schema/aurora.toml"));
    assert!(text.contains("= help: did you mean `field.details`?"));
    assert!(text.ends_with("error: could not check: 2 errors, 1 warning emitted\n"));
    assert_snapshot(&expected_dir().join("human.txt"), &text);
}

#[test]
fn human_colour_is_opt_in_and_keeps_the_text() {
    let (sources, _, _, diagnostics) = project();
    let coloured = render::human(
        &diagnostics,
        &sources,
        &HumanOptions {
            color: true,
            ..HumanOptions::default()
        },
    );
    assert!(coloured.contains("\u{1b}["));
    let plain = render::human(&diagnostics, &sources, &HumanOptions::default());
    assert_eq!(strip_ansi(&coloured), plain);
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out.lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect()
}

#[test]
fn json_snapshot_and_shape() {
    let (sources, _, _, diagnostics) = project();
    let text = render::json(&diagnostics, &sources, counts());
    assert_snapshot(&expected_dir().join("report.json"), &text);

    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["files", "templates", "errors", "warnings", "diagnostics"]
    );
    assert_eq!(v["errors"], 2);
    assert_eq!(v["warnings"], 1);
    let first = &v["diagnostics"][0];
    let keys: Vec<&str> = first
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "code",
            "severity",
            "message",
            "file",
            "line",
            "column",
            "end_line",
            "end_column",
            "labels",
            "help"
        ]
    );
    // `field.detail` starts at character 37 of line 4 (byte 38: `ß` is two bytes).
    assert_eq!(first["line"], 4);
    assert_eq!(first["column"], 37);
    assert_eq!(first["end_column"], 49);
    assert_eq!(first["labels"], serde_json::json!([]));
    let label = &v["diagnostics"][1]["labels"][0];
    assert_eq!(label["file"], "schema/aurora.toml");
    assert_eq!(label["line"], 3);
    assert_eq!(label["message"], "required here");
    assert_eq!(v["diagnostics"][2]["severity"], "warning");
}

#[test]
fn json_help_is_null_when_absent() {
    let mut sources = SourceMap::new();
    let id = sources.add("a.amap", "x");
    let d = [Diagnostic::new(Code::W0403, id, Span::new(0, 1), "unused")];
    let v: serde_json::Value =
        serde_json::from_str(&render::json(&d, &sources, counts())).expect("valid JSON");
    assert!(v["diagnostics"][0]["help"].is_null());
}

#[test]
fn github_snapshot() {
    let (sources, _, _, diagnostics) = project();
    let text = render::github(&diagnostics, &sources);
    assert_eq!(text.lines().count(), diagnostics.len());
    assert!(text.starts_with(
        "::error file=templates/potholes.amap,line=4,col=37,endLine=4,endColumn=49,title=E0101::"
    ));
    assert!(
        text.lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("::warning "))
    );
    assert_snapshot(&expected_dir().join("github.txt"), &text);
}

#[test]
fn github_escapes_properties_and_message() {
    let mut sources = SourceMap::new();
    let id = sources.add("odd,name:1.amap", "x");
    let d = [Diagnostic::new(
        Code::E0001,
        id,
        Span::new(0, 1),
        "100% wrong\nreally",
    )];
    let text = render::github(&d, &sources);
    assert_eq!(
        text,
        "::error file=odd%2Cname%3A1.amap,line=1,col=1,endLine=1,endColumn=2,title=E0001::100%25 wrong%0Areally\n"
    );
}

#[test]
fn sarif_snapshot_and_shape() {
    let (sources, _, _, diagnostics) = project();
    let text = render::sarif(&diagnostics, &sources);
    assert_snapshot(&expected_dir().join("report.sarif"), &text);

    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().is_some_and(|s| s.contains("sarif")));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "amap");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["E0101", "E0202", "W0202"]);
    assert_eq!(rules[1]["shortDescription"]["text"], Code::E0202.summary());
    assert_eq!(rules[1]["help"]["markdown"], Code::E0202.explanation());
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[1]["ruleId"], "E0202");
    assert_eq!(results[1]["ruleIndex"], 1);
    assert_eq!(results[2]["level"], "warning");
    let location = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "templates/potholes.amap"
    );
    assert_eq!(location["region"]["startLine"], 4);
    assert_eq!(location["region"]["startColumn"], 37);
    let related = &results[1]["relatedLocations"][0];
    assert_eq!(
        related["physicalLocation"]["artifactLocation"]["uri"],
        "schema/aurora.toml"
    );
    assert_eq!(related["message"]["text"], "required here");
}

#[test]
fn render_dispatches_on_the_format() {
    let (sources, _, _, diagnostics) = project();
    let options = HumanOptions::default();
    for format in Format::ALL {
        let text = render::render(format, &diagnostics, &sources, counts(), &options);
        let direct = match format {
            Format::Human => render::human(&diagnostics, &sources, &options),
            Format::Json => render::json(&diagnostics, &sources, counts()),
            Format::Github => render::github(&diagnostics, &sources),
            Format::Sarif => render::sarif(&diagnostics, &sources),
        };
        assert_eq!(text, direct, "{}", format.name());
    }
}

#[test]
fn no_diagnostics_render_empty_or_zero() {
    let (sources, _, _, _) = project();
    assert_eq!(render::human(&[], &sources, &HumanOptions::default()), "");
    assert_eq!(render::github(&[], &sources), "");
    let v: serde_json::Value =
        serde_json::from_str(&render::json(&[], &sources, counts())).expect("valid JSON");
    assert_eq!(v["errors"], 0);
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    let v: serde_json::Value =
        serde_json::from_str(&render::sarif(&[], &sources)).expect("valid JSON");
    assert_eq!(v["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn every_code_is_explained_with_an_example_and_a_fix() {
    for &code in Code::ALL {
        let text = code.explanation();
        assert!(!text.trim().is_empty(), "{code} has no explanation");
        let fences = text.matches("```").count();
        assert!(
            fences >= 4 && fences % 2 == 0,
            "{code}: expected an erroneous example and its fix as code blocks"
        );
        let lang = if code.as_str().starts_with('S') {
            "```toml"
        } else {
            "```amap"
        };
        assert!(text.contains(lang), "{code}: examples should be {lang}");
        assert_eq!(
            code.severity() == Severity::Warning,
            code.as_str().starts_with('W')
        );
        assert_eq!(Code::parse(&code.as_str().to_lowercase()), Some(code));
    }
}

#[test]
fn explain_names_the_code() {
    let text = render::explain(Code::E0202);
    assert!(text.starts_with("E0202 (error): optional value into a required target\n\n"));
    assert!(text.contains(Code::E0202.explanation().trim()));
}

#[test]
fn docs_list_every_code_from_the_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/diagnostics.md");
    let fresh = render::registry_markdown();
    for &code in Code::ALL {
        assert!(fresh.contains(&format!("\n## {code}\n")), "{code} missing");
    }
    if bless() {
        std::fs::write(&path, &fresh).expect("write docs/diagnostics.md");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "docs/diagnostics.md differs from the code registry; run `AMAP_BLESS=1 cargo test --test render`"
    );
}
