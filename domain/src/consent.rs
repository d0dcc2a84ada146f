//! Consent documents and records (GDPR Art. 7): a document per provider and purpose, its
//! versions (each with an effective time and the SHA-256 of its text), and the append-only
//! decisions of users on versions. The rule here says which must-agree documents a user has
//! to (re-)accept: those whose version in force is not the one the user last agreed to.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::provider::text_enum;
use crate::secret::hash_secret;

text_enum!(
    /// A user's decision on one version of a document.
    Decision { Agree = "agree", Withdraw = "withdraw" }
);

text_enum!(
    /// How a decision was given: the registration form, the API (`/me/consents`), a
    /// registration through Google, or the re-consent step of a sign-in.
    ConsentMethod {
        Registration = "registration",
        Api = "api",
        GoogleRegistration = "google_registration",
        AfterLogin = "after_login",
    }
);

/// The purpose of a document: one of the four known ones, or `custom:<slug>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsentKind {
    PrivacyPolicy,
    UserAgreement,
    MarketingEmail,
    MarketingSms,
    Custom(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error(
        "must be privacy_policy, user_agreement, marketing_email, marketing_sms or custom:<slug> (a-z, 0-9, _ and -, at most 50)"
    )]
    Kind,
    #[error("needs at least one title, keyed by a language tag such as en or de-CH")]
    NoTitle,
    #[error("is not a language tag such as en or de-CH")]
    Language,
    #[error("a title must be 1 to 500 characters")]
    Title,
    #[error("needs a url, a text or both")]
    NoContent,
    #[error("must be an https:// (or http://) URL of at most 2000 characters")]
    Url,
    #[error("must be at most 200000 characters")]
    TextTooLong,
}

impl ConsentKind {
    pub fn parse(value: &str) -> Result<Self, ConsentError> {
        Ok(match value {
            "privacy_policy" => Self::PrivacyPolicy,
            "user_agreement" => Self::UserAgreement,
            "marketing_email" => Self::MarketingEmail,
            "marketing_sms" => Self::MarketingSms,
            other => {
                let slug = other.strip_prefix("custom:").ok_or(ConsentError::Kind)?;
                let ok = !slug.is_empty()
                    && slug.len() <= 50
                    && slug.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b)
                    });
                if !ok {
                    return Err(ConsentError::Kind);
                }
                Self::Custom(slug.to_owned())
            }
        })
    }

    pub fn as_string(&self) -> String {
        match self {
            Self::PrivacyPolicy => "privacy_policy".into(),
            Self::UserAgreement => "user_agreement".into(),
            Self::MarketingEmail => "marketing_email".into(),
            Self::MarketingSms => "marketing_sms".into(),
            Self::Custom(slug) => format!("custom:{slug}"),
        }
    }
}

/// A document's titles, by language tag (`en`, `de-CH`).
pub type Titles = BTreeMap<String, String>;

