//! The incremental database: a project's texts are salsa inputs, and parsing, the table index,
//! the check of each file's templates, the project-wide rules and the plan are queries over them.
//! Editing one file re-parses that file and re-checks only its templates. The table index reads
//! each file's tables alone, and the project-wide rules each file's position-free facts (names,
//! references, targets, tables used), so an edit that leaves those equal re-runs neither —
//! typing that moves code included; the rules' few diagnostics are placed afterwards. Everything
//! whose inputs came out equal is reused. The checker itself knows nothing of salsa: these queries
//! wrap [`crate::check`].
//!
//! The database knows nothing of the file system either. Its host (the command line, the
//! language server) reads files and sets the inputs:
//!
//! ```
//! use amap::ide::db::{Database, ProjectInputs};
//! use amap::diagnostics::FileId;
//!
//! let mut db = Database::default();
//! let mut inputs = ProjectInputs::new(&mut db, ("aurora.toml", ""), ("connect.toml", ""));
//! let file = inputs.add_file(&mut db, "a.amap", "");
//! inputs.set_text(&mut db, file, "table t: text -> text {\n}\n");
//! assert!(amap::ide::db::project_diagnostics(&db).iter().any(|d| d.code.as_str() == "W0403"));
//! ```

use crate::check::{self, CheckedTable, CheckedTemplate, Env, Items, TemplateOutput};
use crate::diagnostics::{Diagnostic, FileId, Location, SourceMap, Span};
use crate::plan::{self, Bundle, SchemaHashes, TemplatePlan};
use crate::schema::{AuroraSchema, ConnectSchema};
use crate::syntax::ast;
use salsa::Setter;

/// A template file of the project.
#[salsa::input(debug)]
pub struct Source {
    #[returns(copy)]
    pub id: FileId,
    /// The name shown to users (a path relative to the project root).
    #[returns(ref)]
    pub name: String,
    #[returns(ref)]
    pub text: String,
}

/// One of the two schema files.
#[salsa::input(debug)]
pub struct SchemaSource {
    #[returns(copy)]
    pub id: FileId,
    #[returns(ref)]
    pub name: String,
    #[returns(ref)]
    pub text: String,
}

/// The project: its template files in project order, its schemas, and the diagnostics of
/// loading it (the project file's own problems), which the host reports with the rest.
#[salsa::input(singleton, debug)]
pub struct Project {
    #[returns(ref)]
    pub files: Vec<Source>,
    #[returns(copy)]
    pub aurora: SchemaSource,
    #[returns(copy)]
    pub connect: SchemaSource,
    #[returns(ref)]
    pub setup_diagnostics: Vec<Diagnostic>,
}

/// The salsa database holding one project.
#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
}

impl Database {
    /// A database that reports every salsa event to `callback` (tests count re-executions
    /// with it: `salsa::EventKind::WillExecute`).
    pub fn with_events(callback: impl Fn(salsa::Event) + Send + Sync + 'static) -> Self {
        Database {
            storage: salsa::Storage::new(Some(Box::new(callback))),
        }
    }
}

#[salsa::db]
impl salsa::Database for Database {}

/// The schemas change rarely: with a high durability, salsa knows without looking that what
/// depends on them alone (the loaded schemas) is still valid after a template edit.
const SCHEMA: salsa::Durability = salsa::Durability::HIGH;
/// The file list and the project file's diagnostics change when files come and go.
const LAYOUT: salsa::Durability = salsa::Durability::MEDIUM;

fn new_schema(db: &mut Database, id: FileId, name: &str, text: &str) -> SchemaSource {
    SchemaSource::builder(id, name.to_string(), text.to_string())
        .durability(SCHEMA)
        .new(db)
}

fn new_project(db: &mut Database, aurora: SchemaSource, connect: SchemaSource) -> Project {
    Project::builder(Vec::new(), aurora, connect, Vec::new())
        .durability(LAYOUT)
        .new(db)
}

/// The host's handle on a project's inputs: allocates [`FileId`]s and keeps the file list.
/// File ids are never reused, so diagnostics held by a client stay unambiguous.
#[derive(Clone, Debug)]
pub struct ProjectInputs {
    pub project: Project,
    next_id: u32,
}

impl ProjectInputs {
    /// Creates the project with its two schemas (`(name, text)`), as files 0 and 1.
    pub fn new(db: &mut Database, aurora: (&str, &str), connect: (&str, &str)) -> Self {
        let a = new_schema(db, FileId(0), aurora.0, aurora.1);
        let c = new_schema(db, FileId(1), connect.0, connect.1);
        let project = new_project(db, a, c);
        ProjectInputs {
            project,
            next_id: 2,
        }
    }

