//! "Methods of registration and authorization" of one provider: for each method, whether it
//! is on for registration and for login, and its settings.

use serde::{Deserialize, Serialize};

use crate::ValidationErrors;
use crate::oidc::{GoogleSettings, KeycloakSettings};
use crate::provider::text_enum;

text_enum!(
    /// A way to register or to sign in.
    AuthMethod {
        Password = "password",
        TemporaryKey = "temporary_key",
        Phone = "phone",
        Google = "google",
        Keycloak = "keycloak",
        ApiToken = "api_token",
        Authinfo = "authinfo",
    }
);

impl AuthMethod {
    /// A credential sent with every request (an API token, authinfo): nothing a login form
    /// offers.
    pub fn is_header_credential(self) -> bool {
        matches!(self, AuthMethod::ApiToken | AuthMethod::Authinfo)
    }

    /// Methods that can create a client. The others only sign in existing people.
    pub fn allows_registration(self) -> bool {
        matches!(
            self,
            AuthMethod::Password | AuthMethod::Phone | AuthMethod::Google
        )
    }
}

// The types below are stored as JSON in the providers row, so reading them must survive
// both directions of a version change: a field missing from a row written before the field
// existed takes the value a new provider gets (`#[serde(default)]` on the container fills
// each missing field from `Default`), and a field unknown here (a row written by a newer
// version, then a rollback) is ignored. Request bodies that must refuse typos are the
// API's own types.

/// Settings of a method that has none (yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoSettings {}

/// The switches of one method and its settings of type `S`. A missing switch is off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, bound(deserialize = "S: Deserialize<'de> + Default"))]
pub struct MethodConfig<S> {
    pub registration: bool,
    pub login: bool,
    pub settings: S,
}

impl<S> MethodConfig<S> {
    fn switches(&self) -> (bool, bool) {
        (self.registration, self.login)
    }
}

/// One provider's form. Each method has a field of its own so that later methods can give
/// their settings a type (phone gateways, Google and Keycloak clients) without a migration.
/// A method missing from stored JSON takes its setting for a new provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthMethods {
    pub password: MethodConfig<NoSettings>,
    pub temporary_key: MethodConfig<NoSettings>,
    pub phone: MethodConfig<NoSettings>,
    pub google: MethodConfig<GoogleSettings>,
    pub keycloak: MethodConfig<KeycloakSettings>,
    pub api_token: MethodConfig<NoSettings>,
    pub authinfo: MethodConfig<NoSettings>,
}

impl Default for AuthMethods {
    /// A new provider: password registration and login, one-time keys and API tokens on;
    /// methods that need a third party, and the legacy `authinfo`, off.
    fn default() -> Self {
        let on = |registration| MethodConfig {
            registration,
            login: true,
            settings: NoSettings {},
        };
        Self {
            password: on(true),
            temporary_key: on(false),
            phone: MethodConfig::default(),
            google: MethodConfig::default(),
            keycloak: MethodConfig::default(),
            api_token: on(false),
            authinfo: MethodConfig::default(),
        }
    }
}

impl AuthMethods {
    fn switches(&self, method: AuthMethod) -> (bool, bool) {
        match method {
            AuthMethod::Password => self.password.switches(),
            AuthMethod::TemporaryKey => self.temporary_key.switches(),
            AuthMethod::Phone => self.phone.switches(),
            AuthMethod::Google => self.google.switches(),
            AuthMethod::Keycloak => self.keycloak.switches(),
            AuthMethod::ApiToken => self.api_token.switches(),
            AuthMethod::Authinfo => self.authinfo.switches(),
        }
    }

    pub fn login_enabled(&self, method: AuthMethod) -> bool {
        self.switches(method).1
    }

    pub fn registration_enabled(&self, method: AuthMethod) -> bool {
        self.switches(method).0
    }

    /// Registration through a method that only signs people in is refused, rather than
    /// stored and ignored; a method that needs settings cannot be on without them.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for method in AuthMethod::ALL {
            if self.registration_enabled(*method) && !method.allows_registration() {
                errors.add(
                    &format!("/{}/registration", method.as_str()),
                    format!("{method} cannot register clients"),
                );
            }
        }
        let google_on = self.google.login || self.google.registration;
        self.google
            .settings
            .validate("/google/settings", google_on, &mut errors);
        // Empty (every staff realm) is a complete setting: keycloak turns on without any.
        self.keycloak
            .settings
            .validate("/keycloak/settings", &mut errors);
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_api_tokens_and_authinfo_are_header_credentials() {
        for method in AuthMethod::ALL {
            let expected = matches!(method.as_str(), "api_token" | "authinfo");
            assert_eq!(method.is_header_credential(), expected, "{method}");
        }
    }

    #[test]
    fn defaults() {
        let methods = AuthMethods::default();
        let cases: &[(AuthMethod, bool, bool)] = &[
            (AuthMethod::Password, true, true),
            (AuthMethod::TemporaryKey, false, true),
            (AuthMethod::Phone, false, false),
            (AuthMethod::Google, false, false),
            (AuthMethod::Keycloak, false, false),
            (AuthMethod::ApiToken, false, true),
            (AuthMethod::Authinfo, false, false),
        ];
        for (method, registration, login) in cases {
            assert_eq!(
                methods.registration_enabled(*method),
                *registration,
                "{method}"
            );
            assert_eq!(methods.login_enabled(*method), *login, "{method}");
        }
        assert!(methods.validate().is_ok());
    }

    #[test]
    fn registration_only_where_it_makes_sense() {
        let mut methods = AuthMethods::default();
        methods.authinfo.registration = true;
        methods.api_token.registration = true;
        let errors = methods.validate().unwrap_err();
        let pointers: Vec<&str> = errors.0.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/api_token/registration", "/authinfo/registration"]
        );
    }

    #[test]
    fn unknown_fields_are_ignored() {
        // A row written by a newer version: a method, a switch and a setting unknown here.
        let mut json = serde_json::to_value(AuthMethods::default()).unwrap();
        json["password"]["loginn"] = true.into();
        json["phone"]["settings"]["gateway"] = "sms.example".into();
        json["passkey"] = serde_json::json!({ "registration": true, "login": true });
        let methods: AuthMethods = serde_json::from_value(json).unwrap();
        assert_eq!(methods, AuthMethods::default());
    }

    #[test]
    fn missing_fields_take_the_defaults_of_a_new_provider() {
        // As a version without `authinfo` and without `settings` wrote it.
        let json = r#"{
            "password": {"registration": true, "login": true},
            "temporary_key": {"registration": false, "login": false},
            "phone": {"registration": false, "login": false},
            "google": {"registration": false, "login": false},
            "keycloak": {"registration": false, "login": false},
            "api_token": {"registration": false}
        }"#;
        let methods: AuthMethods = serde_json::from_str(json).unwrap();
        assert_eq!(methods.authinfo, AuthMethods::default().authinfo);
        assert!(!methods.temporary_key.login, "a stored value wins");
        assert!(!methods.api_token.login, "a missing switch is off");
        assert_eq!(
            serde_json::from_str::<AuthMethods>("{}").unwrap(),
            AuthMethods::default()
        );
    }
}