/// Checks titles: at least one, tags of letters and `-`, each title 1–500 characters.
pub fn parse_titles(titles: &Titles) -> Result<Titles, ConsentError> {
    if titles.is_empty() {
        return Err(ConsentError::NoTitle);
    }
    let mut out = Titles::new();
    for (lang, title) in titles {
        let tag_ok = (2..=20).contains(&lang.len())
            && lang.split('-').all(|part| {
                !part.is_empty()
                    && part.len() <= 8
                    && part.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            && lang.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
        if !tag_ok {
            return Err(ConsentError::Language);
        }
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 500 {
            return Err(ConsentError::Title);
        }
        out.insert(lang.clone(), title.to_owned());
    }
    Ok(out)
}

/// What a version holds: a URL, a text, or both (the hash covers the text, or the URL
/// where there is no text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionContent {
    pub url: Option<String>,
    pub text: Option<String>,
}

impl VersionContent {
    pub fn parse(url: Option<&str>, text: Option<&str>) -> Result<Self, ConsentError> {
        let url = url.map(str::trim).filter(|u| !u.is_empty());
        let text = text.filter(|t| !t.trim().is_empty());
        if url.is_none() && text.is_none() {
            return Err(ConsentError::NoContent);
        }
        if let Some(u) = url
            && (u.len() > 2000
                || !(u.starts_with("https://") || u.starts_with("http://"))
                || u.chars().any(char::is_whitespace))
        {
            return Err(ConsentError::Url);
        }
        if text.is_some_and(|t| t.chars().count() > 200_000) {
            return Err(ConsentError::TextTooLong);
        }
        Ok(Self {
            url: url.map(str::to_owned),
            text: text.map(str::to_owned),
        })
    }

    /// SHA-256 (hex) of the text, or of the URL where the version has no text of its own.
    pub fn hash(&self) -> String {
        hash_secret(self.text.as_deref().or(self.url.as_deref()).unwrap_or(""))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConsentDocument {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub kind: ConsentKind,
    pub titles: Titles,
    pub must_agree: bool,
    pub show_on_registration: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The row's version, for `If-Match`; not a document version.
    pub version: i64,
}

/// One published version of a document; never changed once published.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentVersion {
    pub id: Uuid,
    pub document_id: Uuid,
    /// 1, 2, 3… per document.
    pub number: i64,
    pub content: VersionContent,
    pub text_hash: String,
    pub effective_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// One decision of a user on one version; append-only.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider_id: Uuid,
    pub document_id: Uuid,
    pub document_version_id: Uuid,
    pub version_number: i64,
    pub text_hash: String,
    pub decision: Decision,
    pub method: ConsentMethod,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The version in force at `now`: the highest number whose effective time has come.
pub fn version_in_force(
    versions: &[DocumentVersion],
    now: DateTime<Utc>,
) -> Option<&DocumentVersion> {
    versions
        .iter()
        .filter(|v| v.effective_at <= now)
        .max_by_key(|v| v.number)
}

/// A user's last decision on a document (records in any order; the latest by time, then id).
pub fn last_decision(history: &[ConsentRecord], document_id: Uuid) -> Option<&ConsentRecord> {
    history
        .iter()
        .filter(|r| r.document_id == document_id)
        .max_by_key(|r| (r.created_at, r.id))
}

/// Is consent due for a must-agree document whose version `in_force` is in force, given
/// the user's last decision on it (decision, version number)? An agreement to that
/// version or a later one (accepted before it took effect) counts; a withdrawal never does.
pub fn consent_due(in_force: Option<i64>, last: Option<(Decision, i64)>) -> bool {
    match (in_force, last) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(_), Some((Decision::Withdraw, _))) => true,
        (Some(current), Some((Decision::Agree, agreed))) => agreed < current,
    }
}

/// The must-agree documents (with their version in force) that a user has to accept before
/// a session starts, in the order given.
pub fn missing_consents<'a>(
    documents: &'a [(ConsentDocument, Vec<DocumentVersion>)],
    history: &[ConsentRecord],
    now: DateTime<Utc>,
) -> Vec<(&'a ConsentDocument, &'a DocumentVersion)> {
    documents
        .iter()
        .filter(|(doc, _)| doc.must_agree)
        .filter_map(|(doc, versions)| {
            let current = version_in_force(versions, now)?;
            let last = last_decision(history, doc.id).map(|r| (r.decision, r.version_number));
            consent_due(Some(current.number), last).then_some((doc, current))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn kinds() {
        for (text, ok) in [
            ("privacy_policy", true),
            ("user_agreement", true),
            ("marketing_email", true),
            ("marketing_sms", true),
            ("custom:cookies-v2", true),
            ("custom:", false),
            ("custom:Caps", false),
            ("custom:a b", false),
            ("other", false),
            ("", false),
        ] {
            let parsed = ConsentKind::parse(text);
            assert_eq!(parsed.is_ok(), ok, "{text}");
            if let Ok(kind) = parsed {
                assert_eq!(kind.as_string(), text);
            }
        }
    }

    #[test]
    fn titles() {
        let t = |pairs: &[(&str, &str)]| -> Titles {
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        assert_eq!(parse_titles(&t(&[])), Err(ConsentError::NoTitle));
        assert!(parse_titles(&t(&[("en", "Privacy"), ("de-CH", "Datenschutz")])).is_ok());
        assert_eq!(
            parse_titles(&t(&[("e n", "x")])),
            Err(ConsentError::Language)
        );
        assert_eq!(
            parse_titles(&t(&[("1x", "x")])),
            Err(ConsentError::Language)
        );
        assert_eq!(parse_titles(&t(&[("en", "  ")])), Err(ConsentError::Title));
    }

    #[test]
    fn content_and_hash() {
        assert_eq!(
            VersionContent::parse(None, None),
            Err(ConsentError::NoContent)
        );
        assert_eq!(
            VersionContent::parse(Some(" "), Some("")),
            Err(ConsentError::NoContent)
        );
        assert_eq!(
            VersionContent::parse(Some("ftp://x"), None),
            Err(ConsentError::Url)
        );
        let c = VersionContent::parse(Some("https://a.example/p"), Some("Text")).unwrap();
        assert_eq!(c.hash(), hash_secret("Text"));
        let c = VersionContent::parse(Some("https://a.example/p"), None).unwrap();
        assert_eq!(c.hash(), hash_secret("https://a.example/p"));
    }

    #[test]
    fn when_consent_is_due() {
        use Decision::{Agree, Withdraw};
        type Last = Option<(Decision, i64)>;
        let cases: &[(Option<i64>, Last, bool)] = &[
            (None, None, false),
            (None, Some((Withdraw, 1)), false),
            (Some(1), None, true),
            (Some(1), Some((Agree, 1)), false),
            (Some(2), Some((Agree, 1)), true),
            (Some(1), Some((Agree, 2)), false),
            (Some(1), Some((Withdraw, 1)), true),
            (Some(2), Some((Withdraw, 2)), true),
        ];
        for (in_force, last, due) in cases {
            assert_eq!(consent_due(*in_force, *last), *due, "{in_force:?} {last:?}");
        }
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn doc(n: u128, must_agree: bool) -> ConsentDocument {
        ConsentDocument {
            id: Uuid::from_u128(n),
            provider_id: Uuid::nil(),
            kind: ConsentKind::PrivacyPolicy,
            titles: Titles::new(),
            must_agree,
            show_on_registration: true,
            created_at: at(0),
            updated_at: at(0),
            version: 1,
        }
    }

    fn version(doc: u128, number: i64, effective: i64) -> DocumentVersion {
        DocumentVersion {
            id: Uuid::from_u128(doc * 100 + number as u128),
            document_id: Uuid::from_u128(doc),
            number,
            content: VersionContent {
                url: None,
                text: Some(format!("v{number}")),
            },
            text_hash: String::new(),
            effective_at: at(effective),
            created_at: at(0),
        }
    }

    fn record(doc: u128, number: i64, decision: Decision, when: i64) -> ConsentRecord {
        ConsentRecord {
            id: Uuid::from_u128(when as u128 + 1000),
            user_id: Uuid::nil(),
            provider_id: Uuid::nil(),
            document_id: Uuid::from_u128(doc),
            document_version_id: Uuid::from_u128(doc * 100 + number as u128),
            version_number: number,
            text_hash: String::new(),
            decision,
            method: ConsentMethod::Api,
            ip: None,
            user_agent: None,
            created_at: at(when),
        }
    }

    /// Document versions × consent history → which must-agree documents need consent (by
    /// document and version number), at minute 100.
    #[test]
    fn document_versions_by_history() {
        use Decision::{Agree, Withdraw};
        let now = 100;
        type Case = (
            Vec<(u128, bool, Vec<(i64, i64)>)>,
            Vec<(u128, i64, Decision, i64)>,
            Vec<(u128, i64)>,
        );
        let cases: Vec<Case> = vec![
            // No history: each must-agree document with a version in force.
            (
                vec![(1, true, vec![(1, 0)]), (2, false, vec![(1, 0)])],
                vec![],
                vec![(1, 1)],
            ),
            // Agreed to the version in force.
            (
                vec![(1, true, vec![(1, 0)])],
                vec![(1, 1, Agree, 5)],
                vec![],
            ),
            // A new version took effect: re-consent.
            (
                vec![(1, true, vec![(1, 0), (2, 50)])],
                vec![(1, 1, Agree, 5)],
                vec![(1, 2)],
            ),
            // A new version not yet in force: nothing due yet.
            (
                vec![(1, true, vec![(1, 0), (2, 150)])],
                vec![(1, 1, Agree, 5)],
                vec![],
            ),
            // Withdrawn after agreeing: due again.
            (
                vec![(1, true, vec![(1, 0)])],
                vec![(1, 1, Agree, 5), (1, 1, Withdraw, 6)],
                vec![(1, 1)],
            ),
            // Agreed again after withdrawing.
            (
                vec![(1, true, vec![(1, 0)])],
                vec![(1, 1, Agree, 5), (1, 1, Withdraw, 6), (1, 1, Agree, 7)],
                vec![],
            ),
            // No version in force at all: nothing to accept.
            (vec![(1, true, vec![(1, 150)])], vec![], vec![]),
            // History of another document does not count.
            (
                vec![(1, true, vec![(1, 0)])],
                vec![(2, 1, Agree, 5)],
                vec![(1, 1)],
            ),
            // Optional documents are never due, even withdrawn.
            (
                vec![(1, false, vec![(1, 0)])],
                vec![(1, 1, Withdraw, 5)],
                vec![],
            ),
        ];
        for (i, (docs, history, due)) in cases.into_iter().enumerate() {
            let documents: Vec<_> = docs
                .into_iter()
                .map(|(d, must, versions)| {
                    (
                        doc(d, must),
                        versions
                            .into_iter()
                            .map(|(n, e)| version(d, n, e))
                            .collect(),
                    )
                })
                .collect();
            let history: Vec<_> = history
                .into_iter()
                .map(|(d, n, decision, when)| record(d, n, decision, when))
                .collect();
            let got: Vec<(u128, i64)> = missing_consents(&documents, &history, at(now))
                .into_iter()
                .map(|(d, v)| (d.id.as_u128(), v.number))
                .collect();
            assert_eq!(got, due, "case {i}");
        }
    }
}
