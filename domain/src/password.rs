//! Rules for a new password (NIST SP 800-63B rev 4 3.1.1.2, ASVS 6.2): a length counted in
//! code points, no composition rules, no common passwords, nothing taken from the context.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Minimum length where a second factor is not always required.
pub const MIN_CHARS_SINGLE_FACTOR: usize = 15;
/// Minimum length where the provider requires a second factor of everyone.
pub const MIN_CHARS_WITH_MFA: usize = 8;
/// Longest password in bytes: far above 64 code points, low enough that hashing it cannot
/// be used to exhaust the CPU.
pub const MAX_BYTES: usize = 1024;
/// Context words shorter than this are too common inside passwords to be refused.
const MIN_CONTEXT_WORD: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {0} characters long")]
    TooShort(usize),
    #[error("must be at most {MAX_BYTES} bytes long")]
    TooLong,
    #[error("is too common; choose another")]
    Common,
    #[error("must not contain the name of the service or your login")]
    Context,
}

/// Minimum length in code points under the provider's policy.
pub fn min_chars(mfa_required_for_everyone: bool) -> usize {
    if mfa_required_for_everyone {
        MIN_CHARS_WITH_MFA
    } else {
        MIN_CHARS_SINGLE_FACTOR
    }
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

fn fold(value: &str) -> String {
    value
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Checks a password someone chose. `context` holds words an attacker would try first:
/// the provider's name and slug, the login.
pub fn check_new(password: &str, min_chars: usize, context: &[&str]) -> Result<(), PasswordError> {
    if password.len() > MAX_BYTES {
        return Err(PasswordError::TooLong);
    }
    if password.chars().count() < min_chars {
        return Err(PasswordError::TooShort(min_chars));
    }
    if common_passwords().contains(password.to_lowercase().as_str()) {
        return Err(PasswordError::Common);
    }
    let folded = fold(password);
    let hit = context
        .iter()
        .map(|word| fold(word))
        .any(|word| word.chars().count() >= MIN_CONTEXT_WORD && folded.contains(&word));
    if hit {
        return Err(PasswordError::Context);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let context = ["Acme Hosting", "acme-hosting", "anna@example.com"];
        let cases: &[(&str, usize, Result<(), PasswordError>)] = &[
            ("correct horse battery", 15, Ok(())),
            ("short pass", 15, Err(PasswordError::TooShort(15))),
            ("short pass", 8, Ok(())),
            // 15 code points but 30 bytes: length is counted in characters.
            ("äääääääääääääää", 15, Ok(())),
            ("ääääääääääääää", 15, Err(PasswordError::TooShort(15))),
            ("password1234", 8, Err(PasswordError::Common)),
            ("PASSWORD1234", 8, Err(PasswordError::Common)),
            ("my acme hosting pass", 15, Err(PasswordError::Context)),
            ("AcmeHosting-2026!", 8, Err(PasswordError::Context)),
            ("anna@example.com rocks", 15, Err(PasswordError::Context)),
        ];
        for (password, min, expected) in cases {
            assert_eq!(
                check_new(password, *min, &context),
                *expected,
                "{password:?}"
            );
        }
    }

    #[test]
    fn long_passwords_are_allowed_up_to_the_byte_cap() {
        let sixty_four = "word ".repeat(13);
        assert!(check_new(&sixty_four, 15, &[]).is_ok());
        assert!(check_new(&"x".repeat(MAX_BYTES), 15, &[]).is_ok());
        assert_eq!(
            check_new(&"x".repeat(MAX_BYTES + 1), 15, &[]),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn policy_minimums() {
        assert_eq!(min_chars(false), 15);
        assert_eq!(min_chars(true), 8);
    }

    #[test]
    fn short_context_words_are_not_refused() {
        assert!(check_new("a very long passphrase indeed", 15, &["ab", "a"]).is_ok());
    }
}