    /// Creates the project with schemas whose file ids the host has chosen (so that they
    /// match its own source map); template files then get ids from `first_file_id` on.
    pub fn with_ids(
        db: &mut Database,
        aurora: (FileId, &str, &str),
        connect: (FileId, &str, &str),
        first_file_id: u32,
    ) -> Self {
        let a = new_schema(db, aurora.0, aurora.1, aurora.2);
        let c = new_schema(db, connect.0, connect.1, connect.2);
        let project = new_project(db, a, c);
        ProjectInputs {
            project,
            next_id: first_file_id,
        }
    }

    /// Adds a template file at the end of the project order.
    pub fn add_file(&mut self, db: &mut Database, name: &str, text: &str) -> Source {
        let id = FileId(self.next_id);
        self.next_id += 1;
        self.add_file_with_id(db, id, name, text)
    }

    /// Adds a template file with an id the host has chosen.
    pub fn add_file_with_id(
        &mut self,
        db: &mut Database,
        id: FileId,
        name: &str,
        text: &str,
    ) -> Source {
        self.next_id = self.next_id.max(id.0 + 1);
        let source = Source::new(db, id, name.to_string(), text.to_string());
        let mut all = self.project.files(db).clone();
        all.push(source);
        self.project.set_files(db).with_durability(LAYOUT).to(all);
        source
    }

    /// Adds template files (`(id, name, text)`) at the end of the project order, in one
    /// revision.
    pub fn add_files(
        &mut self,
        db: &mut Database,
        files: impl IntoIterator<Item = (FileId, String, String)>,
    ) -> Vec<Source> {
        let mut all = self.project.files(db).clone();
        let mut added = Vec::new();
        for (id, name, text) in files {
            self.next_id = self.next_id.max(id.0 + 1);
            let source = Source::new(db, id, name, text);
            all.push(source);
            added.push(source);
        }
        self.project.set_files(db).with_durability(LAYOUT).to(all);
        added
    }

    /// The id the next added file gets from [`ProjectInputs::add_file`].
    pub fn next_id(&self) -> FileId {
        FileId(self.next_id)
    }

    /// Removes a template file from the project.
    pub fn remove_file(&mut self, db: &mut Database, source: Source) {
        let mut files = self.project.files(db).clone();
        files.retain(|f| *f != source);
        self.project.set_files(db).with_durability(LAYOUT).to(files);
    }

    /// Replaces a file's text (a no-op when it is unchanged, so no new revision starts).
    pub fn set_text(&self, db: &mut Database, source: Source, text: &str) {
        if source.text(db) != text {
            source.set_text(db).to(text.to_string());
        }
    }

    /// Replaces a schema's text (a no-op when it is unchanged).
    pub fn set_schema_text(&self, db: &mut Database, schema: SchemaSource, text: &str) {
        if schema.text(db) != text {
            schema
                .set_text(db)
                .with_durability(SCHEMA)
                .to(text.to_string());
        }
    }

    pub fn set_setup_diagnostics(&self, db: &mut Database, diagnostics: Vec<Diagnostic>) {
        if *self.project.setup_diagnostics(db) != diagnostics {
            self.project
                .set_setup_diagnostics(db)
                .with_durability(LAYOUT)
                .to(diagnostics);
        }
    }

    /// The template file with this id, if it is part of the project.
    pub fn file(&self, db: &Database, id: FileId) -> Option<Source> {
        self.project
            .files(db)
            .iter()
            .copied()
            .find(|f| f.id(db) == id)
    }

    /// The template file with this name, if it is part of the project.
    pub fn file_named(&self, db: &Database, name: &str) -> Option<Source> {
        self.project
            .files(db)
            .iter()
            .copied()
            .find(|f| f.name(db) == name)
    }
}

/// A parsed file: the tree and the syntax errors.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub tree: ast::File,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one template file.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn salsa::Database, file: Source) -> Parsed {
    let (tree, diagnostics) = crate::syntax::parse(file.text(db), file.id(db));
    Parsed { tree, diagnostics }
}

