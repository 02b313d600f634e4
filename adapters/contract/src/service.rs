//! Services a member may be granted. Access is denied by default: a route names the service it
//! belongs to, and a member reaches it only if its configuration grants that service.

use std::fmt;
use std::str::FromStr;

/// A service of the gateway, as named in members' `services = [...]` grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// Organ directory: which organs the gateway can reach (danh bạ cơ quan).
    Directory,
    /// Document exchange (liên thông văn bản, edXML).
    Edocs,
    /// Dossier synchronisation (hồ sơ một cửa ↔ DVCQG).
    Dossiers,
    /// Online fee payment (thanh toán trực tuyến, PayGov).
    Payments,
    /// Postal result delivery (bưu chính công ích, VNPost).
    Postal,
    /// Citizen lookup in the national population database (tra cứu CSDLQG về dân cư).
    Citizens,
}

impl Service {
    pub const ALL: [Service; 6] = [
        Service::Directory,
        Service::Edocs,
        Service::Dossiers,
        Service::Payments,
        Service::Postal,
        Service::Citizens,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Directory => "directory",
            Service::Edocs => "edocs",
            Service::Dossiers => "dossiers",
            Service::Payments => "payments",
            Service::Postal => "postal",
            Service::Citizens => "citizens",
        }
    }
}

/// A service name that is not one of [`Service::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service {0:?} (known: directory, edocs, dossiers, payments, postal, citizens)")]
pub struct UnknownService(pub String);

impl FromStr for Service {
    type Err = UnknownService;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownService(s.to_owned()))
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Service {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Service::ALL {
            assert_eq!(s.as_str().parse::<Service>().unwrap(), s);
        }
        assert!("admin".parse::<Service>().is_err());
    }
}
