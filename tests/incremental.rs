//! Incremental checking: salsa's own events show what an edit re-runs. Editing one file of a
//! project re-checks that file's templates only; the other files' checks are reused.

use amap::diagnostics::FileId;
use amap::ide::db::{self, Database, ProjectInputs, Source};
use salsa::plumbing::AsId;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn schema(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/schema")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn template(kind: &str, name: &str, body: &str) -> String {
    format!("{kind} \"{name}\" for ref.aurora_case {{\n{body}}}\n")
}

const CREATE: &str =
    "    aurora.caseTypeCode = \"P001\"\n    aurora.description  = field.summary\n";
const INCOMING: &str = "    field.case_number = aurora.Message.CaseNumber\n";

/// A database that logs every query execution (`WillExecute`) as `name(Id(..))`.
fn logging_db() -> (Database, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let db = Database::with_events(move |event| {
        if let salsa::EventKind::WillExecute { database_key } = event.kind
            && let Ok(mut log) = sink.lock()
        {
            log.push(format!("{database_key:?}"));
        }
    });
    (db, log)
}

fn take(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().expect("log"))
}

fn key(query: &str, source: Source) -> String {
    format!("{query}({:?})", source.as_id())
}

struct Fixture {
    db: Database,
    log: Arc<Mutex<Vec<String>>>,
    inputs: ProjectInputs,
    files: Vec<Source>,
}

fn project() -> Fixture {
    let (mut db, log) = logging_db();
    let aurora = schema("aurora.toml");
    let connect = schema("connect.toml");
    let mut inputs = ProjectInputs::new(
        &mut db,
        ("aurora.toml", &aurora),
        ("connect.toml", &connect),
    );
    let files = (0..4)
        .map(|i| {
            let text = format!(
                "{}\n{}",
                template("create", &format!("Create {i}"), CREATE),
                template("incoming", &format!("Incoming {i}"), INCOMING)
            );
            inputs.add_file(&mut db, &format!("t{i}.amap"), &text)
        })
        .collect();
    Fixture {
        db,
        log,
        inputs,
        files,
    }
}

#[test]
fn editing_one_file_rechecks_only_its_templates() {
    let mut f = project();
    let before = db::project_diagnostics(&f.db).clone();
    let first = take(&f.log);
    for file in &f.files {
        assert!(first.contains(&key("check_file", *file)), "{first:?}");
    }

    // Break one mapping of file 2: a misspelt field (same length, so no span moves).
    let edited = f.files[2];
    let text = edited.text(&f.db).replace("field.summary", "field.summarx");
    f.inputs.set_text(&mut f.db, edited, &text);
    let after = db::project_diagnostics(&f.db).clone();
    let events = take(&f.log);

    let checks: Vec<&String> = events
        .iter()
        .filter(|e| e.starts_with("check_file("))
        .collect();
    assert_eq!(checks, vec![&key("check_file", edited)], "{events:?}");
    let parses: Vec<&String> = events.iter().filter(|e| e.starts_with("parse(")).collect();
    assert_eq!(parses, vec![&key("parse", edited)], "{events:?}");
    // The table index was not rebuilt: the edited file's tables did not change.
    assert!(
        !events.iter().any(|e| e.starts_with("table_index(")),
        "{events:?}"
    );

    let new: Vec<_> = after.iter().filter(|d| !before.contains(d)).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0].code.as_str(), "E0101");
    assert_eq!(new[0].primary.file, edited.id(&f.db));
}

/// An edit inside a mapping's value changes no name, reference, target or table use: the
/// project-wide rules read each file's summary, which comes out equal, so they are not re-run.
#[test]
fn an_edit_inside_a_value_leaves_the_project_rules_alone() {
    let mut f = project();
    let before = db::project_diagnostics(&f.db).clone();
    take(&f.log);
    let edited = f.files[1];
    let text = edited.text(&f.db).replace("\"P001\"", "\"FT01\"");
    assert_ne!(&text, edited.text(&f.db));
    f.inputs.set_text(&mut f.db, edited, &text);
    let after = db::project_diagnostics(&f.db).clone();
    let events = take(&f.log);
    assert!(
        events.contains(&key("check_file", edited)),
        "the edited file is re-checked: {events:?}"
    );
    assert!(
        events.contains(&key("file_summary", edited)),
        "its summary is recomputed: {events:?}"
    );
    assert!(
        !events.iter().any(|e| e.starts_with("project_rules(")),
        "{events:?}"
    );
    assert_eq!(after, before);

    // Renaming a template changes the summary: the rules run again and see the duplicate.
    let text = text.replace("\"Create 1\"", "\"Create 0\"");
    f.inputs.set_text(&mut f.db, edited, &text);
    let after = db::project_diagnostics(&f.db).clone();
    let events = take(&f.log);
    assert!(
        events.iter().any(|e| e.starts_with("project_rules(")),
        "{events:?}"
    );
    assert!(
        after.iter().any(|d| d.code.as_str() == "E0109"),
        "{after:?}"
    );
}

