//! Signing in through OpenID Connect: Google's settings of a provider, the staff identity
//! providers (Keycloak realms) and their role mapping, and the rules a verified identity
//! must pass. Pure: the flow itself (discovery, tokens) lives in the api crate.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ValidationErrors;
use crate::permission::{ProviderScope, Role};

/// Google's issuer, the default of a provider's `google` settings.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// The longest issuer or redirect URI accepted.
const MAX_URL: usize = 2000;

/// At most this many redirect URIs, hosted domains or role mappings.
pub const MAX_ITEMS: usize = 50;

/// A provider's Google settings, stored with its auth methods. The secret is write-only at
/// the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoogleSettings {
    pub issuer: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Google's `hd` must be one of these when not empty.
    pub hosted_domains: Vec<String>,
    /// The frontend's pages the browser may come back to, compared exactly.
    pub redirect_uris: Vec<String>,
}

impl Default for GoogleSettings {
    fn default() -> Self {
        Self {
            issuer: GOOGLE_ISSUER.into(),
            client_id: None,
            client_secret: None,
            hosted_domains: Vec::new(),
            redirect_uris: Vec::new(),
        }
    }
}

impl GoogleSettings {
    /// Complete enough to sign anybody in: a client id and secret and a redirect URI.
    pub fn is_complete(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some() && !self.redirect_uris.is_empty()
    }

    /// Checks the settings at `pointer` (`/google/settings`); `on`: the method is switched
    /// on, so nothing may be missing.
    pub fn validate(&self, pointer: &str, on: bool, errors: &mut ValidationErrors) {
        if let Err(e) = check_issuer(&self.issuer) {
            errors.add(&format!("{pointer}/issuer"), e);
        }
        for (field, value) in [
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
        ] {
            match value {
                None if on => errors.add(
                    &format!("{pointer}/{field}"),
                    "is required to switch the method on",
                ),
                Some(v) if v.trim().is_empty() || v.len() > 1000 => errors.add(
                    &format!("{pointer}/{field}"),
                    "must be 1 to 1000 characters",
                ),
                _ => {}
            }
        }
        check_redirect_uris(
            &self.redirect_uris,
            &format!("{pointer}/redirect_uris"),
            on,
            errors,
        );
        if self.hosted_domains.len() > MAX_ITEMS {
            errors.add(
                &format!("{pointer}/hosted_domains"),
                format!("at most {MAX_ITEMS}"),
            );
        }
        for (i, domain) in self.hosted_domains.iter().enumerate() {
            let ok = (1..=253).contains(&domain.len())
                && domain.contains('.')
                && domain
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !ok {
                errors.add(
                    &format!("{pointer}/hosted_domains/{i}"),
                    "must be a lower-case domain name",
                );
            }
        }
    }

    /// Google's `hd`: any when no domain is listed, else one of them.
    pub fn allows_hosted_domain(&self, hd: Option<&str>) -> bool {
        self.hosted_domains.is_empty()
            || hd.is_some_and(|hd| self.hosted_domains.iter().any(|d| d == hd))
    }
}

/// An issuer: `https://…`, or plain http on the loopback (tests, a local Keycloak).
pub fn check_issuer(issuer: &str) -> Result<(), &'static str> {
    if issuer.len() > MAX_URL || issuer.contains(['#', '?', ' ']) {
        return Err("must be an https URL without query or fragment");
    }
    if issuer.starts_with("https://") && issuer.len() > "https://".len() {
        return Ok(());
    }
    if is_loopback_http(issuer) {
        return Ok(());
    }
    Err("must be an https URL (plain http only on 127.0.0.1, [::1] or localhost)")
}

fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

