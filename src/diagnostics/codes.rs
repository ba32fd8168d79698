//! The registry of diagnostic codes: each code is defined here once, with its severity, a
//! one-line summary and the long explanation printed by `amap explain`. A code that has
//! shipped is never given another meaning.

use super::Severity;

macro_rules! codes {
    ($( $code:ident, $sev:ident, $summary:literal, $explanation:literal; )*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($code,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$code,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$code => stringify!($code),)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$code => Severity::$sev,)* }
            }

            /// One line: what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$code => $summary,)* }
            }

            /// The long explanation, in Markdown, with an example and its fix.
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$code => $explanation,)* }
            }
        }
    };
}

impl Code {
    pub fn parse(text: &str) -> Option<Code> {
        let wanted = text.trim().to_ascii_uppercase();
        Code::ALL.iter().copied().find(|c| c.as_str() == wanted)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

codes! {
    E0001, Error, "syntax error", r#"The text does not follow the grammar of a `.amap` file. The message says, in words, what
was expected at that point (a `=` after a target, a value after `=`, `for` after a template's
name, a closing `}`). The parser starts again at the next template or table, so one mistake does
not hide the rest of the file; the broken item itself is not checked any further.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  field.summary
}
```

Write each mapping as `TARGET = EXPR`, one per line (or separated by `;`), and each template as
`create "NAME" for ref.REFERENCE { … }` or `incoming "NAME" for ref.REFERENCE { … }`:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}
```"#;
    E0002, Error, "bad string: unterminated, unknown escape, or unclosed `{` placeholder", r#"A string literal could not be read: it has no closing `"`, it uses an escape other than
`\n`, `\t`, `\"`, `\\`, `\{` and `\}`, or a `{` placeholder is not closed with `}`.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = "Pothole \q reported at {address.summary"
}
```

Remove the unknown escape (or write `\\` for a backslash), and close the placeholder. A literal
brace is written `\{`; a raw string `r"…"` interpolates nothing.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = "Pothole reported at {address.summary}"
}
```"#;
    E0101, Error, "unknown Connect source or target", r#"A Connect source or target names something that does not exist. `field.NAME` and `date.NAME`
must be declared in the Connect schema (`[fields.NAME]`, `[dates.NAME]`); `person.*`,
`address.*` and `case.*` are built in, with a fixed set of attributes (`person.forename`,
`address.postcode`, `case.reference`, …). The help line suggests the closest name in scope.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.sumary
}
```

Correct the name, or declare the field in the Connect schema. A field whose name is not an
identifier is written `field["odd-name"]`.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}
```"#;
    E0102, Error, "unknown Aurora field", r#"An Aurora name does not exist in the Aurora schema: `aurora.FIELD` in a create template must
be a CreateCase field (`[create.FIELD]`), `contact.FIELD` a contact field (`[contact.FIELD]`), and
`aurora.PATH` in an incoming template a snapshot field (`[snapshot."PATH"]`). Only declared
snapshot paths can be read, so that every read is typed.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.locatonText  = "High Street"
}
```

Correct the name (the help line suggests the closest one), or declare the field in the Aurora
schema if Aurora really has it.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.locationText = "High Street"
}
```"#;
    E0103, Error, "unknown reference", r#"A reference is not declared in the Connect schema. Every template names the Connect
reference it works through (`for ref.NAME`): a create template stores the new Aurora case
number in it, and an incoming template finds its case by it. `ref.NAME` as a source must also
be declared. References are declared as `[references.NAME]`.

```amap
create "Pothole report" for ref.aurora_cas {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}
```

Correct the name, or add `[references.aurora_cas]` to the Connect schema.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}
```"#;
    E0104, Error, "unknown table", r#"`lookup(x, TABLE)` names a table that no file of the project declares. Tables are shared by
the whole project: one declared in any `.amap` file can be used from every other.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.locationText = lookup(field.street, street_names)
}
```

Correct the table's name, or declare the table:

```amap
table street_names: text -> text {
    "HIGH ST" => "High Street"
}
```"#;
    E0105, Error, "unknown function, or wrong number of arguments", r#"A call names a function that is not built in, or passes it the wrong number of arguments.
The functions are a fixed set: `text`, `number`, `integer`, `date`, `datetime`, `format`,
`upper`, `lower`, `trim`, `truncate`, `replace`, `join`, `phone`, `lookup` and `now` (see the
language reference for their types).

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = upcase(field.summary)
    aurora.locationText = truncate(field.details)
}
```

Use a built-in function, with all of its arguments:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = upper(field.summary)
    aurora.locationText = truncate(field.details, 100)
}
```"#;
    E0106, Error, "UDF code or name resolves to nothing", r#"A UDF key resolves to no user-defined field of the Aurora schema. A static key
