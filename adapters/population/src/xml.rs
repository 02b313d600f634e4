//! A small, hardened XML tree for SOAP bodies of a few kilobytes: quick-xml's namespace-aware
//! reader with a DOCTYPE refused (no entity expansion), only the predefined entities and
//! character references, and bounds on input size, depth and element count.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// Bounds on what is read.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 20,
            max_depth: 32,
            max_elements: 4096,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("document larger than {0} bytes")]
    TooLarge(usize),
    #[error("DOCTYPE declarations are refused")]
    Doctype,
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    #[error("more than {0} elements")]
    TooManyElements(usize),
    #[error("unknown entity &{0};")]
    Entity(String),
    #[error("unbound namespace prefix {0:?}")]
    UnboundPrefix(String),
    #[error("malformed XML: {0}")]
    Syntax(String),
    #[error("no root element")]
    Empty,
}

/// An element: its namespace (empty when unbound), local name, direct text and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this namespace and local name.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name && c.ns == ns)
    }

    /// The first descendant (depth first, self included) with this namespace and local name.
    pub fn find(&self, ns: &str, name: &str) -> Option<&Element> {
        if self.ns == ns && self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(ns, name))
    }

    /// The trimmed text of a child, `None` when absent or empty.
    pub fn child_text(&self, ns: &str, name: &str) -> Option<String> {
        self.child(ns, name)
            .map(|c| c.text.trim().to_owned())
            .filter(|t| !t.is_empty())
    }
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

fn resolved_ns(r: ResolveResult<'_>) -> Result<String, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(ns.0.to_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(XmlError::UnboundPrefix(p)),
    }
}

/// Parse a whole document into its root element.
pub fn parse(input: &[u8], limits: Limits) -> Result<Element, XmlError> {
    if input.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(limits.max_bytes));
    }
    let text = std::str::from_utf8(input).map_err(|e| XmlError::Syntax(e.to_string()))?;
    let mut reader = NsReader::from_str(text);
    let cfg = reader.config_mut();
    cfg.check_end_names = true;
    cfg.check_comments = true;
    cfg.expand_empty_elements = false;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let syntax = |e: quick_xml::Error| XmlError::Syntax(e.to_string());
    loop {
        let (ns, ev) = reader.read_resolved_event().map_err(syntax)?;
        match ev {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root.is_some() {
                    return Err(XmlError::Syntax("content after the root element".into()));
                }
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let el = Element {
                    ns: resolved_ns(ns)?,
                    name: e.local_name().into_inner().to_owned(),
                    ..Element::default()
                };
                if matches!(ev, Event::Start(_)) {
                    stack.push(el);
                } else {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(XmlError::Syntax("unbalanced end tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(XmlError::Syntax("text outside the root".into())),
                }
            }
            Event::CData(c) => {
                let s = c.xml10_content();
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(syntax)?
                        .ok_or_else(|| XmlError::Entity(r.clone().into_inner().into_owned()))?
                } else {
                    let name = r.into_inner();
                    predefined(&name).ok_or_else(|| XmlError::Entity(name.into_owned()))?
                };
                if let Some(el) = stack.last_mut() {
                    el.text.push(c);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax("unexpected end of document".into()));
    }
    root.ok_or(XmlError::Empty)
}

/// Escape text for element content.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_text_and_refs() {
        let doc =
            br#"<?xml version="1.0"?><a:r xmlns:a="urn:a"><a:x>1 &amp; &#50;</a:x><y/></a:r>"#;
        let r = parse(doc, Limits::default()).unwrap();
        assert_eq!((r.ns.as_str(), r.name.as_str()), ("urn:a", "r"));
        assert_eq!(r.child_text("urn:a", "x").as_deref(), Some("1 & 2"));
        assert!(r.child("", "y").is_some());
    }

    #[test]
    fn refuses_doctype_depth_and_size() {
        let bomb = br#"<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>"#;
        assert_eq!(parse(bomb, Limits::default()), Err(XmlError::Doctype));
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert_eq!(
            parse(deep.as_bytes(), Limits::default()),
            Err(XmlError::TooDeep(32))
        );
        let small = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            parse(b"<r>0123456789</r>", small),
            Err(XmlError::TooLarge(10))
        );
        assert!(parse(b"<r><x></r>", Limits::default()).is_err());
    }
}
