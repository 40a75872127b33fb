//! Wording helpers shared by the diagnostics (`config`, `kube`, `cli`) and the views.

/// `1 change` / `2 changes`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The candidate closest to `word`, if it is close enough to be a typo ("did you mean").
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// An error's message followed by its sources, each once: `list managedclusters on `its1`:
/// client error (Connect): tcp connect error: Connection refused`. (Many errors repeat their
/// source in their own message; a source already said is not said again.)
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_needs_a_near_match() {
        assert_eq!(closest("lables", ["labels", "rbac"]), Some("labels"));
        assert_eq!(closest("zzz", ["labels", "rbac"]), None);
        assert_eq!(plural(1, "place", "places"), "1 place");
        assert_eq!(plural(3, "place", "places"), "3 places");
    }
}
