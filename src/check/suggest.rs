//! "Did you mean" suggestions from edit distance over the names in scope.

/// The closest candidate to `wanted`, if it is close enough to be a plausible typo.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let limit = (wanted.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .map(|c| {
            let d = if c.to_lowercase() == wanted_lower {
                0
            } else {
                strsim::damerau_levenshtein(&wanted_lower, &c.to_lowercase())
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_and_ignores_far_names() {
        let names = ["summary", "details", "hazard"];
        assert_eq!(closest("sumary", names), Some("summary"));
        assert_eq!(closest("Hazard", names), Some("hazard"));
        assert_eq!(closest("colour", names), None);
        assert_eq!(closest("x", ["y", "xy"]), Some("xy"));
    }
}
