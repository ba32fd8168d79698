//! Loading projects from disk (and memory): finding `amap.toml`, expanding template
//! patterns, reading schemas and templates, and what is an error versus a diagnostic.

use amap::diagnostics::{Code, Diagnostic};
use amap::workspace::{self, Workspace, WorkspaceError};
use std::path::{Path, PathBuf};

const PROJECT: &str = "[project]\ntemplates = [\"templates/**/*.amap\"]\naurora_schema = \"schema/aurora.toml\"\nconnect_schema = \"schema/connect.toml\"\n";
const AURORA: &str = "[create.description]\ntype = \"text\"\nrequired = true\n\n[snapshot.\"Message.CaseNumber\"]\ntype = \"text\"\nrequired = true\n";
const CONNECT: &str =
    "[fields.summary]\ntype = \"text\"\nrequired = true\n\n[references.aurora_case]\n";
const TEMPLATE: &str =
    "create \"Report\" for ref.aurora_case {\n    aurora.description = field.summary\n}\n";

fn write(root: &Path, name: &str, content: impl AsRef<[u8]>) {
    let path = root.join(name);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create dir");
    }
    std::fs::write(path, content).expect("write file");
}

/// A project with the given template files (names under `templates/`).
fn project(templates: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "amap.toml", PROJECT);
    write(dir.path(), "schema/aurora.toml", AURORA);
    write(dir.path(), "schema/connect.toml", CONNECT);
    for (name, content) in templates {
        write(dir.path(), &format!("templates/{name}"), content);
    }
    dir
}

fn template_names(ws: &Workspace) -> Vec<&str> {
    ws.templates.iter().map(|(id, _)| ws.name(*id)).collect()
}

fn codes(diags: &[Diagnostic]) -> Vec<Code> {
    diags.iter().map(|d| d.code).collect()
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

#[test]
fn no_project_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    if workspace::find_project(dir.path()).is_some() {
        // A stray amap.toml above the temporary folder would be found instead.
        return;
    }
    match workspace::load(dir.path()) {
        Err(e @ WorkspaceError::NoProject { .. }) => {
            let message = e.to_string();
            assert!(message.contains("no amap.toml"), "{message}");
            assert!(
                message.contains(&dir.path().display().to_string()),
                "{message}"
            );
        }
        other => panic!("expected NoProject, got {other:?}"),
    }
}

#[test]
fn a_missing_folder_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere");
    let e = workspace::load(&missing).expect_err("missing folder");
    assert!(matches!(e, WorkspaceError::Read { .. }), "{e:?}");
    assert!(e.to_string().contains("nowhere"));
}

