//! The plan bundle: deterministic, pinned to its schemas, and refused when it is of another
//! format version or was compiled against other schemas.

use amap::plan::{Bundle, CompileInput, FORMAT, LoadError, compile};
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn compile_dir(dir: &Path) -> Bundle {
    let ws = amap::workspace::load(dir).expect("load project");
    let checked = ws.check();
    assert_eq!(checked.error_count(), 0, "{:?}", checked.diagnostics);
    compile(&CompileInput {
        checked: &checked,
        env: ws.env(),
        sources: &ws.sources,
        template_files: &ws.template_files(),
        schemas: ws.schema_hashes(),
    })
}

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

#[test]
fn compiling_twice_gives_identical_bytes() {
    let a = compile_dir(&examples()).to_json();
    let b = compile_dir(&examples()).to_json();
    assert_eq!(a, b);
    let bundle = Bundle::from_json(&a).expect("reload");
    assert_eq!(bundle.format, FORMAT);
    assert_eq!(bundle.templates.len(), 6);
    assert!(
        bundle
            .templates
            .iter()
            .all(|t| t.mappings.iter().all(|m| m.location.contains(".amap:")))
    );
}

#[test]
fn editing_a_schema_changes_only_its_hash() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&examples(), dir.path());
    let before = compile_dir(dir.path());
    let connect = dir.path().join("schema/connect.toml");
    let mut text = std::fs::read_to_string(&connect).expect("read");
    text.push_str("\n[fields.added_later]\ntype = \"text\"\n");
    std::fs::write(&connect, text).expect("write");
    let after = compile_dir(dir.path());
    assert_ne!(before.schemas.connect, after.schemas.connect);
    assert_eq!(before.schemas.aurora, after.schemas.aurora);
    assert_eq!(before.sources, after.sources);
    assert_eq!(
        after.verify_schemas(&before.schemas),
        Err(LoadError::SchemaMismatch {
            which: "Connect",
            found: after.schemas.connect.clone(),
            expected: before.schemas.connect.clone(),
        })
    );
    assert_eq!(after.verify_schemas(&after.schemas), Ok(()));
}

#[test]
fn a_bundle_of_another_format_is_refused_with_a_clear_error() {
    let json = compile_dir(&examples())
        .to_json()
        .replace(FORMAT, "amap-plan/2");
    let err = Bundle::from_json(&json).expect_err("format 2 must be refused");
    assert_eq!(
        err,
        LoadError::Format {
            found: "amap-plan/2".into()
        }
    );
    assert!(err.to_string().contains("amap compile"));
    assert!(matches!(
        Bundle::from_json("{\"templates\": []}"),
        Err(LoadError::Malformed(_))
    ));
    assert!(matches!(
        Bundle::from_json("not json"),
        Err(LoadError::Malformed(_))
    ));
}
