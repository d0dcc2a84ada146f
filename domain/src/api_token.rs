//! API tokens for scripts: named, scoped, optionally expiring.

use serde::{Deserialize, Serialize};

use crate::permission::Permission;
use crate::provider::text_enum;

text_enum!(
    /// What a token may do: `read` allows only safe HTTP methods (GET, HEAD); `full`
    /// everything its owner may do.
    ApiTokenScope { Read = "read", Full = "full" }
);

impl ApiTokenScope {
    pub fn allows(self, http_method: &str) -> bool {
        match self {
            ApiTokenScope::Full => true,
            ApiTokenScope::Read => matches!(http_method, "GET" | "HEAD"),
        }
    }
}

/// Permissions an API token never exercises, whatever its scope and its owner's roles: they
/// create credentials (one-time keys) or employees and their roles. A leaked script token
/// must not mint a way in that outlives it; these need a signed-in session (and the
/// session-only operations, new API tokens and passwords, need one anyway).
pub const NOT_WITH_API_TOKENS: &[Permission] = &[
    Permission::TemporaryKeysIssue,
    Permission::EmployeesWrite,
    Permission::IdentityProvidersWrite,
];

/// May an API token exercise `permission`?
pub fn api_token_may(permission: Permission) -> bool {
    !NOT_WITH_API_TOKENS.contains(&permission)
}

/// Characters of the secret shown in listings, so an owner can tell tokens apart: the
/// `biat_` prefix and 8 hex digits (32 of the 256 random bits).
pub const SHOWN_PREFIX_CHARS: usize = 13;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        let cases = [
            (ApiTokenScope::Read, "GET", true),
            (ApiTokenScope::Read, "HEAD", true),
            (ApiTokenScope::Read, "POST", false),
            (ApiTokenScope::Read, "DELETE", false),
            (ApiTokenScope::Full, "DELETE", true),
        ];
        for (scope, method, expected) in cases {
            assert_eq!(scope.allows(method), expected, "{scope} {method}");
        }
    }

    #[test]
    fn api_tokens_cannot_mint_credentials() {
        for permission in Permission::ALL {
            let expected = !matches!(
                permission,
                Permission::TemporaryKeysIssue
                    | Permission::EmployeesWrite
                    | Permission::IdentityProvidersWrite
            );
            assert_eq!(api_token_may(*permission), expected, "{permission}");
        }
    }
}
