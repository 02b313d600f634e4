//! Routing: which member receives packages for an organ identifier.
//!
//! Order: an organ a member owns exactly (its `organs`, either scheme); then the `[[routes]]`
//! in configuration order, each matching organs by identifier, by ancestor (level/prefix, see
//! [`OrganId::is_within`]) or `*`. Peers' own `organs` are ancestors too (a province gateway
//! listed as a peer with `organs = ["H98"]` receives everything of province H98).

use crate::config::Config;
use crate::members::{Member, Registry};
use lienthong_contract::OrganId;
use std::collections::HashMap;
use std::sync::Arc;

enum Pattern {
    Any,
    Under(OrganId),
}

/// The organ registry and routes, built once from configuration.
pub struct Routes {
    exact: HashMap<OrganId, Arc<Member>>,
    patterns: Vec<(Pattern, Arc<Member>)>,
}

/// Where a package for one organ goes.
#[derive(Clone)]
pub enum Route {
    Member(Arc<Member>),
    /// No member and no route: reported to the sender, never silently dropped.
    Unroutable,
}

impl Routes {
    pub fn from_config(c: &Config, registry: &Registry) -> Result<Self, String> {
        let mut exact = HashMap::new();
        let mut patterns = Vec::new();
        for m in registry.all() {
            for o in &m.organs {
                if m.is_peer() {
                    patterns.push((Pattern::Under(o.clone()), m.clone()));
                } else {
                    exact.entry(o.clone()).or_insert_with(|| m.clone());
                }
            }
        }
        for (i, r) in c.routes.iter().enumerate() {
            let m = registry
                .get(&r.member)
                .ok_or_else(|| format!("routes[{i}].member {:?} is not a member", r.member))?;
            for o in &r.organs {
                let p = if o == "*" {
                    Pattern::Any
                } else {
                    Pattern::Under(OrganId::parse(o).map_err(|e| format!("routes[{i}]: {e}"))?)
                };
                patterns.push((p, m.clone()));
            }
        }
        Ok(Routes { exact, patterns })
    }

    pub fn resolve(&self, organ: &OrganId) -> Route {
        if let Some(m) = self.exact.get(organ) {
            return Route::Member(m.clone());
        }
        for (p, m) in &self.patterns {
            let hit = match p {
                Pattern::Any => true,
                Pattern::Under(a) => organ.is_within(a),
            };
            if hit {
                return Route::Member(m.clone());
            }
        }
        Route::Unroutable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MemberCfg, RouteCfg};

    fn member(id: &str, kind: &str, organs: &[&str]) -> MemberCfg {
        MemberCfg {
            id: id.into(),
            kind: kind.into(),
            organs: organs.iter().map(|s| s.to_string()).collect(),
            cert_subject: Some(format!("CN={id}")),
            ..Default::default()
        }
    }

    #[test]
    fn exact_then_peers_then_routes_in_order() {
        let mut c = Config::default();
        c.members = vec![
            member("sonv", "agency", &["000.00.01.H99", "H99.01"]),
            member("p98", "peer", &["H98"]),
            member("axis", "peer", &[]),
        ];
        c.routes = vec![RouteCfg {
            organs: vec!["*".into()],
            member: "axis".into(),
        }];
        let reg = Registry::from_config(&c).unwrap();
        let r = Routes::from_config(&c, &reg).unwrap();
        let to = |s: &str| match r.resolve(&OrganId::parse(s).unwrap()) {
            Route::Member(m) => m.id.clone(),
            Route::Unroutable => "-".into(),
        };
        assert_eq!(to("000.00.01.H99"), "sonv");
        assert_eq!(to("H99.01"), "sonv");
        assert_eq!(to("000.00.07.H98"), "p98");
        assert_eq!(to("H98.7.1"), "p98");
        assert_eq!(to("000.00.00.G22"), "axis");
        c.routes.clear();
        let r = Routes::from_config(&c, &reg).unwrap();
        assert!(matches!(
            r.resolve(&OrganId::parse("000.00.00.G22").unwrap()),
            Route::Unroutable
        ));
        // An organ of a local agency's province that no member owns is not routed to it.
        assert!(matches!(
            r.resolve(&OrganId::parse("000.00.02.H99").unwrap()),
            Route::Unroutable
        ));
    }
}
