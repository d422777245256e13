//! Phrase matching: case-insensitive and Unicode-aware (Polish, Russian, …).

/// Text folded for matching: lower-cased with full Unicode case mapping and with runs of
/// whitespace collapsed to one space, so `"ZAMÓWIENIE  nr"` matches the phrase `"zamówienie nr"`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Whether `text` contains `phrase`, ignoring case and extra whitespace.
pub fn contains(text: &str, phrase: &str) -> bool {
    fold(text).contains(&fold(phrase))
}

/// Phrases folded once, matched against many texts.
#[derive(Debug, Clone)]
pub struct Phrases(Vec<String>);

impl Phrases {
    /// Fold the phrases; empty phrases are dropped.
    pub fn new<S: AsRef<str>>(phrases: &[S]) -> Self {
        Phrases(
            phrases
                .iter()
                .map(|p| fold(p.as_ref()))
                .filter(|p| !p.is_empty())
                .collect(),
        )
    }

    /// Whether any phrase occurs in `text`.
    pub fn any_in(&self, text: &str) -> bool {
        let text = fold(text);
        self.0.iter().any(|p| text.contains(p.as_str()))
    }

    /// Whether every phrase occurs in `text` (false when there are none).
    pub fn all_in(&self, text: &str) -> bool {
        let text = fold(text);
        !self.0.is_empty() && self.0.iter().all(|p| text.contains(p.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_across_case_in_polish_and_russian() {
        assert!(contains("ZWROT TOWARU – ŻÓŁW", "żółw"));
        assert!(contains("Возврат ТОВАРА", "возврат товара"));
        assert!(contains("ПРИВЕТ, Ёжик", "ёжик"));
        assert!(!contains("reklamacja", "zwrot"));
    }

    #[test]
    fn whitespace_runs_do_not_break_a_phrase() {
        assert!(contains(
            "Numer\t zamówienia:\n 123",
            "numer zamówienia: 123"
        ));
    }

    #[test]
    fn any_and_all() {
        let p = Phrases::new(&["zwrot", "REKLAMACJA"]);
        assert!(p.any_in("Reklamacja butów"));
        assert!(!p.all_in("Reklamacja butów"));
        assert!(p.all_in("Zwrot i reklamacja"));
        assert!(!Phrases::new::<&str>(&[]).all_in("x"));
        assert!(
            !Phrases::new(&[""]).any_in("x"),
            "an empty phrase matches nothing"
        );
    }
}
