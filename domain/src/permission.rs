//! Employees act through roles; a role is a fixed set of permissions. The sets live in code
//! (not in the database) so that a permission check can never meet an unknown role.

use serde::{Deserialize, Serialize};

use crate::provider::text_enum;

text_enum!(
    /// One thing an employee may do in the administration API.
    Permission {
        ProvidersRead = "providers:read",
        ProvidersWrite = "providers:write",
        ClientsRead = "clients:read",
        ClientsWrite = "clients:write",
        UsersRead = "users:read",
        UsersWrite = "users:write",
        EmployeesRead = "employees:read",
        EmployeesWrite = "employees:write",
        TemporaryKeysIssue = "temporary_keys:issue",
        AuthEventsRead = "auth_events:read",
        SmsGatewaysRead = "sms_gateways:read",
        SmsGatewaysWrite = "sms_gateways:write",
        ModulesRead = "modules:read",
        ModulesWrite = "modules:write",
        ClientsClearData = "clients:clear_data",
        ClientsExportData = "clients:export_data",
        ProcessorsRead = "processors:read",
        ProcessorsWrite = "processors:write",
        JobsRead = "jobs:read",
        AuditEventsRead = "audit_events:read",
        IdentityProvidersRead = "identity_providers:read",
        IdentityProvidersWrite = "identity_providers:write",
        ConsentsRead = "consents:read",
        ConsentsWrite = "consents:write",
    }
);

text_enum!(
    /// A named set of permissions given to employees.
    Role { Admin = "admin", Support = "support", Billing = "billing", Dpo = "dpo" }
);

impl Role {
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => Permission::ALL,
            Role::Support => &[
                ProvidersRead,
                ClientsRead,
                ClientsWrite,
                UsersRead,
                UsersWrite,
                TemporaryKeysIssue,
                AuthEventsRead,
            ],
            Role::Billing => &[ProvidersRead, ClientsRead, ClientsWrite, UsersRead],
            Role::Dpo => &[
                ProvidersRead,
                ClientsRead,
                UsersRead,
                EmployeesRead,
                AuthEventsRead,
                ModulesRead,
                ClientsClearData,
                ClientsExportData,
                ProcessorsRead,
                JobsRead,
                AuditEventsRead,
                ConsentsRead,
            ],
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::Admin => "everything, including employees and their roles",
            Role::Support => "clients and users, one-time keys for users, the auth log",
            Role::Billing => "clients and users, without keys or logs",
            Role::Dpo => {
                "read access for the data-protection officer, the auth log, the processors, consent evidence, exporting and clearing a client's data"
            }
        }
    }
}

/// True when any of `roles` grants `permission`.
pub fn roles_grant(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|r| r.permissions().contains(&permission))
}

/// Which providers an employee may see: all of them, or a listed few.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderScope<Id> {
    All,
    Only(Vec<Id>),
}

impl<Id: PartialEq> ProviderScope<Id> {
    pub fn allows(&self, provider: &Id) -> bool {
        match self {
            ProviderScope::All => true,
            ProviderScope::Only(ids) => ids.contains(provider),
        }
    }

    /// May an employee with this scope see an employee with scope `other`? One who sees
    /// every provider sees everyone; one limited to some providers sees the employees who
    /// can reach at least one of them (those who see every provider, and those limited to
    /// one of the same), never those limited to other providers only.
    pub fn sees_employee(&self, other: &ProviderScope<Id>) -> bool {
        match (self, other) {
            (ProviderScope::All, _) => true,
            (ProviderScope::Only(_), ProviderScope::All) => true,
            (ProviderScope::Only(mine), ProviderScope::Only(theirs)) => {
                theirs.iter().any(|id| mine.contains(id))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn employees_seen_by_scope() {
        use ProviderScope::{All, Only};
        let cases: &[(ProviderScope<u8>, ProviderScope<u8>, bool)] = &[
            (All, All, true),
            (All, Only(vec![1]), true),
            (Only(vec![1]), All, true),
            (Only(vec![1]), Only(vec![1, 2]), true),
            (Only(vec![1, 3]), Only(vec![2, 3]), true),
            (Only(vec![1]), Only(vec![2]), false),
            (Only(vec![1]), Only(vec![]), false),
        ];
        for (mine, theirs, expected) in cases {
            assert_eq!(mine.sees_employee(theirs), *expected, "{mine:?} {theirs:?}");
        }
    }

    #[test]
    fn grants_table() {
        use Permission::*;
        let cases: &[(&[Role], Permission, bool)] = &[
            (&[Role::Admin], EmployeesWrite, true),
            (&[Role::Support], EmployeesWrite, false),
            (&[Role::Support], TemporaryKeysIssue, true),
            (&[Role::Billing], TemporaryKeysIssue, false),
            (&[Role::Dpo], AuthEventsRead, true),
            (&[Role::Dpo], UsersWrite, false),
            (&[Role::Dpo], ClientsClearData, true),
            (&[Role::Admin], ClientsClearData, true),
            (&[Role::Support], ClientsClearData, false),
            (&[Role::Billing], ClientsClearData, false),
            (&[Role::Dpo], ClientsExportData, true),
            (&[Role::Support], ClientsExportData, false),
            (&[Role::Billing], ClientsExportData, false),
            (&[Role::Dpo], JobsRead, true),
            (&[Role::Dpo], AuditEventsRead, true),
            (&[Role::Support], AuditEventsRead, false),
            (&[Role::Support], JobsRead, false),
            (&[Role::Dpo], ModulesWrite, false),
            (&[Role::Dpo], ProcessorsRead, true),
            (&[Role::Dpo], ProcessorsWrite, false),
            (&[Role::Admin], ProcessorsWrite, true),
            (&[Role::Support], ProcessorsRead, false),
            (&[Role::Billing, Role::Dpo], AuthEventsRead, true),
            (&[], ProvidersRead, false),
        ];
        for (roles, permission, expected) in cases {
            assert_eq!(
                roles_grant(roles, *permission),
                *expected,
                "{roles:?} {permission}"
            );
        }
    }

    #[test]
    fn scope() {
        assert!(ProviderScope::<u8>::All.allows(&1));
        assert!(ProviderScope::Only(vec![1, 2]).allows(&2));
        assert!(!ProviderScope::Only(vec![1]).allows(&2));
    }
}
