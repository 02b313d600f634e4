//! Canonical XML 1.0 (inclusive) and Exclusive XML Canonicalization 1.0, with and without
//! comments, computed event by event into any [`std::io::Write`] (a buffer or a running digest),
//! so a document is never held whole. Document subsets whose apex has non-output ancestors (a
//! `SignedInfo` inside its document) are supported through [`Canonicalizer::push_context`].

use crate::xml::{Attr, Limits, Node, Reader, XmlError};
use std::io::Write;

pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The canonicalization algorithms, by their XML-DSig identifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    C14n,
    C14nWithComments,
    ExcC14n,
    ExcC14nWithComments,
}

impl Algorithm {
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri {
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" => Algorithm::C14n,
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments" => {
                Algorithm::C14nWithComments
            }
            "http://www.w3.org/2001/10/xml-exc-c14n#" => Algorithm::ExcC14n,
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" => Algorithm::ExcC14nWithComments,
            _ => return None,
        })
    }

    pub fn uri(self) -> &'static str {
        match self {
            Algorithm::C14n => "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            Algorithm::C14nWithComments => {
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
            }
            Algorithm::ExcC14n => "http://www.w3.org/2001/10/xml-exc-c14n#",
            Algorithm::ExcC14nWithComments => "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        }
    }

    pub fn exclusive(self) -> bool {
        matches!(self, Algorithm::ExcC14n | Algorithm::ExcC14nWithComments)
    }

    pub fn with_comments(self) -> bool {
        matches!(
            self,
            Algorithm::C14nWithComments | Algorithm::ExcC14nWithComments
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum C14nError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("namespace prefix {0:?} is not declared")]
    UndeclaredPrefix(String),
    #[error("write: {0}")]
    Io(#[from] std::io::Error),
}

/// One element on the stack.
struct Frame {
    /// Namespace declarations on this element, as written (`""` is the default namespace).
    declared: Vec<(String, String)>,
    /// Declarations rendered on this element in the output.
    rendered: Vec<(String, String)>,
    /// `xml:*` attributes on this element (for inheritance into a subset's apex).
    xml_attrs: Vec<(String, String)>,
    output: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pos {
    BeforeRoot,
    InRoot,
    AfterRoot,
}

/// A streaming canonicalizer.
pub struct Canonicalizer<W: Write> {
    out: W,
    alg: Algorithm,
    inclusive_prefixes: Vec<String>,
    frames: Vec<Frame>,
    pos: Pos,
    /// Depth (in output elements) of the current position, for knowing when the root closes.
    output_depth: usize,
}

/// Write `s`, replacing the bytes `table` maps to an escape.
/// Write `s` with each byte that `table` names replaced. `table` is inlined into the scan (a
/// text node of a package is mostly base64: kilobytes with nothing to replace).
#[inline(always)]
fn escape(
    s: &str,
    out: &mut impl Write,
    table: impl Fn(u8) -> Option<&'static [u8]>,
) -> std::io::Result<()> {
    let bytes = s.as_bytes();
    let mut last = 0;
    while let Some(off) = bytes[last..].iter().position(|&b| table(b).is_some()) {
        let i = last + off;
        out.write_all(&bytes[last..i])?;
        out.write_all(table(bytes[i]).unwrap_or_default())?;
        last = i + 1;
    }
    out.write_all(&bytes[last..])
}

/// Text content as canonical XML writes it. A package's text is mostly base64 (kilobytes with
/// nothing to replace), so the bytes to replace are found with `memchr`'s vector search rather
/// than one byte at a time.
pub fn escape_text(s: &str, out: &mut impl Write) -> std::io::Result<()> {
    let bytes = s.as_bytes();
    let mut last = 0;
    // A carriage return is rare in text (the reader turns line ends into '\n'; only a character
    // reference makes one): its next place is looked up again only once passed.
    let mut cr = memchr::memchr(b'\r', bytes);
    loop {
        if cr.is_some_and(|c| c < last) {
            cr = memchr::memchr(b'\r', &bytes[last..]).map(|i| last + i);
        }
        let markup = memchr::memchr3(b'&', b'<', b'>', &bytes[last..]).map(|i| last + i);
        let Some(i) = markup.into_iter().chain(cr).min() else {
            break;
        };
        out.write_all(&bytes[last..i])?;
        out.write_all(match bytes[i] {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            _ => b"&#xD;",
        })?;
        last = i + 1;
    }
    out.write_all(&bytes[last..])
}

/// An attribute value as canonical XML writes it (inside double quotes).
pub fn escape_attr(s: &str, out: &mut impl Write) -> std::io::Result<()> {
    escape(s, out, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'"' => Some(b"&quot;"),
        b'\t' => Some(b"&#x9;"),
        b'\n' => Some(b"&#xA;"),
        b'\r' => Some(b"&#xD;"),
        _ => None,
    })
}

fn split_qname(q: &str) -> (&str, &str) {
    match q.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", q),
    }
}

