//! Where a request came from, for the auth log and the authinfo allowlist.

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderValue};

/// Longest user agent kept in the auth log.
const MAX_USER_AGENT: usize = 512;

#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The peer's address, or the last `X-Forwarded-For` hop when the proxy in front is
    /// trusted (the last hop is the one the proxy added).
    pub fn from_request(req: &HttpRequest, trust_forwarded_for: bool) -> Self {
        let forwarded = trust_forwarded_for
            .then(|| req.headers().get("x-forwarded-for"))
            .flatten()
            .and_then(header_text)
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .and_then(|v| v.parse::<std::net::IpAddr>().ok());
        let ip = forwarded.or_else(|| req.peer_addr().map(|a| a.ip()));
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(header_text)
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        Self {
            ip: ip.map(|ip| ip.to_string()),
            user_agent,
        }
    }

    pub fn ip_addr(&self) -> Option<std::net::IpAddr> {
        self.ip.as_deref().and_then(|ip| ip.parse().ok())
    }
}

/// A header's value as text, if it is visible ASCII and tabs: what `HeaderValue::to_str`
/// accepts. That function looks at one byte at a time; for an access token (about 600
/// bytes) it was the costliest function of a `/me` request of our own (perf, 2.3 % of the
/// server's time). This looks at eight at a time, and at single bytes only when a word has
/// a tab or a byte that is not allowed.
pub fn header_text(value: &HeaderValue) -> Option<&str> {
    let bytes = value.as_bytes();
    let mut words = bytes.chunks_exact(8);
    let plain = words
        .by_ref()
        .fold(true, |plain, word| plain & printable_word(word))
        && words.remainder().iter().all(|&b| visible(b));
    if !plain && !bytes.iter().all(|&b| visible(b)) {
        return None;
    }
    // Only ASCII is left, which is UTF-8.
    std::str::from_utf8(bytes).ok()
}

/// The bytes `HeaderValue::to_str` accepts.
fn visible(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || b == b'\t'
}

/// Whether all eight bytes are in 0x20..0x7f. Each test below is nonzero exactly when some
/// byte fails it (a borrow marks bytes above a failing one, never a word without one).
fn printable_word(word: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let Ok(bytes) = <[u8; 8]>::try_from(word) else {
        return false;
    };
    let w = u64::from_le_bytes(bytes);
    let high = w & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let del = w ^ (ONES * 0x7f);
    let is_del = del.wrapping_sub(ONES) & !del & HIGH;
    high | below_space | is_del == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_accepts_what_to_str_accepts() {
        // Every byte at every position of a value longer than two words, and at its end.
        for len in [1, 7, 8, 9, 17, 24] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                        continue;
                    };
                    assert_eq!(
                        header_text(&value),
                        value.to_str().ok(),
                        "byte {b:#04x} at {at} of {len}"
                    );
                }
            }
        }
        let token = HeaderValue::from_static("Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln\tx");
        assert_eq!(header_text(&token), token.to_str().ok());
        // UTF-8 is not ASCII: refused, as by `to_str`, in a word and in the remainder.
        for text in [
            "Bearer caf\u{e9}",
            "Bearer caf\u{e9}-long-enough-for-a-word",
        ] {
            let value = HeaderValue::from_str(text).unwrap();
            assert_eq!(header_text(&value), None, "{text}");
        }
    }
}
