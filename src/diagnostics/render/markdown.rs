//! The code registry as Markdown: `docs/diagnostics.md` is this text, so a code missing from
//! the registry or from the docs fails a test.

use crate::diagnostics::Code;
use std::fmt::Write;

/// The whole of `docs/diagnostics.md`: an index of every code, then one section per code
/// with its severity, summary and explanation.
pub fn registry_markdown() -> String {
    let mut out = String::from(
        "# Diagnostics\n\n\
         <!-- Generated from the code registry (src/diagnostics/codes.rs); \
         `AMAP_BLESS=1 cargo test --test render` rewrites this file. -->\n\n\
         Every problem amap reports has a stable code: `E` codes are errors in templates, `W` codes \
         are warnings, and `S` codes are errors in `amap.toml` or a schema file. Errors fail \
         `amap check`; warnings fail it only with `--deny-warnings`. A code keeps its meaning for \
         good. `amap explain CODE` prints the section below for one code.\n\n\
         | code | severity | meaning |\n|---|---|---|\n",
    );
    for code in Code::ALL {
        let _ = writeln!(
            out,
            "| [{code}](#{}) | {} | {} |",
            code.as_str().to_ascii_lowercase(),
            code.severity().as_str(),
            code.summary()
        );
    }
    for code in Code::ALL {
        let _ = write!(
            out,
            "\n## {code}\n\n**{}**: {}\n\n{}\n",
            code.severity().as_str(),
            code.summary(),
            code.explanation().trim()
        );
    }
    out
}

/// What `amap explain CODE` prints: a heading line, then the explanation.
pub fn explain(code: Code) -> String {
    format!(
        "{code} ({}): {}\n\n{}\n",
        code.severity().as_str(),
        code.summary(),
        code.explanation().trim()
    )
}