(`udf "KEY"`) is looked up by code first (exactly), then by name (ignoring case). A dynamic key
(`udf field.NAME`) whose source is a choice must resolve for every one of its options; the
message names the option that does not.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    udf "WIDTH"         = "12"
}
```

Use the code or the name of a UDF declared in the Aurora schema (`[[udf]]`), add the UDF to
the schema if Aurora has it, or remove the option that names no UDF from the choice field.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    udf "DEPTH"         = 12
}
```"#;
    E0107, Error, "UDF name matches more than one UDF", r#"A UDF key given as a name matches more than one UDF. Names are compared ignoring case, and
Aurora does not stop two UDFs from sharing one (for example `Size` and `size`), so the key does
not say which field to write.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    udf "Size"          = "large"
}
```

Use the UDF's code, which is unique:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    udf "SIZE1"         = "large"
}
```"#;
    E0108, Error, "target not writable, or source not readable, in this kind of template", r#"A target cannot be written, or a source cannot be read, in this kind of template. A create
template writes `aurora.*`, `contact.*` and `udf KEY`, and reads the Connect case (`case.*`,
`field.*`, `date.*`, `person.*`, `address.*`, `ref.*`). An incoming template writes `field.*` and
`date.*`, and reads the Aurora case (`aurora.*`, `udf KEY`) and `case.*`, `field.*`, `date.*`,
`ref.*`.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    field.status        = "sent"
}
```

Move the mapping to a template of the other kind:

```amap
incoming "Pothole status" for ref.aurora_case {
    field.case_number = aurora.Message.CaseNumber
    field.status      = aurora.TriggerType
}
```"#;
    E0109, Error, "duplicate template or table name", r#"Two templates, or two tables, have the same name. Template names are unique across the whole
project, whatever their kind (a create and an incoming template may not share a name either),
because a run names its template; table names are unique because lookups find tables by name.
The secondary label points at the first declaration.

```amap
create "Potholes" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}

incoming "Potholes" for ref.aurora_case {
    field.case_number = aurora.Message.CaseNumber
}
```

Rename one of them:

```amap
incoming "Pothole updates" for ref.aurora_case {
    field.case_number = aurora.Message.CaseNumber
}
```"#;
    E0110, Error, "the same target mapped twice in a template, or a duplicate table key", r#"A template maps the same target twice, or a table has the same key twice. Only one value can
be written, and silently keeping the later one would hide a mistake.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.description  = field.details
}

table hazard_codes: text -> text {
    "low"  => "L"
    "low"  => "M"
}
```

Keep one mapping (combine the values with `??` when the second was meant as a fallback), and
one entry per key:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.details ?? field.summary
}

table hazard_codes: text -> text {
    "low"    => "L"
    "medium" => "M"
}
```"#;
    E0201, Error, "type mismatch", r#"A value's type does not fit where it is used: a target, a function argument, a table key, or
the branches of an `if` or `??`. The only implicit conversions are `integer` to `number`, `date`
to `datetime` and `choice` to `text`; anything else is written out, and the help line names the
function (`number(x)`, `text(x)`, `format(x, "%d/%m/%Y")`, …). Free text into a choice target is
also a mismatch: map it through a table whose values are the allowed ones.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.easting      = field.depth
}
```

Convert the value. `number` can fail at run time (the case then fails with a validation error
naming the mapping), unless a `??` gives a default:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.easting      = number(field.depth) ?? 0
}
```"#;
    E0202, Error, "optional value into a required target", r#"A required target receives a value that may be empty. Connect fields are optional unless the
Connect schema says `required = true`, Aurora snapshot fields are always optional, and `lookup`
gives an optional result (the key may be missing). Sending an empty value to a required Aurora
field would fail the case at run time; amap reports it before.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.details
}
```

Give a default with `??`, or assert a value with `!` (the case then fails with a validation
error naming the mapping when the value is empty):

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.details ?? "No details given"
}
```"#;
    E0203, Error, "literal not among the target's allowed values", r#"A value that is known when checking is not among the target's allowed values. Choice targets
(an Aurora field or UDF with `values`, a Connect choice field with `options`) accept only their
values; this is checked for literals, for the branches of an `if` or `??` made of literals, and
for every option of a choice source.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P999"
    aurora.description  = field.summary
}
```

Use one of the allowed values (the message lists them), or map a choice source with other
options through a table:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}
```"#;
    E0204, Error, "literal longer than the target's `max_length`", r#"A literal is longer than the target's `max_length` (counted in characters), so it can never be
stored as written.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode      = "P001"
    aurora.description       = field.summary
    aurora.externalReference = "This reference is far too long for Aurora"
}
```

