//! The formatter: canonical layout cases as data (`tests/fmt/NAME.in.amap` formats to
//! `NAME.out.amap`; `AMAP_BLESS=1 cargo test --test fmt` rewrites the `.out` files), and over every
//! example and fixture that parses: idempotent and meaning-preserving.

use amap::diagnostics::FileId;
use amap::ide::format::{FormatError, format, without_spans};
use amap::syntax::parse;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn amap_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            amap_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "amap") {
            out.push(path);
        }
    }
    out.sort();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn layout_cases() {
    let mut cases = Vec::new();
    amap_files(&root().join("tests/fmt"), &mut cases);
    let inputs: Vec<&PathBuf> = cases
        .iter()
        .filter(|p| p.to_string_lossy().ends_with(".in.amap"))
        .collect();
    assert!(inputs.len() >= 2, "no cases in tests/fmt");
    let mut failures = Vec::new();
    for input in inputs {
        let expected_path = PathBuf::from(input.to_string_lossy().replace(".in.amap", ".out.amap"));
        let actual = match format(&read(input)) {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{}: {e:?}", input.display()));
                continue;
            }
        };
        if std::env::var_os("AMAP_BLESS").is_some() {
            std::fs::write(&expected_path, &actual).expect("write .out.amap");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}: formatted output differs\n--- expected\n{expected}\n--- actual\n{actual}",
                input.display()
            ));
        }
        assert_eq!(
            format(&actual).as_deref(),
            Ok(actual.as_str()),
            "{} is not stable",
            expected_path.display()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn idempotent_and_meaning_preserving_over_examples_and_fixtures() {
    let mut files = Vec::new();
    amap_files(&root().join("examples"), &mut files);
    amap_files(&root().join("tests/fixtures"), &mut files);
    amap_files(&root().join("tests/fmt"), &mut files);
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in &files {
        let text = read(path);
        let (tree, diags) = parse(&text, FileId(0));
        if diags.iter().any(|d| d.is_error()) {
            assert!(
                matches!(format(&text), Err(FormatError::Syntax(_))),
                "{}: a file with syntax errors must be refused",
                path.display()
            );
            continue;
        }
        checked += 1;
        let once = match format(&text) {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{}: {e:?}", path.display()));
                continue;
            }
        };
        let (again_tree, again_diags) = parse(&once, FileId(0));
        if !again_diags.is_empty() || without_spans(&again_tree) != without_spans(&tree) {
            failures.push(format!(
                "{}: formatting changed the meaning",
                path.display()
            ));
        }
        if format(&once).as_deref() != Ok(once.as_str()) {
            failures.push(format!("{}: formatting is not idempotent", path.display()));
        }
        // Every comment survives.
        let comments = |t: &str| t.lines().filter(|l| l.contains("//")).count();
        if comments(&once) != comments(&text) {
            failures.push(format!("{}: a comment was lost", path.display()));
        }
    }
    assert!(checked >= 10, "only {checked} files parsed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_examples_are_formatted() {
    let mut files = Vec::new();
    amap_files(&root().join("examples"), &mut files);
    assert!(!files.is_empty(), "no examples");
    for path in files {
        let text = read(&path);
        assert_eq!(
            format(&text).as_deref(),
            Ok(text.as_str()),
            "{} is not formatted (run `amap fmt examples`)",
            path.display()
        );
    }
}

#[test]
fn refuses_a_file_with_syntax_errors() {
    let text = "create \"A\" for ref.x {\n    aurora.a = \n}\n";
    match format(text) {
        Err(FormatError::Syntax(diags)) => {
            assert!(
                diags.iter().any(|d| d.code.as_str() == "E0001"),
                "{diags:?}"
            )
        }
        other => panic!("expected syntax errors, got {other:?}"),
    }
}

fn amap(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_amap"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run amap");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fmt_command_checks_and_rewrites() {
    let dir = tempfile::tempdir().expect("temp dir");
    let messy = dir.path().join("messy.amap");
    let tidy = dir.path().join("sub/tidy.amap");
    let broken = dir.path().join("broken.amap");
    std::fs::create_dir_all(dir.path().join("sub")).expect("mkdir");
    std::fs::write(&messy, "table t: text -> text {\n\"a\"=>\"b\"\n}\n").expect("write");
    std::fs::write(&tidy, "table u: text -> text {\n    \"a\" => \"b\"\n}\n").expect("write");
    let d = dir.path().to_string_lossy().into_owned();

    let (code, stdout, _) = amap(&["fmt", "--check", &d]);
    assert_eq!(code, 1);
    assert_eq!(stdout.trim(), messy.display().to_string());
    assert_eq!(
        read(&messy),
        "table t: text -> text {\n\"a\"=>\"b\"\n}\n",
        "--check changes nothing"
    );

    let (code, _, _) = amap(&["fmt", &d]);
    assert_eq!(code, 0);
    assert_eq!(
        read(&messy),
        "table t: text -> text {\n    \"a\" => \"b\"\n}\n"
    );
    let (code, stdout, _) = amap(&["fmt", "--check", &d]);
    assert_eq!((code, stdout.as_str()), (0, ""));

    std::fs::write(&broken, "table t text -> text {\n}\n").expect("write");
    let (code, _, stderr) = amap(&["fmt", &broken.to_string_lossy()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("E0001"), "{stderr}");
    assert_eq!(read(&broken), "table t text -> text {\n}\n");
}

/// Copies every `.amap` file under `from` to the same place under `to`.
fn copy_tree(from: &Path, to: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    amap_files(from, &mut files);
    let mut copied = Vec::new();
    for f in files {
        let dest = to.join(f.strip_prefix(from).expect("under the root"));
        std::fs::create_dir_all(dest.parent().expect("a folder")).expect("mkdir");
        std::fs::copy(&f, &dest).expect("copy");
        copied.push(dest);
    }
    copied
}

/// The command over a copy of every example and fixture: the first run writes the formatter's
/// output and leaves files with syntax errors as they were; a second run and `--check` find
/// nothing left to change.
#[test]
fn fmt_command_is_idempotent_over_the_examples_and_fixtures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = copy_tree(&root().join("examples"), &dir.path().join("examples"));
    files.extend(copy_tree(
        &root().join("tests/fixtures"),
        &dir.path().join("fixtures"),
    ));
    let before: Vec<String> = files.iter().map(|f| read(f)).collect();
    let d = dir.path().to_string_lossy().into_owned();

    let (code, _, stderr) = amap(&["fmt", &d]);
    let broken: Vec<&PathBuf> = files
        .iter()
        .zip(&before)
        .filter(|(_, text)| matches!(format(text), Err(FormatError::Syntax(_))))
        .map(|(f, _)| f)
        .collect();
    assert_eq!(code, if broken.is_empty() { 0 } else { 1 }, "{stderr}");
    let once: Vec<String> = files.iter().map(|f| read(f)).collect();
    for ((path, old), new) in files.iter().zip(&before).zip(&once) {
        match format(old) {
            Ok(expected) => assert_eq!(new, &expected, "{}", path.display()),
            Err(_) => assert_eq!(new, old, "{} was changed", path.display()),
        }
    }

    let (_, _, _) = amap(&["fmt", &d]);
    let twice: Vec<String> = files.iter().map(|f| read(f)).collect();
    assert!(once == twice, "a second `amap fmt` changed files");
    let (code, stdout, _) = amap(&["fmt", "--check", &d]);
    assert_eq!(stdout, "", "--check lists no file");
    assert_eq!(code, if broken.is_empty() { 0 } else { 1 });
}

/// `--check` exits 1 and names exactly the files that would change, one a line.
#[test]
fn fmt_check_lists_the_files_that_would_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = copy_tree(&root().join("examples"), dir.path());
    assert!(files.len() >= 2, "too few examples");
    // Squash the alignment of two of them.
    let mut messed = Vec::new();
    for f in &files[..2] {
        let text = read(f);
        std::fs::write(f, text.replace(" = ", "=")).expect("write");
        messed.push(f.display().to_string());
    }
    let d = dir.path().to_string_lossy().into_owned();
    let (code, stdout, stderr) = amap(&["fmt", "--check", &d]);
    assert_eq!(code, 1, "{stderr}");
    let listed: Vec<&str> = stdout.lines().collect();
    assert_eq!(listed, messed);
    assert!(stderr.contains("2 files are not formatted"), "{stderr}");
    // Formatting them restores the examples exactly.
    let (code, _, _) = amap(&["fmt", &d]);
    assert_eq!(code, 0);
    for f in &files {
        let original = root()
            .join("examples")
            .join(f.strip_prefix(dir.path()).expect("under the copy"));
        assert_eq!(read(f), read(&original), "{}", f.display());
    }
}

