//! parse + check + compile of a generated 1,000-template project (about 30 mappings each,
//! with tables and UDFs), per phase and end to end, as `amap compile` runs them: files are
//! parsed, templates checked and plans packed several at a time (rayon's pool, one thread per
//! core). `RAYON_NUM_THREADS=1` measures one thread.

#[path = "common/project.rs"]
mod project;

/// The allocator of the `amap` binary (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use amap::check::{Env, ProjectFile, check_project};
use amap::diagnostics::{FileId, SourceMap};
use amap::plan::{CompileInput, SchemaHashes, compile, content_hash};
use amap::schema::{load_aurora, load_connect};
use amap::syntax::{ast, parse_files};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let generated = project::generate(1000);
    let mut sources = SourceMap::new();
    let aurora_id = sources.add("schema/aurora.toml", generated.aurora.clone());
    let connect_id = sources.add("schema/connect.toml", generated.connect.clone());
    let (aurora, d1) = load_aurora(&generated.aurora, aurora_id);
    let (connect, d2) = load_connect(&generated.connect, connect_id);
    assert!(
        d1.is_empty() && d2.is_empty(),
        "schema diagnostics: {d1:?} {d2:?}"
    );
    let ids: Vec<FileId> = generated
        .files
        .iter()
        .map(|(n, t)| sources.add(n.clone(), t.clone()))
        .collect();
    let env = Env {
        aurora: &aurora,
        connect: &connect,
    };
    let schemas = SchemaHashes {
        aurora: content_hash(&generated.aurora),
        connect: content_hash(&generated.connect),
    };

    let parse_all = || -> Vec<(FileId, ast::File)> {
        let parsed = parse_files(ids.iter().map(|id| (*id, sources.get(*id).text.as_str())));
        ids.iter()
            .copied()
            .zip(parsed.into_iter().map(|(ast, _)| ast))
            .collect()
    };
    let parsed = parse_all();
    let files = project_files(&parsed);
    let checked = check_project(&files, &env);
    assert_eq!(
        checked.error_count(),
        0,
        "{:?}",
        checked.diagnostics.first()
    );
    assert_eq!(checked.templates.len(), 1000);

    // Each phase's results are freed after the clock stops (`iter_with_large_drop`); what
    // freeing them costs is measured on its own, as `free_results`.
    let pipeline = || {
        let parsed = parse_all();
        let files = project_files(&parsed);
        let checked = check_project(&files, &env);
        let bundle = compile(&CompileInput {
            checked: &checked,
            env,
            sources: &sources,
            template_files: &ids,
            schemas: schemas.clone(),
        });
        drop(files);
        (parsed, checked, bundle)
    };

    let mut group = c.benchmark_group("project_1000_templates");
    group.sample_size(20);
    group.bench_function("parse", |b| b.iter_with_large_drop(parse_all));
    group.bench_function("check", |b| {
        b.iter_with_large_drop(|| check_project(&files, &env))
    });
    group.bench_function("compile", |b| {
        b.iter_with_large_drop(|| {
            compile(&CompileInput {
                checked: &checked,
                env,
                sources: &sources,
                template_files: &ids,
                schemas: schemas.clone(),
            })
        })
    });
    group.bench_function("parse_check_compile", |b| b.iter_with_large_drop(pipeline));
    group.bench_function("free_results", |b| {
        b.iter_batched(pipeline, drop, BatchSize::PerIteration)
    });
    group.finish();
}

fn project_files(parsed: &[(FileId, ast::File)]) -> Vec<ProjectFile<'_>> {
    parsed
        .iter()
        .map(|(id, ast)| ProjectFile { file: *id, ast })
        .collect()
}

criterion_group!(benches, bench);
criterion_main!(benches);