#[test]
fn a_missing_schema_names_its_path_and_the_reason() {
    let dir = project(&[("a.amap", TEMPLATE.as_bytes())]);
    std::fs::remove_file(dir.path().join("schema/connect.toml")).expect("remove");
    let e = workspace::load(dir.path()).expect_err("missing schema");
    let message = e.to_string();
    assert!(matches!(e, WorkspaceError::Schema { .. }), "{e:?}");
    assert!(message.contains("Connect schema"), "{message}");
    assert!(
        message.contains(&dir.path().join("schema/connect.toml").display().to_string()),
        "{message}"
    );
    let reason = std::io::Error::from(std::io::ErrorKind::NotFound).to_string();
    assert!(
        message.contains(&reason) || message.contains("os error"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1);
}

#[test]
fn a_pattern_matching_nothing_is_s0006_on_the_pattern() {
    let dir = project(&[("a.amap", TEMPLATE.as_bytes())]);
    let text = PROJECT.replace(
        "[\"templates/**/*.amap\"]",
        "[\"templates/**/*.amap\", \"other/*.amap\"]",
    );
    write(dir.path(), "amap.toml", &text);
    let ws = workspace::load(dir.path()).expect("load");
    assert_eq!(codes(&ws.diagnostics), [Code::S0006]);
    let d = &ws.diagnostics[0];
    assert_eq!(d.primary.file, ws.project_file);
    assert_eq!(&text[d.primary.span.range()], "\"other/*.amap\"");
    assert!(d.message.contains("other/*.amap"));
    assert_eq!(template_names(&ws), ["templates/a.amap"]);
}

#[test]
fn a_binary_template_is_a_diagnostic_and_is_skipped() {
    let dir = project(&[
        ("a.amap", TEMPLATE.as_bytes()),
        ("b.amap", b"create \"x\"\0\x01\x02\xff"),
        ("c.amap", b"// caf\xe9\n"),
    ]);
    let ws = workspace::load(dir.path()).expect("load");
    assert_eq!(template_names(&ws), ["templates/a.amap"]);
    assert_eq!(codes(&ws.diagnostics), [Code::E0001, Code::E0001]);
    let binary = &ws.diagnostics[0];
    assert_eq!(ws.name(binary.primary.file), "templates/b.amap");
    assert!(binary.message.contains("not valid UTF-8 text"));
    assert_eq!(binary.primary.span.start, 10);
    let latin1 = &ws.diagnostics[1];
    assert_eq!(ws.name(latin1.primary.file), "templates/c.amap");
    assert_eq!(latin1.message, "file is not valid UTF-8 text");
    assert_eq!(latin1.primary.span.start, 6);
    // The sources hold the text, so the diagnostics can be rendered.
    assert!(ws.text(latin1.primary.file).starts_with("// caf"));
}

#[test]
fn templates_load_sorted_with_slash_names_from_any_depth() {
    let dir = project(&[
        ("zeta.amap", TEMPLATE.as_bytes()),
        ("roads/b.amap", b"" as &[u8]),
        ("alpha.amap", b""),
        ("roads/deep/a.amap", b""),
        ("notes.txt", b"not a template"),
    ]);
    let ws = workspace::load(dir.path()).expect("load");
    assert!(ws.diagnostics.is_empty(), "{:#?}", ws.diagnostics);
    assert_eq!(
        template_names(&ws),
        [
            "templates/alpha.amap",
            "templates/roads/b.amap",
            "templates/roads/deep/a.amap",
            "templates/zeta.amap",
        ]
    );
    assert_eq!(ws.name(ws.project_file), "amap.toml");
    assert_eq!(ws.name(ws.aurora_file), "schema/aurora.toml");
    assert_eq!(ws.name(ws.connect_file), "schema/connect.toml");
    assert_eq!(ws.path(ws.aurora_file), ws.root.join("schema/aurora.toml"));
    assert!(ws.aurora.create_field("description").is_some());
    assert!(ws.connect.reference("aurora_case").is_some());
    assert_eq!(
        ws.file_named("./templates/zeta.amap"),
        Some(ws.templates[3].0)
    );
}

#[test]
fn a_file_matched_by_two_patterns_loads_once() {
    let dir = project(&[("a.amap", TEMPLATE.as_bytes()), ("b.amap", b"" as &[u8])]);
    let text = PROJECT.replace(
        "[\"templates/**/*.amap\"]",
        "[\"templates/b.amap\", \"templates/*.amap\"]",
    );
    write(dir.path(), "amap.toml", &text);
    let ws = workspace::load(dir.path()).expect("load");
    // Pattern order first, then sorted within a pattern.
    assert_eq!(
        template_names(&ws),
        ["templates/b.amap", "templates/a.amap"]
    );
}

#[test]
fn the_project_is_found_from_a_subfolder() {
    let dir = project(&[("a.amap", TEMPLATE.as_bytes())]);
    let sub = dir.path().join("templates");
    let ws = workspace::load(&sub).expect("load");
    assert_eq!(ws.root.canonicalize().ok(), dir.path().canonicalize().ok());
    assert_eq!(template_names(&ws), ["templates/a.amap"]);
    // The project file itself may be named too.
    let ws = workspace::load(&dir.path().join("amap.toml")).expect("load");
    assert_eq!(template_names(&ws), ["templates/a.amap"]);
}

#[test]
fn schema_mistakes_are_diagnostics_in_the_schema_file() {
    let dir = project(&[("a.amap", TEMPLATE.as_bytes())]);
    let text = "[fields.summary]\ntype = \"text\"\nrequried = true\n";
    write(dir.path(), "schema/connect.toml", text);
    let ws = workspace::load(dir.path()).expect("load");
    assert_eq!(codes(&ws.diagnostics), [Code::S0002]);
    let d = &ws.diagnostics[0];
    assert_eq!(d.primary.file, ws.connect_file);
    assert_eq!(
        &ws.text(ws.connect_file)[d.primary.span.range()],
        "requried"
    );
}

#[test]
fn a_schema_that_is_not_utf8_is_s0001_and_still_loads() {
    let dir = project(&[("a.amap", TEMPLATE.as_bytes())]);
    write(
        dir.path(),
        "schema/connect.toml",
        b"# caf\xe9\n[fields.summary]\ntype = \"text\"\n" as &[u8],
    );
    let ws = workspace::load(dir.path()).expect("load");
    assert_eq!(codes(&ws.diagnostics), [Code::S0001]);
    assert_eq!(ws.diagnostics[0].primary.file, ws.connect_file);
    assert!(ws.connect.field("summary").is_some());
}

#[test]
fn an_unusable_project_file_is_a_diagnostic() {
    let dir = project(&[("a.amap", TEMPLATE.as_bytes())]);
    write(
        dir.path(),
        "amap.toml",
        "[project]\ntemplates = [\"*.amap\"]\n",
    );
    let ws = workspace::load(dir.path()).expect("load");
    assert!(ws.project.is_none());
    assert_eq!(codes(&ws.diagnostics), [Code::S0004, Code::S0004]);
    assert!(ws.templates.is_empty());
    assert_eq!(ws.aurora_file, ws.project_file);
    assert!(
        ws.diagnostics
            .iter()
            .all(|d| d.primary.file == ws.project_file)
    );
}

#[test]
fn unsaved_buffers_replace_files_on_disk() {
    let dir = project(&[("a.amap", TEMPLATE.as_bytes())]);
    let root = dir.path().canonicalize().expect("canonical");
    let overlay = vec![
        (root.join("templates/a.amap"), "// edited\n".to_string()),
        (
            root.join("templates/new.amap"),
            "// not saved yet\n".to_string(),
        ),
    ];
    let ws = workspace::load_with_overlay(&root, &overlay).expect("load");
    assert_eq!(
        template_names(&ws),
        ["templates/a.amap", "templates/new.amap"]
    );
    assert_eq!(ws.text(ws.templates[0].0), "// edited\n");
}

#[test]
fn a_project_in_memory() {
    let ws = workspace::load_from_memory([
        ("amap.toml", PROJECT),
        ("schema/aurora.toml", AURORA),
        ("schema/connect.toml", CONNECT),
        ("templates/one.amap", TEMPLATE),
        ("templates/two/deeper.amap", ""),
        ("elsewhere.amap", ""),
    ])
    .expect("load");
    assert!(ws.diagnostics.is_empty(), "{:#?}", ws.diagnostics);
    assert_eq!(
        template_names(&ws),
        ["templates/one.amap", "templates/two/deeper.amap"]
    );
    let hashes = ws.schema_hashes();
    assert_eq!(hashes.aurora, workspace::schema_hash(AURORA));
    assert_eq!(hashes.connect.len(), 64);

    let e = workspace::load_from_memory([("schema/aurora.toml", AURORA)]).expect_err("no project");
    assert!(matches!(e, WorkspaceError::NoProject { .. }));
    let e = workspace::load_from_memory([("amap.toml", PROJECT), ("schema/connect.toml", CONNECT)])
        .expect_err("no Aurora schema");
    assert!(e.to_string().contains("schema/aurora.toml"), "{e}");
}

#[test]
fn schema_hash_is_sha256_hex() {
    assert_eq!(
        workspace::schema_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn the_examples_load_and_check_cleanly() {
    let ws = workspace::load(&examples()).expect("load examples");
    assert_eq!(
        template_names(&ws),
        [
            "templates/fly_tipping.amap",
            "templates/potholes.amap",
            "templates/street_lighting.amap",
        ]
    );
    let schema_diags: Vec<&Diagnostic> = ws
        .diagnostics
        .iter()
        .filter(|d| [ws.project_file, ws.aurora_file, ws.connect_file].contains(&d.primary.file))
        .collect();
    assert!(schema_diags.is_empty(), "{schema_diags:#?}");
    let checked = ws.check();
    let shown: Vec<String> = checked
        .diagnostics
        .iter()
        .map(|d| {
            let f = ws.sources.get(d.primary.file);
            let at = f.line_col(d.primary.span.start);
            format!(
                "{}:{}:{} {} {}",
                f.name, at.line, at.column, d.code, d.message
            )
        })
        .collect();
    assert!(
        shown.is_empty(),
        "the examples should check cleanly:\n{}",
        shown.join("\n")
    );
}