impl<W: Write> Canonicalizer<W> {
    pub fn new(out: W, alg: Algorithm) -> Self {
        Canonicalizer {
            out,
            alg,
            inclusive_prefixes: Vec::new(),
            frames: Vec::new(),
            pos: Pos::BeforeRoot,
            output_depth: 0,
        }
    }

    /// Exclusive C14N's `InclusiveNamespaces PrefixList` (`#default` names the default namespace).
    pub fn with_inclusive_prefixes(mut self, prefixes: &[String]) -> Self {
        self.inclusive_prefixes = prefixes
            .iter()
            .map(|p| {
                if p == "#default" {
                    String::new()
                } else {
                    p.clone()
                }
            })
            .collect();
        self
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// An ancestor that is not output (the context of a document subset): its namespace
    /// declarations and `xml:*` attributes are in scope for what follows.
    pub fn push_context(&mut self, attrs: &[Attr]) {
        let mut f = Frame {
            declared: Vec::new(),
            rendered: Vec::new(),
            xml_attrs: Vec::new(),
            output: false,
        };
        classify(attrs, &mut f);
        self.frames.push(f);
        self.pos = Pos::InRoot;
    }

    fn in_scope(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        for f in self.frames.iter().rev() {
            if let Some((_, u)) = f.declared.iter().find(|(p, _)| p == prefix) {
                return Some(u);
            }
        }
        if prefix.is_empty() {
            Some("")
        } else {
            None
        }
    }

    /// What the nearest output ancestor (excluding the top frame) has rendered for `prefix`.
    fn rendered_above(&self, prefix: &str) -> Option<&str> {
        let n = self.frames.len().saturating_sub(1);
        for f in self.frames[..n].iter().rev() {
            if let Some((_, u)) = f.rendered.iter().find(|(p, _)| p == prefix) {
                return Some(u);
            }
        }
        None
    }

    fn needs_render(&self, prefix: &str, uri: &str) -> bool {
        match self.rendered_above(prefix) {
            Some(r) => r != uri,
            // Nothing rendered: an empty default namespace is the initial state.
            None => !(prefix.is_empty() && uri.is_empty()),
        }
    }

    pub fn start(&mut self, name: &str, attrs: &[Attr]) -> Result<(), C14nError> {
        let mut frame = Frame {
            declared: Vec::new(),
            rendered: Vec::new(),
            xml_attrs: Vec::new(),
            output: true,
        };
        let regular = classify(attrs, &mut frame);
        let apex_of_subset = self.frames.last().is_some_and(|f| !f.output);
        self.frames.push(frame);
        let (el_prefix, _) = split_qname(name);

        // Namespace nodes to render.
        let mut ns: Vec<(String, String)> = Vec::new();
        if self.alg.exclusive() {
            let mut used: Vec<&str> = vec![el_prefix];
            for a in &regular {
                let (p, _) = split_qname(&a.name);
                if !p.is_empty() && p != "xml" {
                    used.push(p);
                }
            }
            for p in &self.inclusive_prefixes {
                if self.in_scope(p).is_some() {
                    used.push(p);
                }
            }
            used.sort_unstable();
            used.dedup();
            for p in used {
                let uri = self
                    .in_scope(p)
                    .ok_or_else(|| C14nError::UndeclaredPrefix(p.to_owned()))?;
                if self.needs_render(p, uri) {
                    ns.push((p.to_owned(), uri.to_owned()));
                }
            }
        } else {
            let mut scope: Vec<(String, String)> = Vec::new();
            for f in &self.frames {
                for (p, u) in &f.declared {
                    if p == "xml" {
                        continue;
                    }
                    match scope.iter_mut().find(|(q, _)| q == p) {
                        Some(e) => e.1 = u.clone(),
                        None => scope.push((p.clone(), u.clone())),
                    }
                }
            }
            for (p, u) in scope {
                if self.needs_render(&p, &u) {
                    ns.push((p, u));
                }
            }
            if !el_prefix.is_empty() && self.in_scope(el_prefix).is_none() {
                return Err(C14nError::UndeclaredPrefix(el_prefix.to_owned()));
            }
        }
        ns.sort_by(|a, b| a.0.cmp(&b.0));

        // Attributes, with xml:* inherited into the apex of a subset (inclusive C14N only).
        let mut attrs_out: Vec<(String, String, &str, &str)> = Vec::new(); // (ns uri, local, qname, value)
        let mut inherited: Vec<(String, String)> = Vec::new();
        if apex_of_subset && !self.alg.exclusive() {
            for f in self.frames[..self.frames.len() - 1]
                .iter()
                .rev()
                .take_while(|f| !f.output)
            {
                for (k, v) in &f.xml_attrs {
                    let here = regular.iter().any(|a| a.name == *k);
                    if !here && !inherited.iter().any(|(q, _)| q == k) {
                        inherited.push((k.clone(), v.clone()));
                    }
                }
            }
        }
        for a in &regular {
            let (p, local) = split_qname(&a.name);
            let uri = if p.is_empty() {
                String::new()
            } else {
                self.in_scope(p)
                    .ok_or_else(|| C14nError::UndeclaredPrefix(p.to_owned()))?
                    .to_owned()
            };
            attrs_out.push((uri, local.to_owned(), &a.name, &a.value));
        }
        for (k, v) in &inherited {
            attrs_out.push((XML_NS.to_owned(), split_qname(k).1.to_owned(), k, v));
        }
        attrs_out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));

