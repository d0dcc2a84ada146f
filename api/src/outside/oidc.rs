//! Signing in through an OpenID Connect provider (Google for users, Keycloak for
//! employees). The OIDC feature implements this trait over the `openidconnect` crate; the
//! sign-in flow only sees a verified identity.

use std::collections::HashMap;
use std::sync::Mutex;

use super::BoxFuture;

/// Which relying-party registration to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClientConfig {
    /// The issuer exactly as configured; discovery must answer the same.
    pub issuer: String,
    pub client_id: String,
    /// Write-only configuration: never logged, never answered.
    pub client_secret: String,
    pub scopes: Vec<String>,
}

/// The start of an authorization-code flow with PKCE (S256). `state`, `nonce` and the
/// verifier are made and kept by the caller, per transaction.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: OidcClientConfig,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The callback: the code to redeem, and what the transaction kept to check the answer.
#[derive(Debug, Clone)]
pub struct CodeExchange {
    pub client: OidcClientConfig,
    pub redirect_uri: String,
    pub code: String,
    /// `iss` of the authorization response (RFC 9207), already compared with the issuer
    /// when present; a provider that announces it must send it.
    pub response_iss: Option<String>,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What a fully validated ID token (signature, `iss`, `aud`, `exp`, `iat`, `nonce`, `azp`)
/// says about the person.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// Google's `hd`.
    pub hosted_domain: Option<String>,
    pub name: Option<String>,
    /// Keycloak realm roles and `client:role` client roles, for the role mapping.
    pub roles: Vec<String>,
    /// How the person authenticated at the identity provider (`amr`, RFC 8176), as the ID
    /// token says; empty when it does not say.
    pub amr: Vec<String>,
    /// The ID token's `acr`, when present.
    pub acr: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("this identity provider is not configured")]
    NotConfigured,
    #[error("the identity provider could not be reached")]
    Unavailable,
    #[error("the identity provider did not answer in time")]
    TimedOut,
    #[error("the identity provider's issuer does not match the configured one")]
    IssuerMismatch,
    #[error("the authorization response lacks the `iss` its provider announces")]
    MissingIssuer,
    #[error("the identity provider refused the code")]
    CodeRefused,
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
}

pub trait IdentityProviderClient: Send + Sync {
    /// The URL to send the browser to.
    fn authorization_url<'a>(
        &'a self,
        request: AuthorizationRequest,
    ) -> BoxFuture<'a, Result<String, OidcError>>;

    /// Redeems the code and validates the ID token.
    fn exchange_code<'a>(
        &'a self,
        exchange: CodeExchange,
    ) -> BoxFuture<'a, Result<VerifiedIdentity, OidcError>>;
}

/// No identity provider: every call fails with `NotConfigured`.
#[derive(Debug, Default)]
pub struct NoIdentityProvider;

impl IdentityProviderClient for NoIdentityProvider {
    fn authorization_url<'a>(
        &'a self,
        _: AuthorizationRequest,
    ) -> BoxFuture<'a, Result<String, OidcError>> {
        Box::pin(async { Err(OidcError::NotConfigured) })
    }

    fn exchange_code<'a>(
        &'a self,
        _: CodeExchange,
    ) -> BoxFuture<'a, Result<VerifiedIdentity, OidcError>> {
        Box::pin(async { Err(OidcError::NotConfigured) })
    }
}

/// The test double: a code registered with `expect_code` redeems once, for its identity,
/// when the nonce matches the one the authorization URL carried.
#[derive(Debug, Default)]
pub struct FakeIdentityProvider {
    codes: Mutex<HashMap<String, VerifiedIdentity>>,
    nonces: Mutex<HashMap<String, String>>,
}

impl FakeIdentityProvider {
    pub fn expect_code(&self, code: &str, identity: VerifiedIdentity) {
        self.codes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(code.to_owned(), identity);
    }
}

impl IdentityProviderClient for FakeIdentityProvider {
    fn authorization_url<'a>(
        &'a self,
        request: AuthorizationRequest,
    ) -> BoxFuture<'a, Result<String, OidcError>> {
        Box::pin(async move {
            self.nonces
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(request.pkce_verifier.clone(), request.nonce.clone());
            Ok(format!(
                "{}/auth?client_id={}&state={}&nonce={}",
                request.client.issuer, request.client.client_id, request.state, request.nonce
            ))
        })
    }

    fn exchange_code<'a>(
        &'a self,
        exchange: CodeExchange,
    ) -> BoxFuture<'a, Result<VerifiedIdentity, OidcError>> {
        Box::pin(async move {
            let nonce = self
                .nonces
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&exchange.pkce_verifier);
            let identity = self
                .codes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&exchange.code)
                .ok_or(OidcError::CodeRefused)?;
            if nonce.as_deref() != Some(exchange.nonce.as_str()) {
                return Err(OidcError::InvalidIdToken("nonce".into()));
            }
            Ok(identity)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OidcClientConfig {
        OidcClientConfig {
            issuer: "http://127.0.0.1:1/realms/staff".into(),
            client_id: "billing".into(),
            client_secret: "s".into(),
            scopes: vec!["openid".into()],
        }
    }

    #[tokio::test]
    async fn the_double_redeems_a_code_once_with_its_nonce() {
        let idp = FakeIdentityProvider::default();
        let identity = VerifiedIdentity {
            subject: "42".into(),
            ..Default::default()
        };
        idp.expect_code("c1", identity.clone());
        let url = idp
            .authorization_url(AuthorizationRequest {
                client: config(),
                redirect_uri: "http://127.0.0.1/cb".into(),
                state: "st".into(),
                nonce: "n1".into(),
                pkce_verifier: "v1".into(),
            })
            .await
            .unwrap();
        assert!(url.contains("state=st") && url.contains("nonce=n1"));
        let exchange = CodeExchange {
            client: config(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            code: "c1".into(),
            response_iss: None,
            nonce: "n1".into(),
            pkce_verifier: "v1".into(),
        };
        assert_eq!(idp.exchange_code(exchange.clone()).await, Ok(identity));
        assert_eq!(
            idp.exchange_code(exchange).await,
            Err(OidcError::CodeRefused),
            "single use"
        );
        assert_eq!(
            NoIdentityProvider
                .authorization_url(AuthorizationRequest {
                    client: config(),
                    redirect_uri: String::new(),
                    state: String::new(),
                    nonce: String::new(),
                    pkce_verifier: String::new(),
                })
                .await,
            Err(OidcError::NotConfigured)
        );
    }
}