/// Redirect URIs: absolute, no fragment, https (http on loopback only); one at least when
/// `required`.
pub fn check_redirect_uris(
    uris: &[String],
    pointer: &str,
    required: bool,
    errors: &mut ValidationErrors,
) {
    if required && uris.is_empty() {
        errors.add(pointer, "at least one is required to switch the method on");
    }
    if uris.len() > MAX_ITEMS {
        errors.add(pointer, format!("at most {MAX_ITEMS}"));
    }
    for (i, uri) in uris.iter().enumerate() {
        let ok = uri.len() <= MAX_URL
            && !uri.contains(['#', ' '])
            && ((uri.starts_with("https://") && uri.len() > "https://".len())
                || is_loopback_http(uri));
        if !ok {
            errors.add(
                &format!("{pointer}/{i}"),
                "must be an absolute https URL without fragment (http only on the loopback)",
            );
        }
    }
}

/// A provider's `keycloak` settings: which staff identity providers (realms) give employees
/// roles for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeycloakSettings {
    /// Empty: every staff identity provider.
    pub staff_identity_provider_ids: Vec<Uuid>,
}

impl KeycloakSettings {
    pub fn allows(&self, idp: Uuid) -> bool {
        self.staff_identity_provider_ids.is_empty()
            || self.staff_identity_provider_ids.contains(&idp)
    }

    pub fn validate(&self, pointer: &str, errors: &mut ValidationErrors) {
        if self.staff_identity_provider_ids.len() > MAX_ITEMS {
            errors.add(
                &format!("{pointer}/staff_identity_provider_ids"),
                format!("at most {MAX_ITEMS}"),
            );
        }
    }
}

/// The grants of a login through the staff identity provider `idp`, less the providers whose
/// `keycloak` settings leave `idp` out (`providers`: every provider with its settings).
/// `None` when no provider is left: the login gives no access at all.
///
/// When no provider restricts, the grants stay as mapped (a scope of every provider stays
/// that). When one does, a scope of every provider becomes the providers that allow `idp`
/// as they are at this login: a provider created later is reached from the next login.
pub fn restrict_to_allowing_providers(
    grants: MappedGrants,
    idp: Uuid,
    providers: &[(Uuid, KeycloakSettings)],
) -> Option<MappedGrants> {
    let (roles, scope) = grants;
    if providers.iter().all(|(_, s)| s.allows(idp)) {
        return Some((roles, scope));
    }
    let allowed = providers
        .iter()
        .filter(|(id, s)| s.allows(idp) && scope.allows(id))
        .map(|(id, _)| *id);
    let ids: Vec<Uuid> = allowed.collect();
    if ids.is_empty() {
        return None;
    }
    Some((roles, ProviderScope::Only(ids)))
}

/// The employee roles a login gives, and the providers they apply to.
pub type MappedGrants = (Vec<Role>, ProviderScope<Uuid>);

/// One line of a staff identity provider's role mapping: a Keycloak realm role (`name`) or
/// client role (`client:name`) gives an employee role, for every provider or only some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleMapping {
    pub claim: String,
    pub role: Role,
    /// `None`: every provider.
    pub providers: Option<Vec<Uuid>>,
}

/// A Keycloak realm (or any OpenID Connect provider) that signs employees in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffIdentityProvider {
    pub id: Uuid,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub role_mappings: Vec<RoleMapping>,
    pub enabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The realm's `amr`/`acr` counts as a second factor (`mfa::idp_proves_second_factor`):
    /// employees vouched for by it are asked no challenge and pass admin enforcement. On the
    /// realm, not on a provider, because an employee signs in once for every provider.
    pub accept_idp_mfa: bool,
    /// `acr` values that count as a second factor when `accept_idp_mfa` is on.
    pub idp_mfa_acr_values: Vec<String>,
}

