//! `User`: a person of one tenant, with an email, a password hash and roles.

use crate::actor::{Permission, Role};
use crate::ids::{TenantId, UserId};
use chrono::{DateTime, Utc};
use validator::ValidateEmail;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: Email,
    pub password_hash: String,
    pub roles: Vec<Role>,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn permissions(&self) -> Vec<Permission> {
        let mut permissions: Vec<Permission> = self
            .roles
            .iter()
            .flat_map(|role| role.permissions())
            .collect();
        permissions.sort();
        permissions.dedup();
        permissions
    }
}

/// An email address, trimmed and lower-cased so that lookups are exact.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("\"{0}\" is not a valid email address")]
    BadEmail(String),
    #[error("password must be at least {min} characters")]
    PasswordTooShort { min: usize },
    #[error("password must be at most {max} characters")]
    PasswordTooLong { max: usize },
    #[error("a user needs at least one role")]
    NoRoles,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let email = raw.trim().to_lowercase();
        if email.len() > 254 || !email.validate_email() {
            return Err(UserError::BadEmail(raw.to_owned()));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The password policy: long enough to resist guessing, short enough to hash cheaply.
pub fn check_password(password: &str) -> Result<(), UserError> {
    const MIN: usize = 10;
    const MAX: usize = 256;
    let chars = password.chars().count();
    if chars < MIN {
        return Err(UserError::PasswordTooShort { min: MIN });
    }
    if chars > MAX {
        return Err(UserError::PasswordTooLong { max: MAX });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let cases = [
            ("ada@example.com", Some("ada@example.com")),
            ("  Ada@Example.COM ", Some("ada@example.com")),
            ("ada", None),
            ("ada@", None),
            ("@example.com", None),
            ("a b@example.com", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                Email::parse(raw).ok().map(|e| e.0),
                expected.map(str::to_owned),
                "{raw}"
            );
        }
    }

    #[test]
    fn passwords() {
        assert_eq!(
            check_password("short"),
            Err(UserError::PasswordTooShort { min: 10 })
        );
        assert!(check_password("correct horse").is_ok());
        assert_eq!(
            check_password(&"p".repeat(257)),
            Err(UserError::PasswordTooLong { max: 256 })
        );
    }

    #[test]
    fn permissions_are_the_union_of_roles() {
        let user = User {
            id: UserId::new(),
            tenant_id: TenantId::new(),
            email: Email::parse("a@b.co").expect("valid"),
            password_hash: String::new(),
            roles: vec![Role::Viewer, Role::Developer],
            created_at: Utc::now(),
        };
        assert_eq!(user.permissions(), Role::Developer.permissions());
    }
}
