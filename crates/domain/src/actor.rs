//! Who is asking: the tenant, the user and what they may do. Every service call carries one.

use crate::ids::{TenantId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The six permissions of the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    #[serde(rename = "scripts.read")]
    ScriptsRead,
    #[serde(rename = "scripts.create")]
    ScriptsCreate,
    #[serde(rename = "scripts.update")]
    ScriptsUpdate,
    #[serde(rename = "scripts.delete")]
    ScriptsDelete,
    #[serde(rename = "scripts.execute")]
    ScriptsExecute,
    #[serde(rename = "scripts.manage_endpoints")]
    ScriptsManageEndpoints,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::ScriptsRead,
        Permission::ScriptsCreate,
        Permission::ScriptsUpdate,
        Permission::ScriptsDelete,
        Permission::ScriptsExecute,
        Permission::ScriptsManageEndpoints,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Permission::ScriptsRead => "scripts.read",
            Permission::ScriptsCreate => "scripts.create",
            Permission::ScriptsUpdate => "scripts.update",
            Permission::ScriptsDelete => "scripts.delete",
            Permission::ScriptsExecute => "scripts.execute",
            Permission::ScriptsManageEndpoints => "scripts.manage_endpoints",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown permission \"{0}\"")]
pub struct UnknownPermission(pub String);

impl FromStr for Permission {
    type Err = UnknownPermission;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPermission(s.to_owned()))
    }
}

/// The built-in roles. Each tenant gets all three when it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Developer,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Developer, Role::Viewer];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }

    /// What the role grants: admin everything, developer all but delete, viewer read.
    pub fn permissions(&self) -> Vec<Permission> {
        match self {
            Role::Admin => Permission::ALL.to_vec(),
            Role::Developer => Permission::ALL
                .into_iter()
                .filter(|p| *p != Permission::ScriptsDelete)
                .collect(),
            Role::Viewer => vec![Permission::ScriptsRead],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role \"{0}\" (expected admin, developer or viewer)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// The caller of a service: always one tenant, usually one user, and a set of permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub tenant_id: TenantId,
    pub user_id: Option<UserId>,
    permissions: BTreeSet<Permission>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("missing permission {0}")]
pub struct Forbidden(pub Permission);

impl Actor {
    pub fn new(
        tenant_id: TenantId,
        user_id: Option<UserId>,
        permissions: impl IntoIterator<Item = Permission>,
    ) -> Self {
        Self {
            tenant_id,
            user_id,
            permissions: permissions.into_iter().collect(),
        }
    }

    /// An actor of a tenant with every permission: host Rust code acting on its own behalf.
    pub fn system(tenant_id: TenantId) -> Self {
        Self::new(tenant_id, None, Permission::ALL)
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    pub fn require(&self, permission: Permission) -> Result<(), Forbidden> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(Forbidden(permission))
        }
    }

    pub fn permissions(&self) -> impl Iterator<Item = Permission> + '_ {
        self.permissions.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_their_permissions() {
        let cases = [
            (Role::Admin, Permission::ScriptsDelete, true),
            (Role::Admin, Permission::ScriptsManageEndpoints, true),
            (Role::Developer, Permission::ScriptsDelete, false),
            (Role::Developer, Permission::ScriptsCreate, true),
            (Role::Developer, Permission::ScriptsExecute, true),
            (Role::Viewer, Permission::ScriptsRead, true),
            (Role::Viewer, Permission::ScriptsCreate, false),
            (Role::Viewer, Permission::ScriptsUpdate, false),
            (Role::Viewer, Permission::ScriptsExecute, false),
        ];
        for (role, permission, expected) in cases {
            let actor = Actor::new(TenantId::new(), None, role.permissions());
            assert_eq!(actor.can(permission), expected, "{role} {permission}");
            assert_eq!(actor.require(permission).is_ok(), expected);
        }
    }

    #[test]
    fn permissions_and_roles_round_trip_through_strings() {
        for permission in Permission::ALL {
            assert_eq!(permission.as_str().parse::<Permission>(), Ok(permission));
        }
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("scripts.write".parse::<Permission>().is_err());
        assert!("root".parse::<Role>().is_err());
        assert_eq!("Admin".parse::<Role>(), Ok(Role::Admin));
    }
}
