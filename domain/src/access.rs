//! Who may still act, and which changes staff may make to themselves or under a disabled
//! client: rules the API asks before it acts.

use crate::auth_method::{AuthMethod, AuthMethods};
use crate::permission::{ProviderScope, Role};
use crate::provider::{AccountStatus, ProviderStatus};

/// Why a known person may not act now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The account (or, for a user, its provider) is not active.
    AccountDisabled,
    ProviderSuspended,
    /// The provider turned this method off.
    MethodDisabled(AuthMethod),
}

/// A user's provider, as far as the rule needs it.
#[derive(Debug, Clone, Copy)]
pub struct ProviderGate<'a> {
    pub status: ProviderStatus,
    pub auth_methods: &'a AuthMethods,
}

/// May a person act: an active account, and for a user an active provider that has
/// `method` on for login (when the person signs in or acts by a method; a session does not
/// name one).
pub fn may_act(
    account: AccountStatus,
    provider: Option<ProviderGate<'_>>,
    method: Option<AuthMethod>,
) -> Result<(), Denied> {
    if let Some(provider) = provider {
        if provider.status != ProviderStatus::Active {
            return Err(Denied::ProviderSuspended);
        }
        if let Some(method) = method
            && !provider.auth_methods.login_enabled(method)
        {
            return Err(Denied::MethodDisabled(method));
        }
    }
    if account != AccountStatus::Active {
        return Err(Denied::AccountDisabled);
    }
    Ok(())
}

/// A user can only be active, or be handed a key, while their client is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client is disabled; enable the client first")]
pub struct ClientDisabled;

pub fn client_allows_active_users(client: AccountStatus) -> Result<(), ClientDisabled> {
    match client {
        AccountStatus::Active => Ok(()),
        _ => Err(ClientDisabled),
    }
}

/// A change an employee asks for on an employee (maybe themselves).
#[derive(Debug, Clone, Copy)]
pub struct EmployeeChange<'a> {
    pub status: Option<AccountStatus>,
    pub roles: Option<&'a [Role]>,
    pub providers: Option<&'a ProviderScope<uuid::Uuid>>,
}

/// The installation must keep an administrator: nobody disables themselves, drops their own
/// `admin` role or narrows their own providers. Answers (field, message) pairs to refuse.
pub fn self_lockout(
    is_self: bool,
    change: EmployeeChange<'_>,
) -> Vec<(&'static str, &'static str)> {
    let mut refused = Vec::new();
    if !is_self {
        return refused;
    }
    if change.status == Some(AccountStatus::Disabled) {
        refused.push(("/status", "you cannot disable yourself"));
    }
    if let Some(roles) = change.roles
        && !roles.contains(&Role::Admin)
    {
        refused.push(("/roles", "you cannot remove your own admin role"));
    }
    if let Some(providers) = change.providers
        && !matches!(providers, ProviderScope::All)
    {
        refused.push(("/providers", "you cannot limit your own providers"));
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_method::AuthMethod::{ApiToken, Password};

    #[test]
    fn who_may_act() {
        let mut api_off = AuthMethods::default();
        api_off.api_token.login = false;
        let on = AuthMethods::default();
        use AccountStatus::{Active, Disabled};
        use ProviderStatus as P;
        let gate = |status, methods| {
            Some(ProviderGate {
                status,
                auth_methods: methods,
            })
        };
        type Row<'a> = (
            AccountStatus,
            Option<ProviderGate<'a>>,
            Option<AuthMethod>,
            Result<(), Denied>,
        );
        let table: Vec<Row> = vec![
            (Active, None, None, Ok(())),
            (Disabled, None, None, Err(Denied::AccountDisabled)),
            (Active, gate(P::Active, &on), Some(Password), Ok(())),
            (Active, gate(P::Active, &on), None, Ok(())),
            (
                Active,
                gate(P::Suspended, &on),
                None,
                Err(Denied::ProviderSuspended),
            ),
            (
                Disabled,
                gate(P::Suspended, &on),
                None,
                Err(Denied::ProviderSuspended),
            ),
            (
                Active,
                gate(P::Active, &api_off),
                Some(ApiToken),
                Err(Denied::MethodDisabled(ApiToken)),
            ),
            (Active, gate(P::Active, &api_off), Some(Password), Ok(())),
            (Active, gate(P::Active, &api_off), None, Ok(())),
            (
                Disabled,
                gate(P::Active, &on),
                Some(Password),
                Err(Denied::AccountDisabled),
            ),
        ];
        for (i, (account, provider, method, expected)) in table.into_iter().enumerate() {
            assert_eq!(may_act(account, provider, method), expected, "row {i}");
        }
    }

    #[test]
    fn users_follow_their_client() {
        assert_eq!(client_allows_active_users(AccountStatus::Active), Ok(()));
        assert_eq!(
            client_allows_active_users(AccountStatus::Disabled),
            Err(ClientDisabled)
        );
    }

    #[test]
    fn nobody_locks_themselves_out() {
        let only = ProviderScope::Only(vec![uuid::Uuid::nil()]);
        let all = ProviderScope::All;
        let admin = [Role::Admin];
        let support = [Role::Support];
        let change = |status, roles, providers| EmployeeChange {
            status,
            roles,
            providers,
        };
        let table: Vec<(bool, EmployeeChange, Vec<&str>)> = vec![
            (
                true,
                change(Some(AccountStatus::Disabled), None, None),
                vec!["/status"],
            ),
            (
                false,
                change(Some(AccountStatus::Disabled), None, None),
                vec![],
            ),
            (
                true,
                change(Some(AccountStatus::Active), None, None),
                vec![],
            ),
            (
                true,
                change(None, Some(&support), Some(&all)),
                vec!["/roles"],
            ),
            (
                true,
                change(None, Some(&admin), Some(&only)),
                vec!["/providers"],
            ),
            (
                true,
                change(None, Some(&support), Some(&only)),
                vec!["/roles", "/providers"],
            ),
            (true, change(None, Some(&admin), Some(&all)), vec![]),
            (false, change(None, Some(&support), Some(&only)), vec![]),
        ];
        for (i, (is_self, change, fields)) in table.into_iter().enumerate() {
            let got: Vec<&str> = self_lockout(is_self, change)
                .into_iter()
                .map(|r| r.0)
                .collect();
            assert_eq!(got, fields, "row {i}");
        }
    }
}
