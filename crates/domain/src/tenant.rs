//! `Tenant`: the unit of isolation, with a name and a URL slug.

use crate::ids::TenantId;
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub slug: Slug,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("tenant name must be 1–{max} characters")]
    BadName { max: usize },
    #[error(
        "slug \"{0}\" must be 2–63 lowercase letters, digits or '-', not starting or ending with '-'"
    )]
    BadSlug(String),
}

/// A URL-safe tenant handle, used in `/hooks/{slug}/…` and on the command line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, TenantError> {
        let ok = (2..=63).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TenantError::BadSlug(raw.to_owned()))
        }
    }

    /// Derives a slug from a name: ASCII letters and digits kept, runs of anything else → '-'.
    pub fn from_name(name: &str) -> Result<Self, TenantError> {
        let mut slug = String::new();
        for c in name.trim().to_ascii_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug: String = slug.trim_matches('-').chars().take(63).collect();
        Self::parse(slug.trim_end_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Tenant {
    pub const MAX_NAME_CHARS: usize = 100;

    pub fn new(name: &str, slug: Option<&str>, now: DateTime<Utc>) -> Result<Self, TenantError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_NAME_CHARS {
            return Err(TenantError::BadName {
                max: Self::MAX_NAME_CHARS,
            });
        }
        let slug = match slug {
            Some(raw) => Slug::parse(raw)?,
            None => Slug::from_name(name)?,
        };
        Ok(Self {
            id: TenantId::new(),
            name: name.to_owned(),
            slug,
            created_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        let cases = [
            ("acme", true),
            ("acme-corp-2", true),
            ("a", false),
            ("-acme", false),
            ("acme-", false),
            ("Acme", false),
            ("ac me", false),
            ("acme_corp", false),
        ];
        for (raw, ok) in cases {
            assert_eq!(Slug::parse(raw).is_ok(), ok, "{raw}");
        }
        let derived = Slug::from_name("  Acme Corp, Ltd. ").map(|s| s.as_str().to_owned());
        assert_eq!(derived, Ok("acme-corp-ltd".to_owned()));
        assert!(Slug::from_name("Ёж").is_err());
    }

    #[test]
    fn tenants() {
        let now = Utc::now();
        assert!(Tenant::new("", None, now).is_err());
        assert!(Tenant::new(&"x".repeat(101), None, now).is_err());
        let tenant = Tenant::new("Acme", Some("acme-prod"), now).expect("valid");
        assert_eq!(tenant.slug.as_str(), "acme-prod");
    }
}