impl StaffIdentityProvider {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Err(e) = check_issuer(&self.issuer) {
            errors.add("/issuer", e);
        }
        for (field, value) in [
            ("/name", &self.name),
            ("/client_id", &self.client_id),
            ("/client_secret", &self.client_secret),
        ] {
            if value.trim().is_empty() || value.len() > 1000 {
                errors.add(field, "must be 1 to 1000 characters");
            }
        }
        check_redirect_uris(&self.redirect_uris, "/redirect_uris", true, &mut errors);
        crate::policy::check_acr_values(
            &self.idp_mfa_acr_values,
            "/idp_mfa_acr_values",
            &mut errors,
        );
        if self.role_mappings.len() > MAX_ITEMS {
            errors.add("/role_mappings", format!("at most {MAX_ITEMS}"));
        }
        for (i, m) in self.role_mappings.iter().enumerate() {
            if m.claim.trim().is_empty() || m.claim.len() > 255 {
                errors.add(
                    &format!("/role_mappings/{i}/claim"),
                    "must be 1 to 255 characters",
                );
            }
            if m.providers.as_ref().is_some_and(|p| p.is_empty()) {
                errors.add(
                    &format!("/role_mappings/{i}/providers"),
                    "must name a provider, or be null for every provider",
                );
            }
        }
        errors.into_result()
    }

    /// The employee roles the identity provider's roles map to, and the providers they
    /// apply to; `None` when no mapping matches (no access at all).
    ///
    /// An employee has one provider scope for all roles: it is the union of the matching
    /// mappings' providers (every provider when one matching mapping has no limit).
    pub fn map_roles(&self, idp_roles: &[String]) -> Option<MappedGrants> {
        let matching: Vec<&RoleMapping> = self
            .role_mappings
            .iter()
            .filter(|m| idp_roles.contains(&m.claim))
            .collect();
        if matching.is_empty() {
            return None;
        }
        let roles: BTreeSet<Role> = matching.iter().map(|m| m.role).collect();
        let scope = if matching.iter().any(|m| m.providers.is_none()) {
            ProviderScope::All
        } else {
            let ids: BTreeSet<Uuid> = matching
                .iter()
                .flat_map(|m| m.providers.iter().flatten().copied())
                .collect();
            ProviderScope::Only(ids.into_iter().collect())
        };
        Some((roles.into_iter().collect(), scope))
    }
}

