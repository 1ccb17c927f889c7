//! API tokens: a random secret shown once, stored only as its SHA-256 hash.

use crate::ids::{TenantId, TokenId, UserId};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub name: String,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The secret half of a token, as the user receives it: `iots_` and 43 characters of
/// URL-safe base64 (256 random bits). A hash suffices to store it: it cannot be guessed.
pub struct TokenSecret(String);

impl TokenSecret {
    pub const PREFIX: &'static str = "iots_";
    /// The prefix of sign-in sessions' secrets (the web pages' cookie).
    pub const SESSION_PREFIX: &'static str = "iotw_";

    /// The secret made of 32 random bytes, which the caller draws (the domain draws no
    /// randomness itself).
    pub fn from_random_bytes(bytes: [u8; 32]) -> Self {
        Self(format!("{}{}", Self::PREFIX, URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The secret of a sign-in session of the web pages: the same 256 random bits under
    /// `SESSION_PREFIX`, so that a session cookie is never accepted as an API token.
    pub fn session_from_random_bytes(bytes: [u8; 32]) -> Self {
        Self(format!(
            "{}{}",
            Self::SESSION_PREFIX,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(…)")
    }
}

/// The stored form of a presented token.
pub fn hash_token(presented: &str) -> String {
    let digest = Sha256::digest(presented.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl ApiToken {
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_differ_by_their_bytes_and_hash_stably() {
        let a = TokenSecret::from_random_bytes([7; 32]);
        let b = TokenSecret::from_random_bytes([8; 32]);
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("iots_"));
        assert_eq!(a.expose().len(), 5 + 43);
        assert_eq!(a.hash(), hash_token(a.expose()));
        assert_eq!(a.hash().len(), 64);
        assert!(!a.hash().contains(a.expose()));
        assert_eq!(format!("{a:?}"), "TokenSecret(…)");
    }
}