/// What the checker says of the fixture's files directly, without the database.
fn direct_diagnostics(f: &Fixture) -> Vec<amap::diagnostics::Diagnostic> {
    let (aurora, _) = amap::schema::load_aurora(&schema("aurora.toml"), FileId(0));
    let (connect, _) = amap::schema::load_connect(&schema("connect.toml"), FileId(1));
    let env = amap::check::Env {
        aurora: &aurora,
        connect: &connect,
    };
    let trees: Vec<(FileId, amap::syntax::ast::File)> = f
        .files
        .iter()
        .map(|s| {
            (
                s.id(&f.db),
                amap::syntax::parse(s.text(&f.db), s.id(&f.db)).0,
            )
        })
        .collect();
    let files: Vec<amap::check::ProjectFile<'_>> = trees
        .iter()
        .map(|(file, ast)| amap::check::ProjectFile { file: *file, ast })
        .collect();
    amap::check::check_project(&files, &env).diagnostics
}

/// The project-wide rules find their diagnostics over position-free facts and place them
/// afterwards: typing above the templates they are about moves them to the right place
/// without running the rules again.
#[test]
fn rule_diagnostics_follow_moved_code_without_rerunning_the_rules() {
    let mut f = project();
    // File 1 repeats file 0's template names and targets, after a table nobody uses: E0109,
    // W0401, W0402 and W0403, with labels pointing into file 0.
    let copy = f.files[0].text(&f.db).clone();
    let table = "table unused: text -> text {\n    \"a\" => \"b\"\n}\n\n";
    f.inputs
        .set_text(&mut f.db, f.files[1], &format!("{table}{copy}"));
    let diags = db::checked(&f.db).diagnostics;
    for code in ["E0109", "W0401", "W0402", "W0403"] {
        assert!(
            diags.iter().any(|d| d.code.as_str() == code),
            "{code} missing: {diags:?}"
        );
    }
    assert_eq!(diags, direct_diagnostics(&f));
    take(&f.log);

    // A comment typed above the templates of each of the two files moves them (below the
    // table, which stays where it is).
    for (file, at) in [(f.files[0], 0), (f.files[1], table.len())] {
        let mut text = file.text(&f.db).clone();
        text.insert_str(at, "// moved\n");
        f.inputs.set_text(&mut f.db, file, &text);
        let moved = db::checked(&f.db).diagnostics;
        let events = take(&f.log);
        assert!(
            !events.iter().any(|e| e.starts_with("position_free_rules(")),
            "{events:?}"
        );
        assert!(
            events.iter().any(|e| e.starts_with("project_rules(")),
            "{events:?}"
        );
        assert_ne!(moved, diags, "nothing moved");
        assert_eq!(moved, direct_diagnostics(&f));
    }
}

#[test]
fn an_unchanged_text_starts_no_new_work() {
    let mut f = project();
    db::project_diagnostics(&f.db);
    take(&f.log);
    let file = f.files[0];
    let text = file.text(&f.db).clone();
    f.inputs.set_text(&mut f.db, file, &text);
    db::project_diagnostics(&f.db);
    assert_eq!(take(&f.log), Vec::<String>::new());
}

#[test]
fn editing_a_table_rechecks_the_files_that_depend_on_the_index() {
    let mut f = project();
    let table = "table codes: text -> text {\n    \"a\" => \"P001\"\n}\n";
    let file = f.files[1];
    let text = format!("{}\n{table}", file.text(&f.db));
    f.inputs.set_text(&mut f.db, file, &text);
    let diags = db::project_diagnostics(&f.db).clone();
    assert!(
        diags.iter().any(|d| d.code.as_str() == "W0403"),
        "{diags:?}"
    );

    // Use the table from another file: the warning goes away.
    let user = f.files[3];
    let text = user.text(&f.db).replace(
        "aurora.caseTypeCode = \"P001\"",
        "aurora.caseTypeCode = lookup(\"a\", codes) ?? \"P001\"",
    );
    take(&f.log);
    f.inputs.set_text(&mut f.db, user, &text);
    let diags = db::project_diagnostics(&f.db).clone();
    assert!(
        !diags.iter().any(|d| d.code.as_str() == "W0403"),
        "{diags:?}"
    );
    let checks: Vec<String> = take(&f.log)
        .into_iter()
        .filter(|e| e.starts_with("check_file("))
        .collect();
    assert_eq!(checks, vec![key("check_file", user)]);
}

