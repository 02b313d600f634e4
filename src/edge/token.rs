//! OAuth2 client-credentials access tokens: short-lived JWTs (HS256) the gateway issues and
//! checks itself. Only `alg = HS256` is accepted; everything else (including `none`) is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use serde::{Deserialize, Serialize};

const AUDIENCE: &str = "lienthong-members";
const MAX_TOKEN_LEN: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("wrong issuer or audience")]
    Issuer,
}

impl TokenError {
    /// Stable problem code.
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Expired => "token_expired",
            _ => "invalid_token",
        }
    }
}

/// Issues and verifies tokens with one HMAC key.
pub struct TokenIssuer {
    key: PKey<Private>,
    issuer: String,
    ttl_secs: i64,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn header_b64() -> String {
    B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#)
}

impl TokenIssuer {
    pub fn new(
        key: &[u8],
        issuer: &str,
        ttl_secs: u64,
    ) -> Result<Self, openssl::error::ErrorStack> {
        Ok(TokenIssuer {
            key: PKey::hmac(key)?,
            issuer: issuer.to_owned(),
            ttl_secs: ttl_secs as i64,
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    fn mac(&self, signing_input: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut s = Signer::new(MessageDigest::sha256(), &self.key)?;
        s.sign_oneshot_to_vec(signing_input)
    }

    /// Sign arbitrary claims (tests use this to make expired tokens).
    pub fn sign(&self, claims: &Claims) -> Result<String, openssl::error::ErrorStack> {
        let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let input = format!("{}.{}", header_b64(), payload);
        let sig = B64.encode(self.mac(input.as_bytes())?);
        Ok(format!("{input}.{sig}"))
    }

    pub fn issue(
        &self,
        member_id: &str,
        now: i64,
    ) -> Result<(String, Claims), openssl::error::ErrorStack> {
        let mut jti = [0u8; 16];
        openssl::rand::rand_bytes(&mut jti)?;
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: member_id.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.ttl_secs,
            jti: hex::encode(jti),
        };
        Ok((self.sign(&claims)?, claims))
    }

    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: serde_json::Value =
            serde_json::from_slice(&B64.decode(h).map_err(|_| TokenError::Malformed)?)
                .map_err(|_| TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::Algorithm);
        }
        let sig = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        let expected = self
            .mac(format!("{h}.{p}").as_bytes())
            .map_err(|_| TokenError::Signature)?;
        if sig.len() != expected.len() || !openssl::memcmp::eq(&sig, &expected) {
            return Err(TokenError::Signature);
        }
        let claims: Claims =
            serde_json::from_slice(&B64.decode(p).map_err(|_| TokenError::Malformed)?)
                .map_err(|_| TokenError::Malformed)?;
        if claims.iss != self.issuer || claims.aud != AUDIENCE {
            return Err(TokenError::Issuer);
        }
        if now >= claims.exp {
            return Err(TokenError::Expired);
        }
        if claims.iat > now + 60 {
            return Err(TokenError::Malformed);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(&[7u8; 32], "lienthong", 300).unwrap()
    }

    #[test]
    fn round_trip_and_expiry() {
        let t = issuer();
        let (tok, c) = t.issue("vpubnd", 1_000).unwrap();
        assert_eq!(t.verify(&tok, 1_001).unwrap(), c);
        assert_eq!(t.verify(&tok, 1_300), Err(TokenError::Expired));
    }

    #[test]
    fn forged_tokens_rejected() {
        let t = issuer();
        let (tok, _) = t.issue("vpubnd", 1_000).unwrap();
        // Payload swapped for another member: signature no longer matches.
        let parts: Vec<&str> = tok.split('.').collect();
        let mut c: Claims = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        c.sub = "sonv".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(serde_json::to_vec(&c).unwrap()),
            parts[2]
        );
        assert_eq!(t.verify(&forged, 1_001), Err(TokenError::Signature));
        // alg=none.
        let none = format!("{}.{}.", B64.encode(br#"{"alg":"none"}"#), parts[1]);
        assert_eq!(t.verify(&none, 1_001), Err(TokenError::Algorithm));
        // Another key.
        let other = TokenIssuer::new(&[8u8; 32], "lienthong", 300).unwrap();
        assert_eq!(other.verify(&tok, 1_001), Err(TokenError::Signature));
        assert_eq!(t.verify("a.b", 1), Err(TokenError::Malformed));
        assert_eq!(t.verify(&"a".repeat(5000), 1), Err(TokenError::Malformed));
    }
}