Shorten the literal, or check that the right target is being written:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode      = "P001"
    aurora.description       = field.summary
    aurora.externalReference = "Pothole portal"
}
```"#;
    E0205, Error, "table values not allowed by the target, or table key/value type mismatch", r#"A table does not fit how it is used or declared: one of its values is not allowed by the
choice target that a `lookup` in it feeds, or an entry's key or value does not have the type
the table declares (`table NAME: KEY -> VALUE`).

```amap
table depths: text -> integer {
    "shallow" => 10
    "deep"    => "forty"
}

table case_types: text -> text {
    "low"  => "P001"
    "high" => "P009"
}

create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = lookup(field.hazard, case_types) ?? "P001"
    aurora.description  = field.summary
}
```

Make every entry match the declared types, and every value one the target allows:

```amap
table depths: text -> integer {
    "shallow" => 10
    "deep"    => 40
}

table case_types: text -> text {
    "low"  => "P001"
    "high" => "FT01"
}
```"#;
    E0206, Error, "dynamic UDF key is not text or choice", r#"A dynamic UDF key (`udf SOURCE = …`, a source whose value at run time is the UDF's code or
name) is neither text nor a choice, so its value cannot name a UDF.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    udf field.depth_mm  = "x"
}
```

Use a text or choice field that holds the UDF's code or name, or a static key:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    udf field.udf_code  = "x"
    udf "DEPTH"         = field.depth_mm
}
```"#;
    E0207, Error, "invalid date format string", r#"A date format string (the second argument of `format`, `date` or `datetime`) is not valid.
Formats use strftime-style specifiers such as `%Y` (year), `%m` (month), `%d` (day), `%H`, `%M`
and `%S` (hour, minute, second); an unknown specifier or a lone `%` is reported where it is
written, before any case is run.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.locationText = format(date.reported, "%d/%J/%Y")
}
```

Use a valid specifier (`%%` for a literal percent sign):

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.locationText = format(date.reported, "%d/%m/%Y")
}
```"#;
    E0301, Error, "required Aurora field not mapped in a create template", r#"A create template does not map a CreateCase field that the Aurora schema marks
`required = true`; Aurora would reject every case it creates. There is one diagnostic per
missing field, on the template's header, with a label on the field's declaration.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.locationText = field.details
}
```

Map the field:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.locationText = field.details
}
```"#;
    E0302, Error, "required snapshot field read by no mapping of an incoming template", r#"An incoming template reads no value from a snapshot field that the Aurora schema marks
`required = true`. Such fields carry what every update must deliver to Connect (the Aurora case
number, for example), so each incoming template must map them. The diagnostic is on the
template's header, with a label on the field's declaration.

```amap
incoming "Pothole status" for ref.aurora_case {
    field.status = aurora.TriggerType
}
```

Map the field into a Connect field:

```amap
incoming "Pothole status" for ref.aurora_case {
    field.case_number = aurora.Message.CaseNumber
    field.status      = aurora.TriggerType
}
```"#;
    W0201, Warning, "`!` or `??` on a value that is never empty", r#"`!` or `??` is applied to a value that is never empty (a required field, a literal, a built-in
case attribute), so it does nothing: the `!` never fails and the default is never used. It
often means the wrong source was written. A `??` after a function that can fail, such as
`number(x)`, is not reported: there it catches the failure.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary!
}
```

Remove the `!` or the `?? …`:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}
```"#;
    W0202, Warning, "the source's `max_length` exceeds the target's", r#"The source's declared `max_length` is greater than the target's, so a long enough value would
not fit and the case would fail when it is sent.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.locationText = field.summary
}
```

Cut the value to the target's length with `truncate` (it never splits a character):

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    aurora.locationText = truncate(field.summary, 100)
}
```"#;
    W0401, Warning, "two incoming templates of one reference write the same target", r#"Two incoming templates of the same reference write the same Connect target. All incoming
templates of a reference apply, in file order then source order, so the later mapping
overwrites the earlier one on every update.

```amap
incoming "Status from trigger" for ref.aurora_case {
    field.case_number = aurora.Message.CaseNumber
    field.status      = aurora.TriggerType
}

incoming "Status from text" for ref.aurora_case {
    field.case_number = aurora.Message.CaseNumber
    field.status      = aurora.Message.ClearanceReasonPortalText
}
```

Keep one mapping per target for a reference, or write different targets:

```amap
incoming "Clearance reason" for ref.aurora_case {
    field.case_number = aurora.Message.CaseNumber
    field.clearance   = aurora.Message.ClearanceReasonPortalText
}
```"#;
    W0402, Warning, "two create templates store into the same reference", r#"Two create templates store their new Aurora case number in the same reference. A case that
goes through both would keep only the second case number, and incoming updates for the first
Aurora case would no longer find it.

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}

create "Fly-tipping report" for ref.aurora_case {
    aurora.caseTypeCode = "FT01"
    aurora.description  = field.summary
}
```

