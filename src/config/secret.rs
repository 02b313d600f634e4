//! Secrets in configuration: given inline, from a file, or from an environment variable.
//! The value never appears in `Debug`, logs or error messages.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a secret comes from: `{ value = "…" }`, `{ file = "path" }` or `{ env = "NAME" }`.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub env: Option<String>,
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSource")
            .field("value", &self.value.as_ref().map(|_| "***"))
            .field("file", &self.file)
            .field("env", &self.env)
            .finish()
    }
}

/// A resolved secret. Its bytes are only reachable through [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl SecretSource {
    pub fn is_empty(&self) -> bool {
        self.value.is_none() && self.file.is_none() && self.env.is_none()
    }

    /// Resolve the secret. Errors name the source (file path or variable), never the value.
    pub fn resolve(&self) -> Result<Secret, String> {
        let given = [
            self.value.is_some(),
            self.file.is_some(),
            self.env.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given != 1 {
            return Err("give exactly one of `value`, `file` or `env`".into());
        }
        if let Some(v) = &self.value {
            return non_empty(v.as_bytes().to_vec(), "inline value");
        }
        if let Some(path) = &self.file {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read secret file {path}: {e}"))?;
            let trimmed = trim_newline(bytes);
            return non_empty(trimmed, &format!("secret file {path}"));
        }
        let name = self.env.as_deref().unwrap_or_default();
        match std::env::var_os(name) {
            Some(v) => non_empty(
                v.into_encoded_bytes(),
                &format!("environment variable {name}"),
            ),
            None => Err(format!("environment variable {name} is not set")),
        }
    }
}

fn trim_newline(mut b: Vec<u8>) -> Vec<u8> {
    while matches!(b.last(), Some(b'\n' | b'\r')) {
        b.pop();
    }
    b
}

fn non_empty(b: Vec<u8>, what: &str) -> Result<Secret, String> {
    if b.is_empty() {
        Err(format!("{what} is empty"))
    } else {
        Ok(Secret(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_value() {
        let s = SecretSource {
            value: Some("hunter2".into()),
            ..Default::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:?}", s.resolve().unwrap()).contains("hunter2"));
    }

    #[test]
    fn file_and_env_sources() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(&p, "topsecret\n").unwrap();
        let s = SecretSource {
            file: Some(p.display().to_string()),
            ..Default::default()
        };
        assert_eq!(s.resolve().unwrap().expose(), b"topsecret");
        let missing = SecretSource {
            env: Some("LIENTHONG_TEST_NO_SUCH_VAR".into()),
            ..Default::default()
        };
        let err = missing.resolve().unwrap_err();
        assert!(err.contains("LIENTHONG_TEST_NO_SUCH_VAR"));
        let two = SecretSource {
            value: Some("a".into()),
            env: Some("B".into()),
            ..Default::default()
        };
        assert!(two.resolve().is_err());
    }
}
