//! The real `IdentityProviderClient`: the `openidconnect` crate over `reqwest`. Discovery
//! metadata and the JWKS are fetched with timeouts and cached per issuer; an ID token signed
//! with a key the cache does not know makes one fresh JWKS fetch (a key rotation at the
//! provider), never more per code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGenderClaim, CoreGrantType, CoreJsonWebKey, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError,
    ClientId, ClientSecret, CsrfToken, DiscoveryError, HttpClientError, IdToken, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};

use super::BoxFuture;
use super::clock::Clock;
use super::oidc::{
    AuthorizationRequest, CodeExchange, IdentityProviderClient, OidcClientConfig, OidcError,
    VerifiedIdentity,
};

/// How long discovery metadata and keys are trusted before they are fetched again.
const CACHE_FOR: Duration = Duration::from_secs(3600);

/// ID tokens are accepted only with these algorithms: asymmetric ones, so that neither
/// `none` nor an HMAC keyed with a public key (or with our client secret) passes.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 6] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
];

/// A token `iat` more than this far in the future (clock skew) is refused.
const MAX_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// The claims beyond the standard ones that sign-in reads: Google's hosted domain and
/// Keycloak's roles.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ExtraClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    realm_access: Option<RoleList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_access: Option<HashMap<String, RoleList>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RoleList {
    #[serde(default)]
    roles: Vec<String>,
}

impl AdditionalClaims for ExtraClaims {}

/// RFC 9207: a provider that announces `iss` in its authorization responses must send it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IssParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for IssParameter {}

type CoreProviderMetadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type ExtraIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

struct Cached {
    metadata: Arc<CoreProviderMetadata>,
    fetched: Instant,
}

pub struct HttpIdentityProvider {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl HttpIdentityProvider {
    pub fn new(
        connect_timeout: Duration,
        timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            // No redirects: an issuer that redirects is not the configured issuer (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            clock,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, issuer: &str) -> Option<Arc<CoreProviderMetadata>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(issuer)
            .filter(|c| c.fetched.elapsed() < CACHE_FOR)
            .map(|c| c.metadata.clone())
    }

    fn store(&self, issuer: &str, metadata: CoreProviderMetadata) -> Arc<CoreProviderMetadata> {
        let metadata = Arc::new(metadata);
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(
            issuer.to_owned(),
            Cached {
                metadata: metadata.clone(),
                fetched: Instant::now(),
            },
        );
        metadata
    }

    /// Discovery (and its JWKS), from the cache when fresh.
    async fn metadata(&self, issuer: &str) -> Result<Arc<CoreProviderMetadata>, OidcError> {
        if let Some(metadata) = self.cached(issuer) {
            return Ok(metadata);
        }
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|_| OidcError::NotConfigured)?;
        let metadata = CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(discovery_error)?;
        // The crate compares parsed URLs; the rule is the exact string.
        if metadata.issuer().as_str() != issuer {
            return Err(OidcError::IssuerMismatch);
        }
        Ok(self.store(issuer, metadata))
    }

    /// The keys again, after a token named a key the cached set does not have.
    async fn refetch_keys(
        &self,
        issuer: &str,
        metadata: &CoreProviderMetadata,
    ) -> Result<Arc<CoreProviderMetadata>, OidcError> {
        let keys = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(discovery_error)?;
        Ok(self.store(issuer, metadata.clone().set_jwks(keys)))
    }

    fn verify(
        &self,
        metadata: &CoreProviderMetadata,
        config: &OidcClientConfig,
        token: &ExtraIdToken,
        nonce: &Nonce,
    ) -> Result<VerifiedIdentity, ClaimsVerificationError> {
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.clone())),
        );
        let clock = self.clock.clone();
        let now = self.clock.now();
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(ALLOWED_ALGS)
            .set_time_fn(move || clock.now())
            .set_issue_time_verifier_fn(move |iat| {
                if iat > now + MAX_SKEW {
                    Err("issued in the future".into())
                } else {
                    Ok(())
                }
            })
            // Only we are an audience we trust: a token for several parties is refused.
            .set_other_audience_verifier_fn(|_| false);
        let claims = token.claims(&verifier, nonce)?;
        // OIDC Core 3.1.3.7 step 5, which the crate leaves to its users: a token issued to
        // another party (`azp`) is not ours. (Several audiences are refused above.)
        if claims
            .authorized_party()
            .is_some_and(|azp| azp.as_str() != config.client_id)
        {
            return Err(ClaimsVerificationError::InvalidAudience(
                "authorized party".into(),
            ));
        }
        let extra = claims.additional_claims();
        let mut roles: Vec<String> = extra
            .realm_access
            .iter()
            .flat_map(|r| r.roles.iter().cloned())
            .collect();
        if let Some(own) = extra
            .resource_access
            .as_ref()
            .and_then(|r| r.get(&config.client_id))
        {
            roles.extend(
                own.roles
                    .iter()
                    .map(|r| format!("{}:{r}", config.client_id)),
            );
        }
        Ok(VerifiedIdentity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified() == Some(true),
            hosted_domain: extra.hd.clone(),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            roles,
            amr: claims
                .auth_method_refs()
                .map(|amr| amr.iter().map(|v| v.as_str().to_owned()).collect())
                .unwrap_or_default(),
            acr: claims.auth_context_ref().map(|acr| acr.as_str().to_owned()),
        })
    }
}