/// One canonical layout: however the white space of a file that parses is changed — no
/// indentation, trailing spaces, extra blank lines, CRLF line ends, no final newline — it
/// formats to the same text as the original.
#[test]
fn layout_does_not_depend_on_the_white_space_written() {
    let mut files = Vec::new();
    amap_files(&root().join("examples"), &mut files);
    amap_files(&root().join("tests/fixtures"), &mut files);
    amap_files(&root().join("tests/fmt"), &mut files);
    let mut tried = 0;
    let mut failures = Vec::new();
    for path in &files {
        let text = read(path);
        let Ok(canonical) = format(&text) else {
            continue;
        };
        let each_line = |f: &dyn Fn(&str) -> String| -> String {
            text.lines().map(f).collect::<Vec<_>>().join("\n") + "\n"
        };
        let variants = [
            ("no indentation", each_line(&|l| l.trim_start().to_string())),
            ("trailing spaces", each_line(&|l| format!("{l}  \t"))),
            ("extra blank lines", text.replace("\n\n", "\n\n\n\n")),
            ("CRLF line ends", text.replace('\n', "\r\n")),
            ("no final newline", text.trim_end().to_string()),
        ];
        for (what, variant) in variants {
            tried += 1;
            match format(&variant) {
                Ok(out) if out == canonical => {}
                Ok(out) => failures.push(format!(
                    "{} with {what}:\n--- expected\n{canonical}--- actual\n{out}",
                    path.display()
                )),
                Err(e) => failures.push(format!("{} with {what}: {e}", path.display())),
            }
        }
    }
    assert!(tried >= 50, "only {tried} variants");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