Give each create template its own reference:

```amap
create "Fly-tipping report" for ref.aurora_other {
    aurora.caseTypeCode = "FT01"
    aurora.description  = field.summary
}
```"#;
    W0403, Warning, "table never used", r#"A table is declared but no `lookup` in the project uses it. It may be left over from an
earlier version, or a lookup may name another table by mistake.

```amap
table hazard_codes: text -> text {
    "low"  => "L"
    "high" => "H"
}

create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
}
```

Use the table, or delete it:

```amap
create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    udf "HAZARD"        = lookup(field.hazard, hazard_codes) ?? "M"
}
```"#;
    W0404, Warning, "a table keyed by a choice source does not cover all its options", r#"A table is looked up with a choice source but has no entry for some of the source's options,
and the lookup has no `??` default. Those options would give an empty value at run time; the
message names them.

```amap
table hazard_codes: text -> text {
    "low"    => "L"
    "medium" => "M"
}

create "Pothole report" for ref.aurora_case {
    aurora.caseTypeCode = "P001"
    aurora.description  = field.summary
    udf "HAZARD"        = lookup(field.hazard, hazard_codes)
}
```

Add the missing keys to the table, or give the lookup a default:

```amap
table hazard_codes: text -> text {
    "low"    => "L"
    "medium" => "M"
    "high"   => "H"
}
```"#;
    S0001, Error, "schema or project file is not valid TOML", r#"`amap.toml` or a schema file is not valid TOML, so nothing in it can be read. The message is
the TOML parser's, at the place where reading stopped.

```toml
[project]
templates = ["templates/**/*.amap"
aurora_schema = "schema/aurora.toml"
```

Fix the TOML syntax (here, close the array):

```toml
[project]
templates = ["templates/**/*.amap"]
aurora_schema = "schema/aurora.toml"
```"#;
    S0002, Error, "unknown key in a schema or project file", r#"A key that amap does not know appears in `amap.toml` or a schema file. Unknown keys are
errors rather than being ignored, because a misspelt key (`requird`) would otherwise silently
lose its meaning. The help line suggests the closest known key.

```toml
[fields.summary]
type = "text"
requird = true
```

Correct the key, or remove it:

```toml
[fields.summary]
type = "text"
required = true
```"#;
    S0003, Error, "invalid value in a schema or project file", r#"A value in `amap.toml` or a schema file has the wrong type or is not one of the allowed
values: a type that is not one of `text`, `number`, `integer`, `bool`, `date`, `datetime` and
`choice`, a negative `max_length`, a string where a list is expected, and so on.

```toml
[create.description]
type = "string"
required = "yes"
```

Use a value of the expected kind:

```toml
[create.description]
type = "text"
required = true
```"#;
    S0004, Error, "missing key in a schema or project file", r#"A key that must be present is missing from `amap.toml` or a schema file: for example
`templates`, `aurora_schema` or `connect_schema` in `[project]`, `code` or `name` of a `[[udf]]`,
or the `values` of a choice field.

```toml
[[udf]]
name = "Hazard level"
type = "choice"
values = ["L", "M", "H"]
```

Add the key:

```toml
[[udf]]
code = "HAZARD"
name = "Hazard level"
type = "choice"
values = ["L", "M", "H"]
```"#;
    S0005, Error, "duplicate name in a schema", r#"A schema declares the same name twice where names must be unique, most often two `[[udf]]`
entries with the same `code` (a UDF's code is how it is written to Aurora, so it must name one
field). Two UDFs may share a *name*; using that name as a key is then reported as E0107.

```toml
[[udf]]
code = "HAZARD"
name = "Hazard level"
type = "text"

[[udf]]
code = "HAZARD"
name = "Hazard notes"
type = "text"
```

Give each entry its own code (as Aurora has it):

```toml
[[udf]]
code = "HAZNOTE"
name = "Hazard notes"
type = "text"
```"#;
    S0006, Error, "template pattern matches no file", r#"A pattern in `templates` of `amap.toml` matches no file. Patterns are globs relative to
`amap.toml`; one that matches nothing is usually misspelt, and checking no templates would
pass without checking anything.

```toml
[project]
templates = ["template/**/*.amap"]
```

Correct the pattern so that it matches the template files:

```toml
[project]
templates = ["templates/**/*.amap"]
```"#;
}
