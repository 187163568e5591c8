//! "Did you mean": the closest known name to a misspelt one.

/// The candidate closest to `name`, if one is close enough to be a likely typo.
pub fn did_you_mean(name: &str, candidates: impl IntoIterator<Item = String>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| c != name)
        .map(|c| {
            let d = if c.to_lowercase() == lower {
                0
            } else {
                strsim::osa_distance(&lower, &c.to_lowercase())
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let names = || ["normalize", "summarize", "load"].map(String::from);
        assert_eq!(
            did_you_mean("normalise", names()).as_deref(),
            Some("normalize")
        );
        assert_eq!(did_you_mean("Load", names()).as_deref(), Some("load"));
        assert_eq!(did_you_mean("xyz", names()), None);
        assert_eq!(did_you_mean("laod", names()).as_deref(), Some("load"));
    }
}
