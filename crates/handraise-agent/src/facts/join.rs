//! Which directory manages the computer, from what Windows keeps in the registry (read by
//! `windows.rs`; the deciding here is pure so it is tested everywhere).
//!
//! - Active Directory: the machine's Group Policy `DataStore\Machine\0` `DomainName`. Group
//!   Policy writes it only on a domain member, when it applies the computer's policy (at every
//!   start). The TCP/IP parameters' `Domain` is not read: it is the primary DNS suffix, which
//!   a join sets but an administrator may also set on a computer in a workgroup.
//! - Microsoft Entra ID: a `CloudDomainJoin\JoinInfo\<thumbprint>` key with a `TenantId`
//!   (written by the join, removed by leaving), the tenant's name from
//!   `CloudDomainJoin\TenantInfo\<TenantId>` `DisplayName`.
//! - Both: hybrid joined. Neither: a workgroup. A key that exists but cannot be read leaves
//!   the fact out (`windows.rs`): unknown is not "no".

use handraise_wire::{DirectoryJoin, JoinKind};

/// What the registry says, each value trimmed, blank as none.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JoinValues {
    /// The machine's Group Policy data store's `DomainName`.
    pub policy_domain: Option<String>,
    /// The `TenantId` of the first `JoinInfo` key that has one.
    pub tenant_id: Option<String>,
    /// That tenant's `DisplayName`.
    pub tenant_name: Option<String>,
}

/// The join the values show.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn directory_join(v: JoinValues) -> DirectoryJoin {
    let clean = |s: Option<String>| {
        s.map(|s| s.trim().trim_end_matches('.').to_owned())
            .filter(|s| !s.is_empty())
    };
    let policy_domain = clean(v.policy_domain);
    let ad = policy_domain.is_some();
    let tenant_id = clean(v.tenant_id);
    let entra = tenant_id.is_some();
    let kind = match (ad, entra) {
        (true, true) => JoinKind::Hybrid,
        (true, false) => JoinKind::ActiveDirectory,
        (false, true) => JoinKind::Entra,
        (false, false) => JoinKind::Workgroup,
    };
    DirectoryJoin {
        kind,
        domain: policy_domain,
        tenant_name: if entra { clean(v.tenant_name) } else { None },
        tenant_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn kinds_from_the_registry_values() {
        let none = directory_join(JoinValues::default());
        assert_eq!(none.kind, JoinKind::Workgroup);
        assert_eq!((none.domain, none.tenant_id), (None, None));

        let blank = directory_join(JoinValues {
            policy_domain: s(" "),
            tenant_id: s(""),
            ..Default::default()
        });
        assert_eq!(blank.kind, JoinKind::Workgroup);

        let ad = directory_join(JoinValues {
            policy_domain: s(" district.local. "),
            tenant_name: s("ignored without a tenant id"),
            ..Default::default()
        });
        assert_eq!(
            ad,
            DirectoryJoin {
                kind: JoinKind::ActiveDirectory,
                domain: s("district.local"),
                tenant_id: None,
                tenant_name: None,
            }
        );

        let entra = directory_join(JoinValues {
            tenant_id: s("0e0adb39-f83f-4576-9102-db1b902ca108"),
            tenant_name: s("Lincoln Schools"),
            ..Default::default()
        });
        assert_eq!(entra.kind, JoinKind::Entra);
        assert_eq!(entra.domain, None);
        assert_eq!(entra.tenant_name.as_deref(), Some("Lincoln Schools"));

        let hybrid = directory_join(JoinValues {
            policy_domain: s("district.local"),
            tenant_id: s("0e0adb39-f83f-4576-9102-db1b902ca108"),
            tenant_name: s("  "),
        });
        assert_eq!(hybrid.kind, JoinKind::Hybrid);
        assert_eq!(hybrid.domain.as_deref(), Some("district.local"));
        assert_eq!(hybrid.tenant_name, None);
    }
}