fn http_error(error: &HttpClientError<reqwest::Error>) -> OidcError {
    match error {
        HttpClientError::Reqwest(e) if e.is_timeout() => OidcError::TimedOut,
        _ => OidcError::Unavailable,
    }
}

fn discovery_error(error: DiscoveryError<HttpClientError<reqwest::Error>>) -> OidcError {
    match error {
        DiscoveryError::Request(e) => http_error(&e),
        DiscoveryError::Validation(_) => OidcError::IssuerMismatch,
        _ => OidcError::Unavailable,
    }
}

fn id_token_error(error: &ClaimsVerificationError) -> OidcError {
    let what = match error {
        ClaimsVerificationError::Expired(_) => "expired",
        ClaimsVerificationError::InvalidAudience(_) => "audience",
        ClaimsVerificationError::InvalidIssuer(_) => "issuer",
        ClaimsVerificationError::InvalidNonce(_) => "nonce",
        ClaimsVerificationError::InvalidSubject(_) => "subject",
        ClaimsVerificationError::SignatureVerification(_) => "signature",
        ClaimsVerificationError::Unsupported(_) => "unsupported",
        _ => "claims",
    };
    OidcError::InvalidIdToken(what.into())
}

impl IdentityProviderClient for HttpIdentityProvider {
    fn authorization_url<'a>(
        &'a self,
        request: AuthorizationRequest,
    ) -> BoxFuture<'a, Result<String, OidcError>> {
        Box::pin(async move {
            let metadata = self.metadata(&request.client.issuer).await?;
            let redirect = RedirectUrl::new(request.redirect_uri.clone())
                .map_err(|_| OidcError::NotConfigured)?;
            let client = CoreClient::from_provider_metadata(
                (*metadata).clone(),
                ClientId::new(request.client.client_id.clone()),
                Some(ClientSecret::new(request.client.client_secret.clone())),
            )
            .set_redirect_uri(redirect);
            let verifier = PkceCodeVerifier::new(request.pkce_verifier.clone());
            let (state, nonce) = (request.state.clone(), request.nonce.clone());
            let mut auth = client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    move || CsrfToken::new(state),
                    move || Nonce::new(nonce),
                )
                .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier));
            for scope in request.client.scopes.iter().filter(|s| *s != "openid") {
                auth = auth.add_scope(Scope::new(scope.clone()));
            }
            let (url, _, _) = auth.url();
            Ok(url.to_string())
        })
    }

    fn exchange_code<'a>(
        &'a self,
        exchange: CodeExchange,
    ) -> BoxFuture<'a, Result<VerifiedIdentity, OidcError>> {
        Box::pin(async move {
            let issuer = exchange.client.issuer.clone();
            let metadata = self.metadata(&issuer).await?;
            // The caller compared a present `iss`; a missing one is refused only here,
            // where the provider's promise to send it is known.
            if metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported
                && exchange.response_iss.is_none()
            {
                return Err(OidcError::MissingIssuer);
            }
            let redirect = RedirectUrl::new(exchange.redirect_uri.clone())
                .map_err(|_| OidcError::NotConfigured)?;
            let client = CoreClient::from_provider_metadata(
                (*metadata).clone(),
                ClientId::new(exchange.client.client_id.clone()),
                Some(ClientSecret::new(exchange.client.client_secret.clone())),
            )
            .set_redirect_uri(redirect);
            let response = client
                .exchange_code(AuthorizationCode::new(exchange.code.clone()))
                .map_err(|_| OidcError::Unavailable)?
                .set_pkce_verifier(PkceCodeVerifier::new(exchange.pkce_verifier.clone()))
                .request_async(&self.http)
                .await
                .map_err(|e| match e {
                    RequestTokenError::ServerResponse(_) => OidcError::CodeRefused,
                    RequestTokenError::Request(e) => http_error(&e),
                    _ => OidcError::Unavailable,
                })?;
            let raw = response
                .id_token()
                .ok_or_else(|| OidcError::InvalidIdToken("missing".into()))?
                .to_string();
            // Read again with the claims the core type drops (hd, realm and client roles).
            let token: ExtraIdToken = raw
                .parse()
                .map_err(|_| OidcError::InvalidIdToken("malformed".into()))?;
            let nonce = Nonce::new(exchange.nonce.clone());
            match self.verify(&metadata, &exchange.client, &token, &nonce) {
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) => {
                    let metadata = self.refetch_keys(&issuer, &metadata).await?;
                    self.verify(&metadata, &exchange.client, &token, &nonce)
                        .map_err(|e| id_token_error(&e))
                }
                other => other.map_err(|e| id_token_error(&e)),
            }
        })
    }
}
