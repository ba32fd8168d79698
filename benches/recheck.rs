//! Re-check latency in the incremental database: a generated 1,000-template project (100 files)
//! is checked once, then one line of one file is edited and the project's diagnostics are asked
//! for again — what an editor does on every keystroke. The goal is under 5 ms. Two kinds of
//! edit: one that keeps every span (a letter replaced) and one that moves the rest of the file
//! (a letter typed or deleted).

#[path = "common/project.rs"]
mod project;

/// The allocator of the `amap` binary (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use amap::ide::db::{self, Database, ProjectInputs};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let generated = project::generate(1000);
    let mut db = Database::default();
    let mut inputs = ProjectInputs::new(
        &mut db,
        ("schema/aurora.toml", &generated.aurora),
        ("schema/connect.toml", &generated.connect),
    );
    let files: Vec<_> = generated
        .files
        .iter()
        .map(|(name, text)| inputs.add_file(&mut db, name, text))
        .collect();
    let diags = db::project_diagnostics(&db);
    assert!(
        !diags.iter().any(|d| d.is_error()),
        "{:?}",
        diags.iter().find(|d| d.is_error())
    );
    assert_eq!(db::checked(&db).templates.len(), 1000);

    // One file in the middle; its edit changes a string literal on one line, alternating
    // between two versions so that every iteration is a real change.
    let file = files[files.len() / 2];
    let original = file.text(&db).clone();
    let line = "    aurora.caseTypeCode      = \"C";
    assert!(original.contains(line), "the generated file changed shape");
    let edited = original.replacen(line, "    aurora.caseTypeCode      = \"D", 1);
    let texts = [edited, original.clone()];
    // A character typed and deleted: the text after it moves, so the spans of the file's later
    // templates (and with them the file's summary for the project-wide rules) change too.
    let typed = original.replacen(line, "    aurora.caseTypeCode      = \"XC", 1);
    let typing = [typed, original];

    let mut group = c.benchmark_group("recheck_1000_templates");
    let mut turn = 0usize;
    group.bench_function("one_line_edit_then_project_diagnostics", |b| {
        b.iter(|| {
            turn += 1;
            inputs.set_text(&mut db, file, &texts[turn % 2]);
            black_box(db::project_diagnostics(&db).len())
        })
    });
    group.bench_function("one_line_edit_then_file_diagnostics", |b| {
        b.iter(|| {
            turn += 1;
            inputs.set_text(&mut db, file, &texts[turn % 2]);
            black_box(db::file_diagnostics(&db, file).len())
        })
    });
    group.bench_function("one_line_edit_then_project_rules", |b| {
        b.iter(|| {
            turn += 1;
            inputs.set_text(&mut db, file, &texts[turn % 2]);
            black_box(db::project_rules(&db).len())
        })
    });
    group.bench_function("one_char_typed_then_project_diagnostics", |b| {
        b.iter(|| {
            turn += 1;
            inputs.set_text(&mut db, file, &typing[turn % 2]);
            black_box(db::project_diagnostics(&db).len())
        })
    });
    group.bench_function("one_char_typed_then_project_rules", |b| {
        b.iter(|| {
            turn += 1;
            inputs.set_text(&mut db, file, &typing[turn % 2]);
            black_box(db::project_rules(&db).len())
        })
    });
    group.bench_function("no_edit_project_diagnostics", |b| {
        b.iter(|| black_box(db::project_diagnostics(&db).len()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
