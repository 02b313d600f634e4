//! The authentication headers the population service expects (population.md, from one public
//! client; all configurable): `Timestamp` (Unix milliseconds), `Authorization: Basic
//! base64(user ":" lowercase_hex(SHA-256(auth_url + user + timestamp + secret)))`,
//! `X-Road-Client` and `ApiKey`. Computed afresh for every request.

use base64::Engine;

/// Header names on the wire.
pub const TIMESTAMP: &str = "Timestamp";
pub const AUTHORIZATION: &str = "Authorization";
pub const X_ROAD_CLIENT: &str = "X-Road-Client";
pub const API_KEY: &str = "ApiKey";

/// What the headers are computed from.
#[derive(Clone)]
pub struct Credentials {
    /// Account name (`userName`).
    pub username: String,
    /// Shared secret (`secretKey`); never logged.
    pub secret: Vec<u8>,
    /// `url_xacthuc`: a configured URL string that is only hashed.
    pub auth_url: String,
    /// `X-Road-Client` value.
    pub client_id: String,
    /// `ApiKey` value, if the deployment uses one.
    pub api_key: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &"***")
            .field("auth_url", &self.auth_url)
            .field("client_id", &self.client_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// lowercase_hex(SHA-256(auth_url + user + timestamp + secret)).
pub fn digest(auth_url: &str, user: &str, timestamp: &str, secret: &[u8]) -> String {
    let mut h = openssl::sha::Sha256::new();
    h.update(auth_url.as_bytes());
    h.update(user.as_bytes());
    h.update(timestamp.as_bytes());
    h.update(secret);
    hex::encode(h.finish())
}

impl Credentials {
    /// The four headers for a request sent at `now_ms`.
    pub fn headers(&self, now_ms: i64) -> Vec<(&'static str, String)> {
        let ts = now_ms.to_string();
        let token = format!(
            "{}:{}",
            self.username,
            digest(&self.auth_url, &self.username, &ts, &self.secret)
        );
        let mut h = vec![
            (TIMESTAMP, ts),
            (
                AUTHORIZATION,
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(token)
                ),
            ),
            (X_ROAD_CLIENT, self.client_id.clone()),
        ];
        if let Some(k) = &self.api_key {
            h.push((API_KEY, k.clone()));
        }
        h
    }

    /// The server's check (the simulator's): every header present, the digest recomputed and
    /// compared in constant time, the timestamp within `skew_ms` of `now_ms`.
    pub fn verify(
        &self,
        get: impl Fn(&str) -> Option<String>,
        now_ms: i64,
        skew_ms: i64,
    ) -> Result<(), &'static str> {
        let ts = get(TIMESTAMP).ok_or("missing Timestamp")?;
        let at: i64 = ts.parse().map_err(|_| "Timestamp is not a number")?;
        if (now_ms - at).abs() > skew_ms {
            return Err("stale Timestamp");
        }
        let auth = get(AUTHORIZATION).ok_or("missing Authorization")?;
        let b64 = auth.strip_prefix("Basic ").ok_or("not Basic")?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| "bad base64")?;
        let raw = String::from_utf8(raw).map_err(|_| "bad UTF-8")?;
        let (user, hash) = raw.split_once(':').ok_or("no colon")?;
        let want = digest(&self.auth_url, &self.username, &ts, &self.secret);
        if user != self.username
            || hash.len() != want.len()
            || !openssl::memcmp::eq(hash.as_bytes(), want.as_bytes())
        {
            return Err("wrong credentials");
        }
        if get(X_ROAD_CLIENT).as_deref() != Some(self.client_id.as_str()) {
            return Err("wrong X-Road-Client");
        }
        if let Some(k) = &self.api_key {
            let given = get(API_KEY).unwrap_or_default();
            if given.len() != k.len() || !openssl::memcmp::eq(given.as_bytes(), k.as_bytes()) {
                return Err("wrong ApiKey");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(secret: &str) -> Credentials {
        Credentials {
            username: "lgsp".into(),
            secret: secret.as_bytes().to_vec(),
            auth_url: "https://auth.example/xacthuc".into(),
            client_id: "VN/GOV/H99/LGSP".into(),
            api_key: Some("k1".into()),
        }
    }

    #[test]
    fn formula_and_round_trip() {
        // SHA-256("https://auth.example/xacthuc" + "lgsp" + "1700000000000" + "s3cret")
        let d = digest(
            "https://auth.example/xacthuc",
            "lgsp",
            "1700000000000",
            b"s3cret",
        );
        let mut all = b"https://auth.example/xacthuclgsp1700000000000s3cret".to_vec();
        all.truncate(all.len());
        assert_eq!(d, hex::encode(openssl::sha::sha256(&all)));
        let h = creds("s3cret").headers(1_700_000_000_000);
        let get = |n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
        assert_eq!(
            creds("s3cret").verify(get, 1_700_000_001_000, 300_000),
            Ok(())
        );
        assert_eq!(
            creds("other").verify(get, 1_700_000_001_000, 300_000),
            Err("wrong credentials")
        );
        assert_eq!(
            creds("s3cret").verify(get, 1_700_001_000_000, 300_000),
            Err("stale Timestamp")
        );
    }
}