/// The tables of one file, alone: editing a template leaves this equal, so the table index
/// (and every other file's check) is not re-run.
#[salsa::tracked(returns(ref))]
fn file_tables(db: &dyn salsa::Database, file: Source) -> ast::File {
    let items = parse(db, file)
        .tree
        .items
        .iter()
        .filter(|i| matches!(i, ast::Item::Table(_)))
        .cloned()
        .collect();
    ast::File { items }
}

/// A loaded schema with the diagnostics of loading it.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded<T> {
    pub schema: T,
    pub diagnostics: Vec<Diagnostic>,
}

#[salsa::tracked(returns(ref))]
pub fn aurora_schema(db: &dyn salsa::Database, source: SchemaSource) -> Loaded<AuroraSchema> {
    let (schema, diagnostics) = crate::schema::load_aurora(source.text(db), source.id(db));
    Loaded {
        schema,
        diagnostics,
    }
}

#[salsa::tracked(returns(ref))]
pub fn connect_schema(db: &dyn salsa::Database, source: SchemaSource) -> Loaded<ConnectSchema> {
    let (schema, diagnostics) = crate::schema::load_connect(source.text(db), source.id(db));
    Loaded {
        schema,
        diagnostics,
    }
}

/// The project's table index with the diagnostics of the tables (E0205, E0110, E0109).
#[derive(Clone, Debug, PartialEq)]
pub struct TableIndex {
    pub items: Items,
    pub diagnostics: Vec<Diagnostic>,
}

#[salsa::tracked(returns(ref))]
pub fn table_index(db: &dyn salsa::Database) -> TableIndex {
    let project = Project::get(db);
    let tables: Vec<(FileId, &ast::File)> = project
        .files(db)
        .iter()
        .map(|f| (f.id(db), file_tables(db, *f)))
        .collect();
    let (items, diagnostics) = check::index_tables(&tables);
    TableIndex { items, diagnostics }
}

/// The checked templates of one file, in source order.
#[derive(Clone, Debug)]
pub struct FileCheck {
    pub outputs: Vec<TemplateOutput>,
}

impl PartialEq for FileCheck {
    fn eq(&self, other: &Self) -> bool {
        same_outputs(&self.outputs, &other.outputs)
    }
}

fn same_outputs(a: &[TemplateOutput], b: &[TemplateOutput]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_output(a, b))
}

fn same_output(a: &TemplateOutput, b: &TemplateOutput) -> bool {
    same_template(&a.template, &b.template)
        && a.diagnostics == b.diagnostics
        && a.used_tables == b.used_tables
        && a.targets == b.targets
        && a.name_span == b.name_span
}

fn same_template(a: &CheckedTemplate, b: &CheckedTemplate) -> bool {
    a.file == b.file
        && a.kind == b.kind
        && a.name == b.name
        && a.reference == b.reference
        && a.doc == b.doc
        && a.header == b.header
        && a.body == b.body
        && a.has_errors == b.has_errors
}

/// Checks the templates of one file. Re-runs only when this file's tree, the table index or
/// a schema changed.
#[salsa::tracked(returns(ref))]
pub fn check_file(db: &dyn salsa::Database, file: Source) -> FileCheck {
    let project = Project::get(db);
    let aurora = &aurora_schema(db, project.aurora(db)).schema;
    let connect = &connect_schema(db, project.connect(db)).schema;
    let env = Env { aurora, connect };
    let items = &table_index(db).items;
    let id = file.id(db);
    let outputs = parse(db, file)
        .tree
        .items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Template(t) => Some(check::check_template(t, id, &env, items)),
            _ => None,
        })
        .collect();
    FileCheck { outputs }
}

/// What the project-wide rules read of one file's templates: their names, kinds, references,
/// headers, targets and the tables they use — not their bodies, doc comments or diagnostics.
/// An edit inside a mapping's value leaves it equal, so the rules are not re-run.
#[derive(Clone, Debug)]
pub struct FileSummary {
    pub outputs: Vec<TemplateOutput>,
}

impl PartialEq for FileSummary {
    fn eq(&self, other: &Self) -> bool {
        same_outputs(&self.outputs, &other.outputs)
    }
}

/// The summary of one file's checked templates for the project-wide rules.
#[salsa::tracked(returns(ref))]
pub fn file_summary(db: &dyn salsa::Database, file: Source) -> FileSummary {
    let outputs = check_file(db, file)
        .outputs
        .iter()
        .map(|o| TemplateOutput {
            template: CheckedTemplate {
                doc: None,
                body: Default::default(),
                has_errors: false,
                ..o.template.clone()
            },
            diagnostics: Vec::new(),
            used_tables: o.used_tables.clone(),
            targets: o.targets.clone(),
            name_span: o.name_span,
        })
        .collect();
    FileSummary { outputs }
}