        let out = &mut self.out;
        out.write_all(b"<")?;
        out.write_all(name.as_bytes())?;
        for (p, u) in &ns {
            if p.is_empty() {
                out.write_all(b" xmlns=\"")?;
            } else {
                out.write_all(b" xmlns:")?;
                out.write_all(p.as_bytes())?;
                out.write_all(b"=\"")?;
            }
            escape_attr(u, out)?;
            out.write_all(b"\"")?;
        }
        for (_, _, q, v) in &attrs_out {
            out.write_all(b" ")?;
            out.write_all(q.as_bytes())?;
            out.write_all(b"=\"")?;
            escape_attr(v, out)?;
            out.write_all(b"\"")?;
        }
        out.write_all(b">")?;
        if let Some(f) = self.frames.last_mut() {
            f.rendered = ns;
        }
        self.pos = Pos::InRoot;
        self.output_depth += 1;
        Ok(())
    }

    pub fn end(&mut self, name: &str) -> Result<(), C14nError> {
        self.frames.pop();
        self.out.write_all(b"</")?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(b">")?;
        self.output_depth = self.output_depth.saturating_sub(1);
        if self.output_depth == 0 && self.frames.is_empty() {
            self.pos = Pos::AfterRoot;
        }
        Ok(())
    }

    pub fn text(&mut self, t: &str) -> Result<(), C14nError> {
        escape_text(t, &mut self.out)?;
        Ok(())
    }

    fn outside(&mut self, before_root_newline: bool) -> std::io::Result<()> {
        if self.pos == Pos::AfterRoot && before_root_newline {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn outside_after(&mut self) -> std::io::Result<()> {
        if self.pos == Pos::BeforeRoot {
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn comment(&mut self, c: &str) -> Result<(), C14nError> {
        if !self.alg.with_comments() {
            return Ok(());
        }
        self.outside(true)?;
        self.out.write_all(b"<!--")?;
        self.out.write_all(c.as_bytes())?;
        self.out.write_all(b"-->")?;
        self.outside_after()?;
        Ok(())
    }

    pub fn pi(&mut self, target: &str, content: &str) -> Result<(), C14nError> {
        self.outside(true)?;
        self.out.write_all(b"<?")?;
        self.out.write_all(target.as_bytes())?;
        if !content.is_empty() {
            self.out.write_all(b" ")?;
            self.out.write_all(content.as_bytes())?;
        }
        self.out.write_all(b"?>")?;
        self.outside_after()?;
        Ok(())
    }

    /// Feed one reader node.
    pub fn node(&mut self, n: &Node<'_>) -> Result<(), C14nError> {
        match n {
            Node::Start { name, attrs } => self.start(name, attrs),
            Node::End { name } => self.end(name),
            Node::Text(t) => self.text(t),
            Node::Comment(c) => self.comment(c),
            Node::Pi { target, content } => self.pi(target, content),
        }
    }
}

/// Split attributes into namespace declarations / xml:* (recorded on the frame) and the rest.
fn classify<'a>(attrs: &'a [Attr], f: &mut Frame) -> Vec<&'a Attr> {
    let mut regular = Vec::new();
    for a in attrs {
        if a.name == "xmlns" {
            f.declared.push((String::new(), a.value.clone()));
        } else if let Some(p) = a.name.strip_prefix("xmlns:") {
            f.declared.push((p.to_owned(), a.value.clone()));
        } else {
            if a.name.starts_with("xml:") {
                f.xml_attrs.push((a.name.clone(), a.value.clone()));
            }
            regular.push(a);
        }
    }
    regular
}

/// Canonicalize a whole document.
pub fn canonicalize(
    input: &[u8],
    alg: Algorithm,
    inclusive_prefixes: &[String],
) -> Result<Vec<u8>, C14nError> {
    let mut reader = Reader::new(input, Limits::default());
    let mut c = Canonicalizer::new(Vec::with_capacity(input.len()), alg)
        .with_inclusive_prefixes(inclusive_prefixes);
    while let Some(n) = reader.next()? {
        c.node(&n)?;
    }
    Ok(c.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(doc: &str, alg: Algorithm) -> String {
        String::from_utf8(canonicalize(doc.as_bytes(), alg, &[]).unwrap()).unwrap()
    }

    /// The vector search writes what the byte-at-a-time table writes, whatever the mix and
    /// spacing of the bytes to replace (including several in a row, at either end, next to
    /// multi-byte characters, and texts longer than a vector).
    #[test]
    fn text_escape_matches_the_byte_table() {
        let table = |b| match b {
            b'&' => Some(&b"&amp;"[..]),
            b'<' => Some(&b"&lt;"[..]),
            b'>' => Some(&b"&gt;"[..]),
            b'\r' => Some(&b"&#xD;"[..]),
            _ => None,
        };
        let pieces = ["&", "<", ">", "\r", "a", "Ví dụ", "QUJD", "\n", "\"", "\t"];
        let mut seed = 0x2545_f491_u32;
        for len in 0..400 {
            let mut text = String::new();
            for _ in 0..len % 97 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let run = if seed % 7 == 0 { 40 } else { 1 };
                for _ in 0..run {
                    text.push_str(pieces[(seed >> 8) as usize % pieces.len()]);
                }
            }
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            escape_text(&text, &mut fast).unwrap();
            escape(&text, &mut slow, table).unwrap();
            assert_eq!(fast, slow, "text {text:?}");
        }
    }

    #[test]
    fn spec_basics() {
        assert_eq!(
            c14n("<?xml version=\"1.0\"?>\n<a b='1' a='2'/>", Algorithm::C14n),
            r#"<a a="2" b="1"></a>"#
        );
        assert_eq!(
            c14n("<!--c--><a/><!--d-->", Algorithm::C14nWithComments),
            "<!--c-->\n<a></a>\n<!--d-->"
        );
        assert_eq!(c14n("<!--c--><a/><!--d-->", Algorithm::C14n), "<a></a>");
        assert_eq!(
            c14n("<a>&lt;&gt;&amp;\"'</a>", Algorithm::C14n),
            "<a>&lt;&gt;&amp;\"'</a>"
        );
        assert_eq!(
            c14n("<a x='&#9;&#10;&#13;&quot;'/>", Algorithm::C14n),
            r#"<a x="&#x9;&#xA;&#xD;&quot;"></a>"#
        );
    }

    #[test]
    fn namespaces_inclusive_vs_exclusive() {
        let doc = r#"<a xmlns="urn:d" xmlns:p="urn:p" xmlns:u="urn:unused"><p:b xmlns:p="urn:p"><c xmlns=""/></p:b></a>"#;
        assert_eq!(
            c14n(doc, Algorithm::C14n),
            r#"<a xmlns="urn:d" xmlns:p="urn:p" xmlns:u="urn:unused"><p:b><c xmlns=""></c></p:b></a>"#
        );
        assert_eq!(
            c14n(doc, Algorithm::ExcC14n),
            r#"<a xmlns="urn:d"><p:b xmlns:p="urn:p"><c xmlns=""></c></p:b></a>"#
        );
    }

    #[test]
    fn subset_apex_gets_context() {
        // SignedInfo inside a document: ancestors' namespaces and xml:* are imported (inclusive).
        let mut c = Canonicalizer::new(Vec::new(), Algorithm::C14n);
        c.push_context(&[
            Attr {
                name: "xmlns".into(),
                value: "urn:d".into(),
            },
            Attr {
                name: "xmlns:ds".into(),
                value: "urn:ds".into(),
            },
            Attr {
                name: "xml:lang".into(),
                value: "vi".into(),
            },
        ]);
        c.start("ds:SignedInfo", &[]).unwrap();
        c.end("ds:SignedInfo").unwrap();
        assert_eq!(
            String::from_utf8(c.into_inner()).unwrap(),
            r#"<ds:SignedInfo xmlns="urn:d" xmlns:ds="urn:ds" xml:lang="vi"></ds:SignedInfo>"#
        );
        let mut e = Canonicalizer::new(Vec::new(), Algorithm::ExcC14n);
        e.push_context(&[
            Attr {
                name: "xmlns".into(),
                value: "urn:d".into(),
            },
            Attr {
                name: "xmlns:ds".into(),
                value: "urn:ds".into(),
            },
        ]);
        e.start("ds:SignedInfo", &[]).unwrap();
        e.end("ds:SignedInfo").unwrap();
        assert_eq!(
            String::from_utf8(e.into_inner()).unwrap(),
            r#"<ds:SignedInfo xmlns:ds="urn:ds"></ds:SignedInfo>"#
        );
    }
}
