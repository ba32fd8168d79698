//! The reference docs are generated from the registries they describe: a test fails when they
//! drift. `AMAP_BLESS=1 cargo test --test docs` rewrites them.

use std::path::Path;

fn replace_between(text: &str, start: &str, end: &str, body: &str) -> Option<String> {
    let a = text.find(start)? + start.len();
    let b = text[a..].find(end)? + a;
    Some(format!("{}\n{}{}", &text[..a], body, &text[b..]))
}

#[test]
fn language_reference_lists_every_function_from_the_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md");
    let text = std::fs::read_to_string(&path).expect("docs/language.md");
    let body = amap::check::functions::reference_markdown();
    let fresh = replace_between(
        &text,
        "<!-- functions:start -->",
        "<!-- functions:end -->",
        &body,
    )
    .expect("docs/language.md has the functions markers");
    if std::env::var_os("AMAP_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write docs/language.md");
        return;
    }
    assert!(
        text == fresh,
        "docs/language.md's function table differs from the registry; run `AMAP_BLESS=1 cargo test --test docs`"
    );
}