/// Marks a position-free span in rule facts (no file is 2 GiB long).
const POSITION_FREE: u32 = 0x8000_0000;

/// The position-free stand-in for a part of a file's `template`-th template: part 0 is its
/// name, 1 its header, `2 + k` its `k`-th target.
fn placeholder(template: usize, part: usize) -> Span {
    Span::new(POSITION_FREE | template as u32, POSITION_FREE | part as u32)
}

/// A file's summary with every position replaced by a [`placeholder`]: typing above a
/// template moves its spans but leaves these equal, so the rules over them are not re-run.
#[salsa::tracked(returns(ref))]
pub fn file_rule_facts(db: &dyn salsa::Database, file: Source) -> FileSummary {
    let outputs = file_summary(db, file)
        .outputs
        .iter()
        .enumerate()
        .map(|(i, o)| TemplateOutput {
            template: CheckedTemplate {
                header: placeholder(i, 1),
                ..o.template.clone()
            },
            diagnostics: Vec::new(),
            used_tables: o.used_tables.clone(),
            targets: o
                .targets
                .iter()
                .enumerate()
                .map(|(k, (target, _))| (target.clone(), placeholder(i, 2 + k)))
                .collect(),
            name_span: placeholder(i, 0),
        })
        .collect();
    FileSummary { outputs }
}

/// The cross-template rules over the position-free facts of every file.
#[salsa::tracked(returns(ref))]
fn position_free_rules(db: &dyn salsa::Database) -> Vec<Diagnostic> {
    let project = Project::get(db);
    let outputs: Vec<&TemplateOutput> = project
        .files(db)
        .iter()
        .flat_map(|f| file_rule_facts(db, *f).outputs.iter())
        .collect();
    check::project_rules(&outputs, &table_index(db).items)
}

/// The cross-template rules (E0109, W0401, W0402, W0403): found over position-free facts, then
/// placed by looking up the spans of only the files they are about. An edit that moves code
/// re-runs neither step unless a diagnostic of the rules is in the edited file.
#[salsa::tracked(returns(ref))]
pub fn project_rules(db: &dyn salsa::Database) -> Vec<Diagnostic> {
    let mut diags = position_free_rules(db).clone();
    for d in &mut diags {
        place(db, &mut d.primary);
        for label in &mut d.labels {
            place(db, &mut label.location);
        }
        for fix in &mut d.fixes {
            place(db, &mut fix.location);
        }
    }
    diags
}

/// Replaces a [`placeholder`] by the span it stands for.
fn place(db: &dyn salsa::Database, location: &mut Location) {
    let span = location.span;
    if span.start & POSITION_FREE == 0 {
        return;
    }
    let template = (span.start & !POSITION_FREE) as usize;
    let part = (span.end & !POSITION_FREE) as usize;
    let project = Project::get(db);
    let Some(file) = project.files(db).iter().find(|f| f.id(db) == location.file) else {
        return;
    };
    let Some(out) = file_summary(db, *file).outputs.get(template) else {
        return;
    };
    location.span = match part {
        0 => out.name_span,
        1 => out.template.header,
        k => out.targets.get(k - 2).map_or(out.name_span, |(_, s)| *s),
    };
}

/// The syntax errors and template diagnostics of one file (project-wide rules excluded).
#[salsa::tracked(returns(ref))]
pub fn file_diagnostics(db: &dyn salsa::Database, file: Source) -> Vec<Diagnostic> {
    let mut diags = parse(db, file).diagnostics.clone();
    for out in &check_file(db, file).outputs {
        diags.extend(out.diagnostics.iter().cloned());
    }
    crate::diagnostics::sort(&mut diags);
    diags
}

/// Every diagnostic of the project, sorted: loading, schemas, syntax, tables, templates and
/// the project-wide rules.
#[salsa::tracked(returns(ref))]
pub fn project_diagnostics(db: &dyn salsa::Database) -> Vec<Diagnostic> {
    let project = Project::get(db);
    let mut diags = project.setup_diagnostics(db).clone();
    diags.extend(
        aurora_schema(db, project.aurora(db))
            .diagnostics
            .iter()
            .cloned(),
    );
    diags.extend(
        connect_schema(db, project.connect(db))
            .diagnostics
            .iter()
            .cloned(),
    );
    diags.extend(table_index(db).diagnostics.iter().cloned());
    for f in project.files(db) {
        diags.extend(file_diagnostics(db, *f).iter().cloned());
    }
    diags.extend(project_rules(db).iter().cloned());
    crate::diagnostics::sort(&mut diags);
    diags
}