/// The e-mail an identity provider vouches for: only a verified one is used at all.
pub fn usable_email(email: Option<&str>, verified: bool) -> Option<&str> {
    email.filter(|_| verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idp(mappings: Vec<RoleMapping>) -> StaffIdentityProvider {
        StaffIdentityProvider {
            id: Uuid::nil(),
            name: "staff".into(),
            issuer: "https://sso.example/realms/staff".into(),
            client_id: "billing".into(),
            client_secret: "s".into(),
            redirect_uris: vec!["https://admin.example/cb".into()],
            role_mappings: mappings,
            enabled: true,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            accept_idp_mfa: false,
            idp_mfa_acr_values: Vec::new(),
        }
    }

    #[test]
    fn providers_restrict_which_staff_realms_give_roles_for_them() {
        let (realm, other) = (Uuid::from_u128(100), Uuid::from_u128(200));
        let [a, b, c] = [1, 2, 3].map(Uuid::from_u128);
        let open = KeycloakSettings::default();
        let only = |ids: &[Uuid]| KeycloakSettings {
            staff_identity_provider_ids: ids.to_vec(),
        };
        let roles = vec![Role::Support];
        let all = ProviderScope::All;
        type Case = (
            ProviderScope<Uuid>,
            Vec<(Uuid, KeycloakSettings)>,
            Option<ProviderScope<Uuid>>,
        );
        let cases: Vec<Case> = vec![
            // Nobody restricts: as mapped, every provider included.
            (
                all.clone(),
                vec![(a, open.clone()), (b, only(&[realm]))],
                Some(ProviderScope::All),
            ),
            (all.clone(), vec![], Some(ProviderScope::All)),
            // b takes only the other realm: every provider becomes the ones that allow.
            (
                all.clone(),
                vec![
                    (a, open.clone()),
                    (b, only(&[other])),
                    (c, only(&[realm, other])),
                ],
                Some(ProviderScope::Only(vec![a, c])),
            ),
            // A mapping limited to some providers keeps only those that allow.
            (
                ProviderScope::Only(vec![b, c]),
                vec![(a, open.clone()), (b, only(&[other])), (c, open.clone())],
                Some(ProviderScope::Only(vec![c])),
            ),
            // Nothing left: no access.
            (
                ProviderScope::Only(vec![b]),
                vec![(a, open.clone()), (b, only(&[other]))],
                None,
            ),
            (all.clone(), vec![(a, only(&[other]))], None),
        ];
        for (i, (scope, providers, expected)) in cases.into_iter().enumerate() {
            let got = restrict_to_allowing_providers((roles.clone(), scope), realm, &providers);
            assert_eq!(got.map(|(_, s)| s), expected, "case {i}");
        }
        assert!(
            open.allows(realm) && only(&[realm]).allows(realm) && !only(&[other]).allows(realm)
        );
    }

    fn map(claim: &str, role: Role, providers: Option<Vec<Uuid>>) -> RoleMapping {
        RoleMapping {
            claim: claim.into(),
            role,
            providers,
        }
    }

    #[test]
    fn role_mapping() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let idp = idp(vec![
            map("billing-support", Role::Support, None),
            map("billing:dpo", Role::Dpo, Some(vec![a])),
            map("billing:accounts", Role::Billing, Some(vec![b])),
        ]);
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: Vec<(Vec<String>, Option<MappedGrants>)> = vec![
            (s(&[]), None),
            (s(&["offline_access", "dpo"]), None),
            (
                s(&["billing-support"]),
                Some((vec![Role::Support], ProviderScope::All)),
            ),
            (
                s(&["billing:dpo", "billing-support"]),
                Some((vec![Role::Support, Role::Dpo], ProviderScope::All)),
            ),
            (
                s(&["billing:dpo"]),
                Some((vec![Role::Dpo], ProviderScope::Only(vec![a]))),
            ),
            (
                s(&["billing:dpo", "billing:accounts"]),
                Some((
                    vec![Role::Billing, Role::Dpo],
                    ProviderScope::Only(vec![a, b]),
                )),
            ),
        ];
        for (roles, expected) in cases {
            assert_eq!(idp.map_roles(&roles), expected, "{roles:?}");
        }
    }

    #[test]
    fn issuers_and_redirects() {
        let cases: &[(&str, bool)] = &[
            ("https://accounts.google.com", true),
            ("http://127.0.0.1:8080/realms/x", true),
            ("http://localhost:8080", true),
            ("http://[::1]:1", true),
            ("http://sso.example", false),
            ("http://127.0.0.1.evil.example", false),
            ("https://", false),
            ("https://a.example/#x", false),
            ("ftp://a.example", false),
        ];
        for (issuer, ok) in cases {
            assert_eq!(check_issuer(issuer).is_ok(), *ok, "{issuer}");
            let mut errors = ValidationErrors::new();
            check_redirect_uris(&[issuer.to_string()], "/r", true, &mut errors);
            assert_eq!(errors.into_result().is_ok(), *ok, "{issuer}");
        }
    }

    #[test]
    fn google_settings_needed_to_switch_on() {
        let mut errors = ValidationErrors::new();
        GoogleSettings::default().validate("/google/settings", true, &mut errors);
        let pointers: Vec<String> = errors.0.iter().map(|e| e.pointer.clone()).collect();
        assert_eq!(
            pointers,
            [
                "/google/settings/client_id",
                "/google/settings/client_secret",
                "/google/settings/redirect_uris"
            ]
        );
        let mut errors = ValidationErrors::new();
        GoogleSettings::default().validate("/google/settings", false, &mut errors);
        assert!(errors.into_result().is_ok(), "off: nothing is required");
    }

    #[test]
    fn hosted_domains_and_emails() {
        let mut settings = GoogleSettings::default();
        assert!(settings.allows_hosted_domain(None));
        settings.hosted_domains = vec!["example.com".into()];
        assert!(settings.allows_hosted_domain(Some("example.com")));
        assert!(!settings.allows_hosted_domain(Some("evil.example")));
        assert!(!settings.allows_hosted_domain(None));
        assert_eq!(usable_email(Some("a@b.c"), true), Some("a@b.c"));
        assert_eq!(usable_email(Some("a@b.c"), false), None);
    }
}
