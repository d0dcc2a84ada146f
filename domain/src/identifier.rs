//! The one normalisation of every identifier a person types to sign in (an e-mail, an
//! employee's login): the account lookup and the failure budget's key both use it, so no
//! spelling can reach one and miss the other.
//!
//! Only ASCII letters are folded. Unicode case folding would map look-alikes onto ASCII
//! (the Kelvin sign U+212A lower-cases to `k`), while the parsers accept ASCII only: a
//! spelling with such a character stays itself, matches no account and has a budget of its
//! own.

/// Trims surrounding white space and lower-cases ASCII letters; nothing else changes.
pub fn normalize(value: &str) -> String {
    value.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_table() {
        let cases: &[(&str, &str)] = &[
            (" Anna@Example.COM ", "anna@example.com"),
            ("Admin", "admin"),
            // The Kelvin sign and the fullwidth A are not ASCII: left as they are.
            ("\u{212A}admin", "\u{212A}admin"),
            ("\u{FF21}NNA", "\u{FF21}nna"),
            ("ÄRGER", "Ärger"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input), *expected, "{input:?}");
        }
    }
}