/// Checks `files` several at a time, each thread on its own handle of the database, so that the
/// project queries asked next find the per-file answers ready (salsa memoizes them in the
/// storage the handles share).
pub fn check_in_parallel(db: &Database, files: &[Source]) {
    use rayon::prelude::*;
    files.par_iter().for_each_with(db.clone(), |db, file| {
        check_file(db, *file);
        file_rule_facts(db, *file);
    });
}

/// The checked project as [`check::check_project`] gives it (without syntax and schema
/// diagnostics, which [`project_diagnostics`] has), assembled from the per-file queries.
pub fn checked(db: &Database) -> check::Checked {
    let project = Project::get(db);
    let index = table_index(db);
    let mut diagnostics = index.diagnostics.clone();
    let mut templates = Vec::new();
    for f in project.files(db) {
        for out in &check_file(db, *f).outputs {
            diagnostics.extend(out.diagnostics.iter().cloned());
            templates.push(out.template.clone());
        }
    }
    diagnostics.extend(project_rules(db).iter().cloned());
    crate::diagnostics::sort(&mut diagnostics);
    check::Checked {
        diagnostics,
        templates,
        tables: check::tables_of(&index.items),
    }
}

/// The plan of one file's templates (those without errors).
#[salsa::tracked(returns(ref))]
pub fn file_plan(db: &dyn salsa::Database, file: Source) -> Vec<TemplatePlan> {
    let project = Project::get(db);
    let aurora = &aurora_schema(db, project.aurora(db)).schema;
    let connect = &connect_schema(db, project.connect(db)).schema;
    // The file alone, as file 0 of its own source map.
    let mut sources = SourceMap::new();
    let only = sources.add(file.name(db).clone(), file.text(db).clone());
    let templates: Vec<CheckedTemplate> = check_file(db, file)
        .outputs
        .iter()
        .map(|o| CheckedTemplate {
            file: only,
            ..o.template.clone()
        })
        .collect();
    let checked = check::Checked {
        diagnostics: Vec::new(),
        templates,
        tables: Vec::new(),
    };
    let bundle = plan::compile(&plan::CompileInput {
        checked: &checked,
        env: Env { aurora, connect },
        sources: &sources,
        template_files: &[],
        schemas: SchemaHashes {
            aurora: String::new(),
            connect: String::new(),
        },
    });
    bundle.templates
}

/// The plan bundle of the project, or `None` when it has errors.
#[salsa::tracked(returns(ref))]
pub fn compile(db: &dyn salsa::Database) -> Option<Bundle> {
    if project_diagnostics(db).iter().any(Diagnostic::is_error) {
        return None;
    }
    let project = Project::get(db);
    let a = project.aurora(db);
    let c = project.connect(db);
    let index = table_index(db);
    // The bundle's frame (hashes, tables, UDFs) from the compiler, then each file's templates.
    let mut sources = SourceMap::new();
    let ids: Vec<FileId> = project
        .files(db)
        .iter()
        .map(|f| sources.add(f.name(db).clone(), f.text(db).clone()))
        .collect();
    let checked = check::Checked {
        diagnostics: Vec::new(),
        templates: Vec::new(),
        tables: check::tables_of(&index.items),
    };
    let mut bundle = plan::compile(&plan::CompileInput {
        checked: &checked,
        env: Env {
            aurora: &aurora_schema(db, a).schema,
            connect: &connect_schema(db, c).schema,
        },
        sources: &sources,
        template_files: &ids,
        schemas: SchemaHashes {
            aurora: plan::content_hash(a.text(db)),
            connect: plan::content_hash(c.text(db)),
        },
    });
    for f in project.files(db) {
        bundle.templates.extend(file_plan(db, *f).iter().cloned());
    }
    Some(bundle)
}

/// The checked tables in project order (for hover and completion).
pub fn tables(db: &Database) -> Vec<CheckedTable> {
    check::tables_of(&table_index(db).items)
}

/// The schemas as currently loaded.
pub fn schemas(db: &Database) -> (&AuroraSchema, &ConnectSchema) {
    let project = Project::get(db);
    (
        &aurora_schema(db, project.aurora(db)).schema,
        &connect_schema(db, project.connect(db)).schema,
    )
}
