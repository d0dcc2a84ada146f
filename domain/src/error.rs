use std::fmt;

/// One rejected field: a JSON pointer into the request and a message safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub pointer: String,
    pub detail: String,
}

/// Every problem found in one request, so a form can show them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(pointer: &str, detail: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(pointer, detail);
        errors
    }

    pub fn add(&mut self, pointer: &str, detail: impl Into<String>) {
        self.0.push(FieldError {
            pointer: pointer.to_owned(),
            detail: detail.into(),
        });
    }

    /// Runs a parser and records its error under `pointer`; `None` when it failed.
    pub fn check<T, E: fmt::Display>(&mut self, pointer: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(pointer, error.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Trims and checks a free-text field such as a name.
pub fn parse_name(value: &str, max_chars: usize) -> Result<String, NameError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if trimmed.chars().count() > max_chars {
        return Err(NameError::TooLong(max_chars));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() || is_bidi_control(c))
    {
        return Err(NameError::Control);
    }
    Ok(trimmed.to_owned())
}

/// The bidirectional formatting characters (Unicode's Bidi_Control): they reorder what is
/// shown (U+202E turns `exe.txt` into `txt.exe`) and are refused like control characters.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control or bidirectional formatting characters")]
    Control,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let cases: &[(&str, Result<&str, NameError>)] = &[
            ("  Acme Hosting ", Ok("Acme Hosting")),
            ("", Err(NameError::Empty)),
            ("   ", Err(NameError::Empty)),
            ("a\u{0}b", Err(NameError::Control)),
            ("Acme\u{202E}gnp.exe", Err(NameError::Control)),
            ("a\u{2066}b", Err(NameError::Control)),
            ("a\u{200F}b", Err(NameError::Control)),
            ("a\u{061C}b", Err(NameError::Control)),
            // Joiners are not bidi controls (emoji and some scripts need them).
            ("a\u{200D}b", Ok("a\u{200D}b")),
            ("Ürsula", Ok("Ürsula")),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_name(input, 200).as_deref().map_err(Clone::clone),
                *expected,
                "{input:?}"
            );
        }
        assert_eq!(
            parse_name(&"x".repeat(201), 200),
            Err(NameError::TooLong(200))
        );
    }
}
