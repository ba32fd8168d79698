use super::*;
use crate::syntax::ast::{File, Table, Template};

fn parse_ok(text: &str) -> File {
    let (file, diags) = parse(text, FileId(0));
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}");
    file
}

fn templates(file: &File) -> Vec<&Template> {
    file.items
        .iter()
        .filter_map(|i| match i {
            Item::Template(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn tables(file: &File) -> Vec<&Table> {
    file.items
        .iter()
        .filter_map(|i| match i {
            Item::Table(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// The value of the only mapping of a one-template file written around `expr`.
fn value(expr: &str) -> Expr {
    let text = format!("create \"T\" for ref.x {{\n    aurora.a = {expr}\n}}\n");
    let file = parse_ok(&text);
    templates(&file)[0].mappings[0].value.clone()
}

/// The expression written back compactly, to check the shape of the tree.
fn show(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Str(s) => {
            let parts: Vec<String> = s
                .parts
                .iter()
                .map(|p| match p {
                    StrPart::Text(t) => format!("{t:?}"),
                    StrPart::Interp(p) => format!("{{{}}}", p.display()),
                })
                .collect();
            format!("{}str[{}]", if s.raw { "r" } else { "" }, parts.join(" "))
        }
        ExprKind::Number(n) => n.clone(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Path(p) => p.display(),
        ExprKind::Name(n) => format!("name:{}", n.value),
        ExprKind::Udf(k) => show_udf(k),
        ExprKind::Call { name, args } => {
            let args: Vec<String> = args.iter().map(show).collect();
            format!("{}({})", name.value, args.join(", "))
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => format!(
            "if[{} ? {} : {}]",
            show_cond(cond),
            show(then),
            show(otherwise)
        ),
        ExprKind::Coalesce(a, b) => format!("[{} ?? {}]", show(a), show(b)),
        ExprKind::Require(a) => format!("{}!", show(a)),
        ExprKind::Not(a) => format!("not[{}]", show(a)),
        ExprKind::Paren(a) => format!("({})", show(a)),
    }
}

fn show_udf(k: &UdfKey) -> String {
    match &k.kind {
        UdfKeyKind::Static(n) => format!("udf:{:?}", n.value),
        UdfKeyKind::Dynamic(p) => format!("udf:{}", p.display()),
    }
}

fn show_cond(c: &Cond) -> String {
    match &c.kind {
        CondKind::Expr(e) => show(e),
        CondKind::Compare { op, lhs, rhs } => {
            let op = if *op == CompareOp::Eq { "==" } else { "!=" };
            format!("{} {op} {}", show(lhs), show(rhs))
        }
        CondKind::Exists(p) => format!("exists {}", p.display()),
        CondKind::And(a, b) => format!("<{} and {}>", show_cond(a), show_cond(b)),
        CondKind::Or(a, b) => format!("<{} or {}>", show_cond(a), show_cond(b)),
    }
}

fn line_of(text: &str, offset: u32) -> usize {
    text[..offset as usize].matches('\n').count() + 1
}

fn errors(text: &str) -> Vec<(Code, usize, String)> {
    let (_, diags) = parse(text, FileId(0));
    diags
        .iter()
        .map(|d| {
            (
                d.code,
                line_of(text, d.primary.span.start),
                d.message.clone(),
            )
        })
        .collect()
}

/// The one diagnostic of a one-template file whose body is `body`.
fn body_error(body: &str) -> Diagnostic {
    let text = format!("create \"Pothole report\" for ref.aurora_case {{\n{body}\n}}\n");
    let (_, diags) = parse(&text, FileId(0));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    diags.into_iter().next().expect("one diagnostic")
}

const EXAMPLE: &str = r#"/// Doc comments (///) attach to the next item and show in hover and `amap explain`.
// Line comments are ignored.

create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode      = "P001"
    aurora.description       = "{field.summary}\n\nReported at {address.summary}"
    aurora.locationText      = address.summary ?? "No address given"
    aurora.easting           = address.easting!
    aurora.northing          = address.northing!
    aurora.usrn              = address.usrn
    aurora.externalReference = case.reference

    contact.firstName    = person.forename
    contact.lastName     = person.surname
    contact.emailAddress = person.email
    contact.mobilePhone  = phone(person.mobile)

    udf "HAZARD"           = lookup(field.hazard, hazard_codes) ?? "M"
    udf field.service_udf  = field.service_detail
}

table hazard_codes: text -> text {
    "low"    => "L"
    "medium" => "M"
    "high"   => "H"
}

incoming "Pothole status" for ref.aurora_case {
    field.aurora_status     = aurora.TriggerType
    field.clearance_reason  = aurora.Message.ClearanceReasonPortalText
    date.aurora_updated     = aurora.Date
    field.hazard_level      = udf "HAZARD"
}
"#;

// ---------------------------------------------------------------------------------------------
// Constructs

#[test]
fn the_language_example_parses() {
    let file = parse_ok(EXAMPLE);
    assert_eq!(file.items.len(), 3);
    let ts = templates(&file);
    let create = ts[0];
    assert_eq!(create.kind, TemplateKind::Create);
    assert_eq!(create.name.value, "Pothole report");
    assert_eq!(create.reference.value, "aurora_case");
    assert_eq!(
        create.doc.as_deref(),
        Some("Doc comments (///) attach to the next item and show in hover and `amap explain`.")
    );
    assert_eq!(create.mappings.len(), 13);
    let m = &create.mappings[11];
    assert!(
        matches!(&m.target, Target::Udf(UdfKey { kind: UdfKeyKind::Static(n), .. }) if n.value == "HAZARD")
    );
    assert_eq!(
        show(&m.value),
        "[lookup(field.hazard, name:hazard_codes) ?? str[\"M\"]]"
    );
    let m = &create.mappings[12];
    assert!(
        matches!(&m.target, Target::Udf(UdfKey { kind: UdfKeyKind::Dynamic(p), .. }) if p.display() == "field.service_udf")
    );
    assert_eq!(
        show(&create.mappings[1].value),
        "str[{field.summary} \"\\n\\nReported at \" {address.summary}]"
    );

    let table = tables(&file)[0];
    assert_eq!(table.name.value, "hazard_codes");
    assert_eq!(table.key_type.name, "text");
    assert!(!table.value_type.optional);
    assert_eq!(table.entries.len(), 3);
    assert_eq!(table.entries[1].key.kind, LiteralKind::Str("medium".into()));
    assert_eq!(table.entries[1].value.kind, LiteralKind::Str("M".into()));
    assert_eq!(table.doc, None);

    let incoming = ts[1];
    assert_eq!(incoming.kind, TemplateKind::Incoming);
    assert_eq!(incoming.doc, None);
    assert_eq!(incoming.mappings.len(), 4);
    assert_eq!(
        show(&incoming.mappings[1].value),
        "aurora.Message.ClearanceReasonPortalText"
    );
    assert_eq!(show(&incoming.mappings[3].value), "udf:\"HAZARD\"");
}

#[test]
fn the_file_rule_accepts_what_the_regions_accept() {
    assert!(AmapParser::parse(Rule::file, EXAMPLE).is_ok());
    assert!(AmapParser::parse(Rule::file, "").is_ok());
    assert!(AmapParser::parse(Rule::file, "create \"a\" for ref.x {} junk").is_err());
}

#[test]
fn spans_point_at_the_source() {
    let file = parse_ok(EXAMPLE);
    let t = templates(&file)[0];
    let at = |s: Span| &EXAMPLE[s.range()];
    assert_eq!(at(t.kind_span), "create");
    assert_eq!(at(t.name.span), "\"Pothole report\"");
    assert_eq!(at(t.reference_span), "ref.aurora_case");
    assert_eq!(at(t.reference.span), "aurora_case");
    assert_eq!(
        at(t.header_span()),
        "create \"Pothole report\" for ref.aurora_case"
    );
    assert!(at(t.span).starts_with("create \"Pothole report\""));
    assert!(at(t.span).ends_with("field.service_detail\n}"));
    let m = &t.mappings[2];
    assert_eq!(
        at(m.span),
        "aurora.locationText      = address.summary ?? \"No address given\""
    );
    assert_eq!(at(m.target.span()), "aurora.locationText");
    assert_eq!(at(m.value.span), "address.summary ?? \"No address given\"");
    let ExprKind::Str(s) = &t.mappings[1].value.kind else {
        panic!("a string")
    };
    let StrPart::Interp(p) = &s.parts[2] else {
        panic!("a placeholder")
    };
    assert_eq!(at(p.span), "address.summary");
    assert_eq!(at(p.root_span), "address");
    assert_eq!(at(p.segments[0].span), "summary");
    let Target::Udf(k) = &t.mappings[11].target else {
        panic!("a udf")
    };
    assert_eq!(at(k.span), "udf \"HAZARD\"");
    let table = tables(&file)[0];
    assert!(at(table.span).starts_with("table hazard_codes"));
    assert!(at(table.span).ends_with("\"H\"\n}"));
    assert_eq!(at(table.entries[0].span), "\"low\"    => \"L\"");
    assert_eq!(at(table.entries[0].key.span), "\"low\"");
}

#[test]
fn paths() {
    assert_eq!(
        show(&value("aurora.Message.CaseNumber")),
        "aurora.Message.CaseNumber"
    );
    let e = value("field[\"odd-name\"].x");
    let ExprKind::Path(p) = &e.kind else {
        panic!("a path")
    };
    assert_eq!(p.root, Root::Field);
    assert_eq!(p.segments[0].value, "odd-name");
    assert_eq!(p.segments[1].value, "x");
    assert_eq!(p.dotted(), "odd-name.x");
    // Keywords are fine after a dot.
    assert_eq!(show(&value("field.table")), "field.table");
    for root in Root::ALL {
        assert_eq!(
            show(&value(&format!("{}.x", root.keyword()))),
            format!("{}.x", root.keyword())
        );
    }
    // A bracketed segment is a string: escapes apply.
    let e = value(r#"field["a\"b"]"#);
    let ExprKind::Path(p) = &e.kind else {
        panic!("a path")
    };
    assert_eq!(p.segments[0].value, "a\"b");
}

#[test]
fn literals() {
    assert_eq!(show(&value("12")), "12");
    assert_eq!(show(&value("-3")), "-3");
    assert_eq!(show(&value("0.25")), "0.25");
    assert_eq!(show(&value("true")), "true");
    assert_eq!(show(&value("false")), "false");
    assert_eq!(show(&value("truex")), "name:truex");
    assert_eq!(show(&value("\"\"")), "str[]");
    assert_eq!(show(&value(r#"r"raw {x} \n""#)), "rstr[\"raw {x} \\\\n\"]");
    assert_eq!(
        show(&value(r#""a\tb\"c\\d\{e\}f}""#)),
        "str[\"a\\tb\\\"c\\\\d{e}f}\"]"
    );
    assert_eq!(show(&value(r#""{ field.x }!""#)), "str[{field.x} \"!\"]");
    assert_eq!(
        show(&value(r#""{field[\"odd name\"]}""#)),
        "str[{field[\"odd name\"]}]"
    );
}

#[test]
fn operators_and_precedence() {
    assert_eq!(
        show(&value("a ?? b ?? c")),
        "[[name:a ?? name:b] ?? name:c]"
    );
    assert_eq!(show(&value("field.a! ?? 0")), "[field.a! ?? 0]");
    assert_eq!(show(&value("not not field.flag!")), "not[not[field.flag!]]");
    assert_eq!(show(&value("(a ?? b)!")), "([name:a ?? name:b])!");
    assert_eq!(show(&value("upper(x)")), "upper(name:x)");
    assert_eq!(show(&value("now()")), "now()");
    assert_eq!(
        show(&value("date(field.d, \"%d\")")),
        "date(field.d, str[\"%d\"])"
    );
    assert_eq!(show(&value("text (1)")), "text(1)");
    assert_eq!(
        show(&value("udf field.code ?? \"\"")),
        "[udf:field.code ?? str[]]"
    );
}

#[test]
fn conditions() {
    assert_eq!(
        show(&value(
            "if field.hazard == \"high\" then \"P001\" else \"SL01\""
        )),
        "if[field.hazard == str[\"high\"] ? str[\"P001\"] : str[\"SL01\"]]"
    );
    assert_eq!(
        show(&value("if a or b and c != d then 1 else 2")),
        "if[<name:a or <name:b and name:c != name:d>> ? 1 : 2]"
    );
    assert_eq!(
        show(&value("if a and b and c then 1 else 2")),
        "if[<<name:a and name:b> and name:c> ? 1 : 2]"
    );
    assert_eq!(
        show(&value(
            "if exists(aurora.Message.X) and not field.flag! then \"c\" else \"o\""
        )),
        "if[<exists aurora.Message.X and not[field.flag!]> ? str[\"c\"] : str[\"o\"]]"
    );
    // The else branch is a whole expression.
    assert_eq!(
        show(&value("if a then b else c ?? d")),
        "if[name:a ? name:b : [name:c ?? name:d]]"
    );
    assert_eq!(
        show(&value("x ?? if a then b else c")),
        "[name:x ?? if[name:a ? name:b : name:c]]"
    );
}

#[test]
fn newlines_continue_only_inside_parentheses() {
    let e = value("join(\n        \", \",\n        a ?? // why\n            b,\n        c,\n    )");
    assert_eq!(show(&e), "join(str[\", \"], [name:a ?? name:b], name:c)");
    let e = value("(\n  if a\n  then b\n  else c\n)");
    assert_eq!(show(&e), "(if[name:a ? name:b : name:c])");
    // Outside parentheses, a newline ends the mapping.
    let d = body_error("    aurora.a = b\n        ?? c");
    assert_eq!(d.code, Code::E0001);
    assert!(d.message.starts_with("expected a target"), "{}", d.message);
}

#[test]
fn separators_comments_and_layout() {
    let text = "\u{FEFF}// leading\r\ncreate \"A\" for ref.x\r\n{ aurora.a = 1; aurora.b = 2 ;; // c\r\n\r\n  aurora.c = 3 }\r\ntable t: text -> integer? { \"a\" => 1, \"b\" => 2; \"c\" => -1 }\n// trailing\n";
    let file = parse_ok(text);
    let t = templates(&file)[0];
    assert_eq!(t.mappings.len(), 3);
    let table = tables(&file)[0];
    assert_eq!(table.entries.len(), 3);
    assert!(table.value_type.optional);
    assert_eq!(table.value_type.name, "integer");
    assert_eq!(&text[table.value_type.span.range()], "integer?");
    // Empty bodies.
    let file = parse_ok(
        "create \"A\" for ref.x {}\nincoming \"B\" for ref.x {\n}\ntable t: text -> text {}\n",
    );
    assert_eq!(file.items.len(), 3);
    // Only trivia.
    assert!(parse_ok("").items.is_empty());
    assert!(parse_ok("// nothing\n\n   \n").items.is_empty());
}

#[test]
fn doc_comments_attach_to_the_next_item() {
    let text = "/// First line.\n///   indented\n// plain, skipped\n///\ntable t: text -> text {}\n\n//// not a doc\ncreate \"A\" for ref.x {\n    /// inside a body: a comment\n    aurora.a = 1 /// trailing: a comment\n}\n";
    let file = parse_ok(text);
    assert_eq!(
        tables(&file)[0].doc.as_deref(),
        Some("First line.\n  indented\n")
    );
    assert_eq!(templates(&file)[0].doc, None);
    assert_eq!(templates(&file)[0].mappings.len(), 1);
}

#[test]
fn keywords_are_not_names() {
    for kw in [
        "if", "then", "not", "true", "field", "create", "table", "udf",
    ] {
        let text = format!("table {kw}: text -> text {{}}\n");
        let errs = errors(&text);
        assert_eq!(errs.len(), 1, "{kw}: {errs:?}");
        assert_eq!(
            errs[0].2,
            format!("expected a table name after `table`, found `{kw}`")
        );
    }
    let d = parse("table if: text -> text {}\n", FileId(0)).1;
    assert_eq!(
        d[0].help.as_deref(),
        Some("`if` is a keyword and cannot be a table name")
    );
    parse_ok("table iffy: text -> text {}\ntable fields: text -> text {}\n");
}

// ---------------------------------------------------------------------------------------------
// Recovery

#[test]
fn three_broken_items_give_three_errors_and_keep_the_good_ones() {
    let text = r#"create "Broken one" for ref.aurora_case {
    aurora.caseTypeCode = //~ E0001
}

create "Fine" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}

incoming "Broken two" ref.aurora_other { //~ E0001
    field.case_number = aurora.Message.CaseNumber
}

table codes: text -> text {
    "a" => "b"
    "c" "d" //~ E0001
}

incoming "Fine too" for ref.aurora_other {
    field.case_number = aurora.Message.CaseNumber
}
"#;
    let (file, diags) = parse(text, FileId(0));
    let lines: Vec<(Code, usize)> = diags
        .iter()
        .map(|d| (d.code, line_of(text, d.primary.span.start)))
        .collect();
    assert_eq!(
        lines,
        vec![(Code::E0001, 2), (Code::E0001, 10), (Code::E0001, 16)]
    );
    assert_eq!(
        diags[0].message,
        "expected an expression after `=`, found the end of the line"
    );
    assert_eq!(
        diags[1].message,
        "expected `for ref.NAME` after the template name"
    );
    assert_eq!(
        diags[2].message,
        "expected `=>` after the key `\"c\"`, found `\"d\"`"
    );
    let kinds: Vec<&str> = file
        .items
        .iter()
        .map(|i| match i {
            Item::Template(t) => t.name.value.as_str(),
            Item::Table(t) => t.name.value.as_str(),
            Item::Error(_) => "error",
        })
        .collect();
    assert_eq!(kinds, ["error", "Fine", "error", "error", "Fine too"]);
    // Each error item covers its own region only.
    let Item::Error(span) = file.items[2] else {
        panic!("an error item")
    };
    assert!(text[span.range()].starts_with("incoming \"Broken two\""));
    assert!(text[span.range()].ends_with("}"));
}

#[test]
fn a_missing_brace_costs_one_item() {
    let text = "create \"A\" for ref.x {\n    aurora.a = 1\n\ncreate \"B\" for ref.x {\n    aurora.b = 2\n}\n";
    let (file, diags) = parse(text, FileId(0));
    assert_eq!(diags.len(), 1);
    assert_eq!(
        diags[0].message,
        "expected `}` to close the template `A`, found `create`"
    );
    assert_eq!(line_of(text, diags[0].primary.span.start), 2);
    assert_eq!(diags[0].labels[0].message, "the template `A` starts here");
    assert_eq!(&text[diags[0].labels[0].location.span.range()], "{");
    assert!(matches!(file.items[0], Item::Error(_)));
    assert!(matches!(&file.items[1], Item::Template(t) if t.name.value == "B"));
}

#[test]
fn stray_text_between_items() {
    let text = "create \"A\" for ref.x {} }\njunk here\ntable t: text -> text {}\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].2,
        "expected `create`, `incoming` or `table`, found `}`"
    );
    let (file, _) = parse(text, FileId(0));
    assert_eq!(file.items.len(), 3);
    assert!(matches!(file.items[1], Item::Error(_)));
    // A lone brace, NUL bytes and a dangling doc comment.
    assert_eq!(
        errors("}")[0].2,
        "expected `create`, `incoming` or `table`, found `}`"
    );
    assert_eq!(errors("\0\0")[0].0, Code::E0001);
    assert_eq!(
        errors("/// doc\n")[0].2,
        "expected a template or a table after the doc comment"
    );
    assert_eq!(
        errors("aurora.a = 1\n")[0].2,
        "expected `create`, `incoming` or `table`, found `aurora.a`"
    );
}

// ---------------------------------------------------------------------------------------------
// Messages for common mistakes

#[test]
fn messages_say_what_was_expected_in_words() {
    let cases = [
        (
            "    aurora.usrn address.usrn",
            "expected `=` after the target `aurora.usrn`, found `address.usrn`",
        ),
        (
            "    udf \"HAZARD\" \"M\"",
            "expected `=` after the target `udf \"HAZARD\"`, found `\"M\"`",
        ),
        (
            "    aurora.a == 1",
            "expected `=` after the target `aurora.a`, found `==`",
        ),
        (
            "    aurora.a =",
            "expected an expression after `=`, found the end of the line",
        ),
        (
            "    aurora.a = b ??",
            "expected an expression after `??`, found the end of the line",
        ),
        (
            "    aurora.a = not exists(field.x)",
            "expected an expression after `not`, found `exists`",
        ),
        (
            "    12 = 3",
            "expected a target such as `aurora.description`, `field.status` or `udf \"CODE\"`, found `12`",
        ),
        (
            "    = 3",
            "expected a target such as `aurora.description`, `field.status` or `udf \"CODE\"`, found `=`",
        ),
        (
            "    aurora.a = b c",
            "expected the end of the mapping (a new line or `;`), found `c`",
        ),
        (
            "    aurora.a = field",
            "expected `.` and a name after `field`, found the end of the line",
        ),
        (
            "    aurora.a = field.",
            "expected a name after `.`, found the end of the line",
        ),
        (
            "    aurora.a = if x then 1",
            "expected `else` after the `then` value, found the end of the line",
        ),
        (
            "    aurora.a = if x 1 else 2",
            "expected `then` after the condition of `if`, found `1`",
        ),
        (
            "    aurora.a = upper(x",
            "expected `,` or `)` in the call of `upper`, found `}`",
        ),
        (
            "    aurora.a = join(\",\", x,",
            "expected an argument or `)` after `,` in the call of `join`, found `}`",
        ),
        (
            "    aurora.a = (x",
            "expected `)` to close the parenthesis, found `}`",
        ),
        (
            "    aurora.a = x)",
            "unexpected `)`: there is no `(` to close",
        ),
        (
            "    udf = 1",
            "expected the UDF's code or name as a string, or a source path, after `udf`, found `=`",
        ),
        (
            "    aurora.a = if exists field.x then 1 else 2",
            "expected `(` after `exists`, found `field.x`",
        ),
    ];
    for (body, message) in cases {
        let d = body_error(body);
        assert_eq!(d.code, Code::E0001, "{body}");
        assert_eq!(d.message, message, "{body}");
        assert_eq!(
            line_of(
                &format!("x\n{body}"),
                d.primary.span.start.min(body.len() as u32 + 2)
            ),
            2
        );
    }
    let header = [
        (
            "create Pothole for ref.x {}",
            "expected the template's name, a string, after `create`, found `Pothole`",
        ),
        (
            "create \"P\" ref.x {}",
            "expected `for ref.NAME` after the template name",
        ),
        (
            "create \"P\" for x {}",
            "expected a reference `ref.NAME` after `for`, found `x`",
        ),
        (
            "create \"P\" for ref.x",
            "expected `{` after `ref.x` to open the template, found the end of the file",
        ),
        (
            "create \"P\" for ref.x {\n  aurora.a = 1\n",
            "expected `}` to close the template `P`, found the end of the file",
        ),
        (
            "table t text -> text {}",
            "expected `:` after the table name `t`, found `text`",
        ),
        (
            "table t: text text {}",
            "expected `->` between the key type and the value type, found `text`",
        ),
        (
            "table t: text -> {}",
            "expected a type such as `text`, `integer` or `number` after `->`, found `{`",
        ),
        (
            "table t: text -> text {\n \"a\" => \"b\" \"c\"\n}",
            "expected a new line, `;` or `,` after the table entry, found `\"c\"`",
        ),
        (
            "table t: text -> text {\n \"a\" => b\n}",
            "expected a value (a string, a number, `true` or `false`) after `=>`, found `b`",
        ),
        (
            "table t: text -> text {\n \"a\" => \"b\"\n",
            "expected `}` to close the table `t`, found the end of the file",
        ),
    ];
    for (text, message) in header {
        let errs = errors(text);
        assert_eq!(errs.len(), 1, "{text}: {errs:?}");
        assert_eq!(errs[0].2, message, "{text}");
    }
}

#[test]
fn error_spans_point_at_the_offending_token() {
    let text = "create \"P\" for ref.x {\n    aurora.usrn address.usrn\n    aurora.b = \n}\n";
    let (_, diags) = parse(text, FileId(0));
    assert_eq!(&text[diags[0].primary.span.range()], "address.usrn");
    let text = "create \"P\" for ref.x {\n    aurora.b = // nothing\n}\n";
    let (_, diags) = parse(text, FileId(0));
    let span = diags[0].primary.span;
    assert!(span.is_empty());
    assert_eq!(line_of(text, span.start), 2);
    assert_eq!(&text[span.start as usize..span.start as usize + 1], "\n");
}

// ---------------------------------------------------------------------------------------------
// Strings (E0002)

#[test]
fn unknown_escape_keeps_the_character_and_the_item() {
    let text =
        "create \"P\" for ref.x {\n    aurora.a = \"Pothole \\q reported\"\n    aurora.b = 1\n}\n";
    let (file, diags) = parse(text, FileId(0));
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, Code::E0002);
    assert_eq!(diags[0].message, "unknown escape `\\q` in a string");
    assert_eq!(&text[diags[0].primary.span.range()], "\\q");
    let t = templates(&file)[0];
    assert_eq!(t.mappings.len(), 2);
    assert_eq!(show(&t.mappings[0].value), "str[\"Pothole q reported\"]");
}

#[test]
fn bad_placeholders() {
    let text = "create \"P\" for ref.x {\n    aurora.a = \"Reported at {address.summary\"\n    aurora.b = \"{1+2} and {}\"\n    aurora.c = \"é{field.é}\"\n}\n";
    let (file, diags) = parse(text, FileId(0));
    let found: Vec<(Code, usize, &str)> = diags
        .iter()
        .map(|d| {
            (
                d.code,
                line_of(text, d.primary.span.start),
                &text[d.primary.span.range()],
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (Code::E0002, 2, "{address.summary"),
            (Code::E0002, 3, "{1+2}"),
            (Code::E0002, 3, "{}"),
            (Code::E0002, 4, "{field.é}"),
        ]
    );
    assert_eq!(diags[0].message, "unclosed `{` placeholder in a string");
    assert_eq!(
        diags[1].message,
        "`{1+2}` is not a path: only a source path can be interpolated"
    );
    assert_eq!(templates(&file)[0].mappings.len(), 3);
}

#[test]
fn placeholders_where_none_are_allowed() {
    let text = "create \"P {field.x}\" for ref.x {\n    udf \"{a.b}\" = 1\n}\ntable t: text -> text {\n    \"{k}\" => \"v\"\n}\n";
    let (file, diags) = parse(text, FileId(0));
    assert_eq!(diags.len(), 3, "{diags:#?}");
    assert!(diags.iter().all(|d| d.code == Code::E0002));
    assert_eq!(
        diags[0].message,
        "a `{…}` placeholder cannot be used in a template name"
    );
    assert_eq!(templates(&file)[0].name.value, "P {field.x}");
    assert_eq!(
        tables(&file)[0].entries[0].key.kind,
        LiteralKind::Str("{k}".into())
    );
}

#[test]
fn an_unterminated_string_gives_one_error_and_recovery_at_the_next_item() {
    let text = "create \"P\" for ref.x {\n    aurora.a = \"oops\n    aurora.b = \"also\n}\n\ncreate \"Q\" for ref.x {\n    aurora.a = 1\n}\n";
    let (file, diags) = parse(text, FileId(0));
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].code, Code::E0002);
    assert_eq!(&text[diags[0].primary.span.range()], "\"oops");
    assert_eq!(
        diags[0].message,
        "unterminated string: the closing `\"` is missing"
    );
    assert!(matches!(file.items[0], Item::Error(_)));
    assert!(matches!(&file.items[1], Item::Template(t) if t.name.value == "Q"));
}

#[test]
fn placeholder_paths_with_escapes_point_at_the_placeholder() {
    let text = "create \"P\" for ref.x {\n    aurora.a = \"{field[\\\"odd\\\"]}\"\n}\n";
    let file = parse_ok(text);
    let ExprKind::Str(s) = &templates(&file)[0].mappings[0].value.kind else {
        panic!("a string")
    };
    let StrPart::Interp(p) = &s.parts[0] else {
        panic!("a placeholder")
    };
    assert_eq!(p.segments[0].value, "odd");
    assert_eq!(&text[p.span.range()], "{field[\\\"odd\\\"]}");
}

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn deep_nesting_is_reported_not_overflowed() {
    for inner in [
        format!("{}1{}", "(".repeat(5000), ")".repeat(5000)),
        format!("{}x", "not ".repeat(5000)),
        vec!["a"; 5000].join(" ?? "),
        format!("{}1", "if a then 1 else ".repeat(500)),
    ] {
        let text = format!(
            "create \"P\" for ref.x {{\n    aurora.a = {inner}\n}}\ncreate \"Q\" for ref.x {{}}\n"
        );
        let (file, diags) = parse(&text, FileId(0));
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "expression nested too deeply");
        assert!(matches!(file.items[0], Item::Error(_)));
        assert!(matches!(file.items[1], Item::Template(_)));
    }
    // Just under the limit parses, in a thread with a small stack.
    let inner = format!("{}1{}", "(".repeat(60), ")".repeat(60));
    let text = format!("create \"P\" for ref.x {{\n    aurora.a = {inner}\n}}\n");
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || parse(&text, FileId(0)).1.len())
        .expect("thread");
    assert_eq!(handle.join().expect("no overflow"), 0);
}

#[test]
fn many_templates_parse_in_one_pass() {
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!("create \"T{i}\" for ref.x {{\n"));
        for j in 0..30 {
            text.push_str(&format!(
                "    aurora.f{j} = upper(field.f{j} ?? \"none\")\n"
            ));
        }
        text.push_str("}\n\n");
    }
    let file = parse_ok(&text);
    assert_eq!(file.items.len(), 200);
    assert!(templates(&file).iter().all(|t| t.mappings.len() == 30));
}
