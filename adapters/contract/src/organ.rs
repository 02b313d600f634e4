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

impl OrganId {
    /// The level-1 code (ministry `G..` or province `H..`): the last group of a QCVN 102 id,
    /// the first group of a QĐ 20 id.
    pub fn level1(&self) -> &str {
        match self.scheme() {
            OrganScheme::Qcvn102 => &self.0[10..],
            OrganScheme::Qd20 => self.0.split('.').next().unwrap_or(&self.0),
        }
    }

    /// Whether `self` is `ancestor` or an organ under it, for routing by prefix/level.
    ///
    /// - QĐ 20 ancestor (`H41`, `H41.12`): QĐ 20 ids equal to it or extending it by whole
    ///   groups; a one-group ancestor (a level-1 code) also covers QCVN 102 ids of that level 1.
    /// - QCVN 102 ancestor (`000.00.12.H41`, read right to left, zeros = unused): QCVN 102 ids
    ///   agreeing on level 1 and on every used level of the ancestor; if it is a pure level-1
    ///   id (`000.00.00.H41`) it also covers QĐ 20 ids of that level 1.
    pub fn is_within(&self, ancestor: &OrganId) -> bool {
        if self == ancestor {
            return true;
        }
        let a = ancestor.as_str();
        match (ancestor.scheme(), self.scheme()) {
            (OrganScheme::Qd20, OrganScheme::Qd20) => {
                self.0.len() > a.len()
                    && self.0.starts_with(a)
                    && self.0.as_bytes()[a.len()] == b'.'
            }
            (OrganScheme::Qd20, OrganScheme::Qcvn102) => !a.contains('.') && self.level1() == a,
            (OrganScheme::Qcvn102, OrganScheme::Qcvn102) => {
                if self.level1() != ancestor.level1() {
                    return false;
                }
                // Levels 2, 3, 4 (BB, CC, DDD): once the ancestor has a zero group, below is free.
                for (start, end) in [(7, 9), (4, 6), (0, 3)] {
                    let g = &a[start..end];
                    if g.bytes().all(|b| b == b'0') {
                        return true;
                    }
                    if &self.0[start..end] != g {
                        return false;
                    }
                }
                false
            }
            (OrganScheme::Qcvn102, OrganScheme::Qd20) => {
                a.starts_with("000.00.00.") && self.level1() == ancestor.level1()
            }
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
    fn within_by_level_in_both_schemes() {
        let id = |s: &str| OrganId::parse(s).unwrap();
        assert!(id("H41.12.003").is_within(&id("H41")));
        assert!(id("H41.12.003").is_within(&id("H41.12")));
        assert!(!id("H41.120").is_within(&id("H41.12")));
        assert!(!id("H41").is_within(&id("H41.12")));
        assert!(id("000.00.12.H41").is_within(&id("H41")));
        assert!(!id("000.00.12.H41").is_within(&id("H41.12")));
        assert!(id("000.00.12.H41").is_within(&id("000.00.00.H41")));
        assert!(id("003.05.12.H41").is_within(&id("000.00.12.H41")));
        assert!(!id("003.05.13.H41").is_within(&id("000.00.12.H41")));
        assert!(!id("000.00.12.H42").is_within(&id("000.00.00.H41")));
        assert!(id("H41.7").is_within(&id("000.00.00.H41")));
        assert!(!id("H41.7").is_within(&id("000.00.12.H41")));
        assert_eq!(id("000.00.12.G22").level1(), "G22");
        assert_eq!(id("G22.3").level1(), "G22");
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
