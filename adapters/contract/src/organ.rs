//! Organ identifiers (mã định danh cơ quan, tổ chức).
//!
//! Two schemes are in use and a gateway must accept both:
//! - QCVN 102:2016: 13 characters `DDD.CC.BB.Xnn`, e.g. `000.00.00.H41` (UBND Nghệ An);
//! - QĐ 20/2020/QĐ-TTg: up to 35 characters of `0-9 A-Z .`, one group per level, growing left to
//!   right, e.g. `H41.12`.

use std::fmt;
use std::str::FromStr;

/// Which identifier scheme a value is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganScheme {
    /// QCVN 102:2016 form `DDD.CC.BB.Xnn`.
    Qcvn102,
    /// QĐ 20/2020/QĐ-TTg form `H41.12`.
    Qd20,
}

/// An organ identifier (mã định danh), validated against one of the two schemes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrganId(String);

/// Why a string is not an organ identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganIdError {
    #[error("organ identifier is empty")]
    Empty,
    #[error("organ identifier is longer than 35 characters")]
    TooLong,
    #[error(
        "organ identifier {0:?} is neither QCVN 102 (000.00.00.H41) nor QĐ 20/2020 (H41.12) form"
    )]
    Malformed(String),
}

impl OrganId {
    pub fn parse(s: &str) -> Result<Self, OrganIdError> {
        if s.is_empty() {
            return Err(OrganIdError::Empty);
        }
        if s.len() > 35 {
            return Err(OrganIdError::TooLong);
        }
        if is_qcvn102(s) || is_qd20(s) {
            Ok(OrganId(s.to_owned()))
        } else {
            Err(OrganIdError::Malformed(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn scheme(&self) -> OrganScheme {
        if is_qcvn102(&self.0) {
            OrganScheme::Qcvn102
        } else {
            OrganScheme::Qd20
        }
    }
}

fn is_qcvn102(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 13
        && b[..3].iter().all(u8::is_ascii_digit)
        && b[3] == b'.'
        && b[4..6].iter().all(u8::is_ascii_digit)
        && b[6] == b'.'
        && b[7..9].iter().all(u8::is_ascii_digit)
        && b[9] == b'.'
        && b[10].is_ascii_uppercase()
        && b[11..13].iter().all(u8::is_ascii_digit)
}

fn is_qd20(s: &str) -> bool {
    s.len() <= 35
        && s.split('.').all(|g| {
            !g.is_empty()
                && g.bytes()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        })
}

impl FromStr for OrganId {
    type Err = OrganIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrganId::parse(s)
    }
}

impl fmt::Display for OrganId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for OrganId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for OrganId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OrganId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemes_accepted() {
        assert_eq!(
            OrganId::parse("000.00.00.H41").unwrap().scheme(),
            OrganScheme::Qcvn102
        );
        assert_eq!(
            OrganId::parse("000.00.00.G22").unwrap().scheme(),
            OrganScheme::Qcvn102
        );
        assert_eq!(
            OrganId::parse("H41.12").unwrap().scheme(),
            OrganScheme::Qd20
        );
        assert_eq!(
            OrganId::parse("H37.DN.001").unwrap().scheme(),
            OrganScheme::Qd20
        );
    }

    #[test]
    fn malformed_rejected() {
        for bad in [
            "",
            "h41.12",
            "H41..12",
            ".H41",
            "H41.",
            "000.00.00.h41",
            "H41 12",
            "Sở Nội vụ",
        ] {
            assert!(OrganId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(OrganId::parse(&"A".repeat(36)), Err(OrganIdError::TooLong));
    }
}
