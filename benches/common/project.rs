//! A generated project shaped like a large council's: many services, each with a create and an
//! incoming template of about 30 mappings, tables and UDFs. Shared by the benchmarks.

#![allow(dead_code)]

use std::fmt::Write;

pub struct Generated {
    pub aurora: String,
    pub connect: String,
    /// `(file name, text)`, ten templates per file.
    pub files: Vec<(String, String)>,
}

const FIELDS: usize = 40;

/// A project with `templates` templates (half create, half incoming).
pub fn generate(templates: usize) -> Generated {
    let mut aurora = String::new();
    for (name, ty, extra) in [
        ("caseTypeCode", "text", "required = true\n"),
        (
            "description",
            "text",
            "required = true\nmax_length = 2000\n",
        ),
        ("locationText", "text", "max_length = 400\n"),
        ("easting", "number", "wire = \"string\"\n"),
        ("northing", "number", "wire = \"string\"\n"),
        ("usrn", "text", ""),
        ("externalReference", "text", "max_length = 50\n"),
        ("reportedAt", "datetime", ""),
    ] {
        let _ = write!(aurora, "[create.{name}]\ntype = \"{ty}\"\n{extra}\n");
    }
    for i in 0..12 {
        let _ = write!(
            aurora,
            "[create.extra{i}]\ntype = \"text\"\nmax_length = 200\n\n"
        );
    }
    for name in ["firstName", "lastName", "emailAddress", "mobilePhone"] {
        let _ = write!(aurora, "[contact.{name}]\ntype = \"text\"\n\n");
    }
    for i in 0..10 {
        let _ = write!(
            aurora,
            "[[udf]]\ncode = \"U{i:02}\"\nname = \"Detail {i}\"\ntype = \"text\"\n\n"
        );
    }
    aurora.push_str("[[udf]]\ncode = \"HAZARD\"\nname = \"Hazard\"\ntype = \"choice\"\nvalues = [\"L\", \"M\", \"H\"]\n\n");
    aurora.push_str("[snapshot.\"Message.CaseNumber\"]\ntype = \"text\"\nrequired = true\n\n");
    aurora.push_str("[snapshot.\"TriggerType\"]\ntype = \"text\"\n\n[snapshot.\"Date\"]\ntype = \"datetime\"\n\n");
    for i in 0..20 {
        let _ = write!(
            aurora,
            "[snapshot.\"Message.Value{i}\"]\ntype = \"text\"\n\n"
        );
    }

    let mut connect = String::new();
    connect.push_str("[fields.summary]\ntype = \"text\"\nrequired = true\nmax_length = 150\n\n");
    connect.push_str(
        "[fields.hazard]\ntype = \"choice\"\noptions = [\"low\", \"medium\", \"high\"]\n\n",
    );
    for i in 0..FIELDS {
        let _ = write!(
            connect,
            "[fields.f{i}]\ntype = \"text\"\nmax_length = 100\n\n"
        );
    }
    connect.push_str("[dates.reported]\ntype = \"date\"\nrequired = true\n\n[dates.updated]\ntype = \"datetime\"\n\n");
    for i in 0..(templates / 2).max(1) {
        let _ = write!(connect, "[references.r{i}]\nlabel = \"Reference {i}\"\n\n");
    }

    let mut files = Vec::new();
    let per_file = 10;
    let mut t = 0;
    while t < templates {
        let mut text = String::new();
        let file_no = files.len();
        let _ = write!(
            text,
            "/// Hazard codes for file {file_no}.\ntable hazards_{file_no}: text -> text {{\n    \"low\"    => \"L\"\n    \"medium\" => \"M\"\n    \"high\"   => \"H\"\n}}\n\n"
        );
        for _ in 0..per_file {
            if t >= templates {
                break;
            }
            let r = t / 2;
            if t % 2 == 0 {
                create(&mut text, t, r, file_no);
            } else {
                incoming(&mut text, t, r);
            }
            t += 1;
        }
        files.push((format!("templates/service_{file_no:03}.amap"), text));
    }
    Generated {
        aurora,
        connect,
        files,
    }
}

fn create(out: &mut String, t: usize, r: usize, file_no: usize) {
    let _ = writeln!(out, "create \"Service {t}\" for ref.r{r} {{");
    let _ = writeln!(out, "    aurora.caseTypeCode      = \"C{t:04}\"");
    let _ = writeln!(
        out,
        "    aurora.description       = \"{{field.summary}}\\n\\nReported on {{date.reported}} at {{address.summary}}\""
    );
    let _ = writeln!(
        out,
        "    aurora.locationText      = truncate(join(\", \", address.line1, address.town, address.postcode), 400)"
    );
    let _ = writeln!(out, "    aurora.easting           = address.easting!");
    let _ = writeln!(out, "    aurora.northing          = address.northing ?? 0");
    let _ = writeln!(out, "    aurora.usrn              = address.usrn");
    let _ = writeln!(out, "    aurora.externalReference = case.reference");
    let _ = writeln!(out, "    aurora.reportedAt        = date.reported");
    for i in 0..12 {
        let f = (t + i) % FIELDS;
        let _ = writeln!(
            out,
            "    aurora.extra{i}             = upper(field.f{f} ?? \"none\")"
        );
    }
    let _ = writeln!(out, "    contact.firstName        = person.forename");
    let _ = writeln!(out, "    contact.lastName         = person.surname");
    let _ = writeln!(out, "    contact.emailAddress     = lower(person.email)");
    let _ = writeln!(out, "    contact.mobilePhone      = phone(person.mobile)");
    let _ = writeln!(
        out,
        "    udf \"HAZARD\"             = lookup(field.hazard, hazards_{file_no}) ?? \"M\""
    );
    for i in 0..5 {
        let f = (t + i + 7) % FIELDS;
        let _ = writeln!(out, "    udf \"U{i:02}\"              = field.f{f}");
    }
    let _ = writeln!(out, "}}\n");
}

fn incoming(out: &mut String, t: usize, r: usize) {
    let _ = writeln!(out, "incoming \"Service {t}\" for ref.r{r} {{");
    let _ = writeln!(out, "    field.f0 = aurora.Message.CaseNumber");
    let _ = writeln!(out, "    date.updated = aurora.Date");
    for i in 1..28 {
        let _ = writeln!(
            out,
            "    field.f{i} = aurora.Message.Value{} ?? \"n/a\"",
            i % 20
        );
    }
    let _ = writeln!(out, "}}\n");
}