#[test]
fn the_database_agrees_with_the_direct_checker_and_compiler() {
    let f = project();
    let aurora_text = schema("aurora.toml");
    let connect_text = schema("connect.toml");
    let (aurora, _) = amap::schema::load_aurora(&aurora_text, FileId(0));
    let (connect, _) = amap::schema::load_connect(&connect_text, FileId(1));
    let env = amap::check::Env {
        aurora: &aurora,
        connect: &connect,
    };
    let trees: Vec<(FileId, amap::syntax::ast::File)> = f
        .files
        .iter()
        .map(|s| {
            (
                s.id(&f.db),
                amap::syntax::parse(s.text(&f.db), s.id(&f.db)).0,
            )
        })
        .collect();
    let files: Vec<amap::check::ProjectFile<'_>> = trees
        .iter()
        .map(|(file, ast)| amap::check::ProjectFile { file: *file, ast })
        .collect();
    let direct = amap::check::check_project(&files, &env);
    let via_db = db::checked(&f.db);
    assert_eq!(via_db.diagnostics, direct.diagnostics);
    assert_eq!(via_db.templates.len(), direct.templates.len());

    // The bundle assembled from per-file pieces equals the compiler's.
    let mut sources = amap::diagnostics::SourceMap::new();
    sources.add("aurora.toml", aurora_text.clone());
    sources.add("connect.toml", connect_text.clone());
    for s in &f.files {
        sources.add(s.name(&f.db).clone(), s.text(&f.db).clone());
    }
    let ids: Vec<FileId> = f.files.iter().map(|s| s.id(&f.db)).collect();
    let expected = amap::plan::compile(&amap::plan::CompileInput {
        checked: &direct,
        env,
        sources: &sources,
        template_files: &ids,
        schemas: amap::plan::SchemaHashes {
            aurora: amap::plan::content_hash(&aurora_text),
            connect: amap::plan::content_hash(&connect_text),
        },
    });
    let bundle = db::compile(&f.db).clone();
    if direct.error_count() == 0 {
        assert_eq!(bundle.as_ref(), Some(&expected));
    } else {
        assert_eq!(bundle, None);
    }
}

/// `amap check --watch` re-checks on a change and prints only what changed.
#[test]
fn watch_mode_prints_new_and_fixed_diagnostics() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::sync::mpsc::channel;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("templates")).expect("mkdir");
    std::fs::write(root.join("aurora.toml"), schema("aurora.toml")).expect("write");
    std::fs::write(root.join("connect.toml"), schema("connect.toml")).expect("write");
    std::fs::write(
        root.join("amap.toml"),
        "[project]\ntemplates = [\"templates/*.amap\"]\naurora_schema = \"aurora.toml\"\nconnect_schema = \"connect.toml\"\n",
    )
    .expect("write");
    let good = template("create", "A", CREATE);
    let file = root.join("templates/a.amap");
    std::fs::write(&file, &good).expect("write");
    std::fs::write(
        root.join("templates/b.amap"),
        template("incoming", "B", INCOMING),
    )
    .expect("write");

    let mut child = Command::new(env!("CARGO_BIN_EXE_amap"))
        .args(["check", "--watch"])
        .arg(root)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start amap check --watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let wait_for = |want: &dyn Fn(&str) -> bool, seen: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let hit = want(&line);
                    seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(_) => panic!("not seen in time; output so far:\n{}", seen.join("\n")),
            }
        }
    };
    wait_for(&|l| l.starts_with("watching "), &mut seen);
    let first = seen.len();

    // Break a field name: the new error is printed in full, with the status line.
    std::fs::write(&file, good.replace("field.summary", "field.summarx")).expect("write");
    wait_for(&|l| l.contains("1 new, 0 fixed"), &mut seen);
    let round: String = seen[first..].join("\n");
    assert!(round.contains("error[E0101]"), "{round}");
    assert!(round.contains("┌─ templates/a.amap:3:"), "{round}");
    assert!(
        round.starts_with("failed: 1 error") || round.contains("\nfailed: 1 error"),
        "{round}"
    );
    let second = seen.len();

    // Fix it: one line says what was fixed; nothing is printed in full.
    std::fs::write(&file, &good).expect("write");
    wait_for(&|l| l.contains("0 new, 1 fixed"), &mut seen);
    let round: String = seen[second..].join("\n");
    assert!(round.contains("fixed: templates/a.amap:3:"), "{round}");
    assert!(
        round.contains("error[E0101]: unknown name `field.summarx`"),
        "{round}"
    );
    assert!(
        !round.contains("┌─"),
        "a fixed diagnostic is one line: {round}"
    );

    let _ = child.kill();
    let _ = child.wait();
}
