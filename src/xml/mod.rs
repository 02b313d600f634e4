//! A hardened streaming XML reader over quick-xml: no DTD (a `<!DOCTYPE` is an error, so no
//! entity can be declared, expanded or fetched), only the five predefined entities and character
//! references, bounded depth, attribute count and name length, and well-formedness checked
//! (matching end tags, one root, no text outside it). Everything downstream — canonicalization,
//! signature verification, the edXML reader — consumes its [`Node`]s.

use quick_xml::events::Event;
use std::borrow::Cow;
use std::io::BufRead;

/// Limits applied while reading.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_attributes: usize,
    pub max_name_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_attributes: 64,
            max_name_len: 256,
        }
    }
}

/// Why a document was refused. Each variant has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("document type declarations (DOCTYPE) are not allowed")]
    Doctype,
    #[error("entity reference &{0}; is not defined (only the five predefined entities are)")]
    UndefinedEntity(String),
    #[error("invalid character reference &{0};")]
    BadCharRef(String),
    #[error("nesting deeper than {0} elements")]
    TooDeep(usize),
    #[error("more than {0} attributes on one element")]
    TooManyAttributes(usize),
    #[error("name longer than {0} characters")]
    NameTooLong(usize),
    #[error("duplicate attribute {0}")]
    DuplicateAttribute(String),
    #[error("end tag </{found}> does not match <{expected}>")]
    MismatchedEnd { expected: String, found: String },
    #[error("content outside the document element")]
    OutsideRoot,
    #[error("no document element")]
    NoRoot,
    #[error("malformed XML: {0}")]
    Syntax(String),
    #[error("read error: {0}")]
    Io(String),
}

impl XmlError {
    pub fn code(&self) -> &'static str {
        match self {
            XmlError::Doctype => "xml_doctype_forbidden",
            XmlError::UndefinedEntity(_) => "xml_undefined_entity",
            XmlError::BadCharRef(_) => "xml_bad_char_ref",
            XmlError::TooDeep(_) => "xml_too_deep",
            XmlError::TooManyAttributes(_) => "xml_too_many_attributes",
            XmlError::NameTooLong(_) => "xml_name_too_long",
            XmlError::DuplicateAttribute(_) => "xml_duplicate_attribute",
            XmlError::MismatchedEnd { .. } => "xml_mismatched_end",
            XmlError::OutsideRoot => "xml_content_outside_root",
            XmlError::NoRoot => "xml_no_root",
            XmlError::Syntax(_) => "xml_malformed",
            XmlError::Io(_) => "xml_read_error",
        }
    }
}

/// One attribute: qualified name as written, value with references resolved and whitespace
/// normalized as the XML spec requires for CDATA attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    pub value: String,
}

/// A node as the reader hands it over. Text is already unescaped with line endings normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node<'a> {
    Start {
        name: Cow<'a, str>,
        attrs: Vec<Attr>,
    },
    End {
        name: Cow<'a, str>,
    },
    Text(Cow<'a, str>),
    Comment(Cow<'a, str>),
    Pi {
        target: Cow<'a, str>,
        content: Cow<'a, str>,
    },
}

fn resolve_entity(name: &str) -> Result<char, XmlError> {
    Ok(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ if name.starts_with('#') => {
            let num = &name[1..];
            let code = if let Some(hex) = num.strip_prefix('x') {
                u32::from_str_radix(hex, 16)
            } else {
                num.parse::<u32>()
            }
            .map_err(|_| XmlError::BadCharRef(name.to_owned()))?;
            let c = char::from_u32(code).ok_or_else(|| XmlError::BadCharRef(name.to_owned()))?;
            let legal =
                matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(code, 0xFFFE | 0xFFFF));
            if !legal || num.is_empty() {
                return Err(XmlError::BadCharRef(name.to_owned()));
            }
            c
        }
        _ => return Err(XmlError::UndefinedEntity(name.to_owned())),
    })
}

/// Normalize a raw attribute value: resolve references, map literal TAB/LF/CR (and CRLF) to a
/// space. Characters produced by references are kept as they are.
pub fn normalize_attr(raw: &str) -> Result<String, XmlError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '&' => {
                let rest = &raw[i + 1..];
                let end = rest.find(';').ok_or_else(|| {
                    XmlError::Syntax("unterminated reference in attribute".into())
                })?;
                out.push(resolve_entity(&rest[..end])?);
                for _ in 0..=end {
                    chars.next();
                }
            }
            '\r' => {
                if matches!(chars.peek(), Some((_, '\n'))) {
                    chars.next();
                }
                out.push(' ');
            }
            '\n' | '\t' => out.push(' '),
            '<' => return Err(XmlError::Syntax("'<' in attribute value".into())),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn syntax(e: impl std::fmt::Display) -> XmlError {
    XmlError::Syntax(e.to_string())
}

/// Streaming reader. Call [`Reader::next`] until it returns `Ok(None)`.
pub struct Reader<R: BufRead> {
    inner: quick_xml::Reader<R>,
    buf: Vec<u8>,
    limits: Limits,
    stack: Vec<String>,
    seen_root: bool,
    pending_end: Option<String>,
    /// Bytes of character data read here rather than by quick-xml (for [`Reader::position`]).
    text_bytes: u64,
    /// An incomplete UTF-8 sequence carried to the next text chunk.
    carry: Vec<u8>,
}

/// Character data is handed over in chunks of about this size, so a large text node (a base64
/// attachment) never sits whole in memory.
pub const TEXT_CHUNK: usize = 64 * 1024;

impl<R: BufRead> Reader<R> {
    pub fn new(input: R, limits: Limits) -> Self {
        let mut inner = quick_xml::Reader::from_reader(input);
        let cfg = inner.config_mut();
        cfg.check_end_names = true;
        cfg.check_comments = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
        Reader {
            inner,
            buf: Vec::with_capacity(8192),
            limits,
            stack: Vec::new(),
            seen_root: false,
            pending_end: None,
            text_bytes: 0,
            carry: Vec::new(),
        }
    }

    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Byte offset in the input.
    pub fn position(&self) -> u64 {
        self.inner.buffer_position() + self.text_bytes
    }

    /// Read character data inside the root ourselves, up to the next `<` or [`TEXT_CHUNK`] bytes:
    /// references resolved, line ends normalized, UTF-8 checked. `None` when markup is next.
    fn text_chunk(&mut self) -> Result<Option<String>, XmlError> {
        let io = |e: std::io::Error| XmlError::Io(e.to_string());
        let mut out: Vec<u8> = std::mem::take(&mut self.carry);
        let carried = out.len();
        loop {
            if out.len() >= TEXT_CHUNK {
                break;
            }
            let r = self.inner.get_mut();
            let (stop, stop_byte) = {
                let avail = r.fill_buf().map_err(io)?;
                if avail.is_empty() {
                    return Err(XmlError::Syntax(
                        "unexpected end of document inside an element".into(),
                    ));
                }
                let scan = &avail[..avail.len().min(TEXT_CHUNK - out.len())];
                let stop = memchr::memchr3(b'<', b'&', b'\r', scan).unwrap_or(scan.len());
                out.extend_from_slice(&scan[..stop]);
                (stop, scan.get(stop).copied())
            };
            r.consume(stop);
            self.text_bytes += stop as u64;
            if let Some(stop_byte) = stop_byte {
                match stop_byte {
                    b'<' => break,
                    b'\r' => {
                        r.consume(1);
                        self.text_bytes += 1;
                        let next = r.fill_buf().map_err(io)?;
                        if next.first() == Some(&b'\n') {
                            r.consume(1);
                            self.text_bytes += 1;
                        }
                        out.push(b'\n');
                    }
                    _ => {
                        // '&' … ';' (bounded), possibly across buffer refills.
                        let mut name = Vec::new();
                        r.consume(1);
                        self.text_bytes += 1;
                        loop {
                            let buf = r.fill_buf().map_err(io)?;
                            let Some(&b) = buf.first() else {
                                return Err(XmlError::Syntax("unterminated reference".into()));
                            };
                            r.consume(1);
                            self.text_bytes += 1;
                            if b == b';' {
                                break;
                            }
                            if name.len() >= 32 {
                                return Err(XmlError::Syntax("reference too long".into()));
                            }
                            name.push(b);
                        }
                        let name = String::from_utf8_lossy(&name).into_owned();
                        let c = resolve_entity(&name)?;
                        let mut tmp = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                    }
                }
            }
        }
        if out.len() == carried && carried == 0 {
            return Ok(None);
        }
        let bad = || XmlError::Syntax("text is not valid UTF-8".into());
        match String::from_utf8(out) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.utf8_error().error_len().is_none() => {
                // A character split at the chunk edge: keep its first bytes for the next chunk.
                let valid = e.utf8_error().valid_up_to();
                let mut out = e.into_bytes();
                self.carry = out.split_off(valid);
                String::from_utf8(out).map(Some).map_err(|_| bad())
            }
            Err(_) => Err(bad()),
        }
    }
}

/// Read a start tag under the limits. `depth` is the number of open elements.
fn read_start(
    e: &quick_xml::events::BytesStart<'_>,
    limits: &Limits,
    depth: usize,
    root_closed: bool,
) -> Result<(String, Vec<Attr>), XmlError> {
    let name = e.name().into_inner().to_owned();
    if name.len() > limits.max_name_len {
        return Err(XmlError::NameTooLong(limits.max_name_len));
    }
    if depth == 0 && root_closed {
        return Err(XmlError::OutsideRoot);
    }
    if depth >= limits.max_depth {
        return Err(XmlError::TooDeep(limits.max_depth));
    }
    let mut attrs: Vec<Attr> = Vec::new();
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(syntax)?;
        let key = a.key.into_inner();
        if key.len() > limits.max_name_len {
            return Err(XmlError::NameTooLong(limits.max_name_len));
        }
        if attrs.len() >= limits.max_attributes {
            return Err(XmlError::TooManyAttributes(limits.max_attributes));
        }
        if attrs.iter().any(|x| x.name == key) {
            return Err(XmlError::DuplicateAttribute(key.to_owned()));
        }
        attrs.push(Attr {
            name: key.to_owned(),
            value: normalize_attr(&a.value)?,
        });
    }
    Ok((name, attrs))
}

impl<R: BufRead> Reader<R> {
    /// The next node, or `None` at the end of a well-formed document.
    pub fn next(&mut self) -> Result<Option<Node<'static>>, XmlError> {
        if let Some(name) = self.pending_end.take() {
            return Ok(Some(Node::End {
                name: Cow::Owned(name),
            }));
        }
        // Character data inside the root is read here, in bounded chunks.
        if !self.stack.is_empty() {
            if let Some(t) = self.text_chunk()? {
                return Ok(Some(Node::Text(Cow::Owned(t))));
            }
        }
        loop {
            self.buf.clear();
            let ev = self
                .inner
                .read_event_into(&mut self.buf)
                .map_err(|e| match e {
                    quick_xml::Error::Io(io) => XmlError::Io(io.to_string()),
                    quick_xml::Error::IllFormed(
                        quick_xml::errors::IllFormedError::MismatchedEndTag { expected, found },
                    ) => XmlError::MismatchedEnd { expected, found },
                    other => syntax(other),
                })?;
            let node = match ev {
                Event::Decl(_) => continue,
                Event::DocType(_) => return Err(XmlError::Doctype),
                Event::Start(e) => {
                    let (name, attrs) =
                        read_start(&e, &self.limits, self.stack.len(), self.seen_root)?;
                    self.seen_root = true;
                    self.stack.push(name.clone());
                    Node::Start {
                        name: Cow::Owned(name),
                        attrs,
                    }
                }
                Event::Empty(e) => {
                    let (name, attrs) =
                        read_start(&e, &self.limits, self.stack.len(), self.seen_root)?;
                    self.seen_root = true;
                    self.pending_end = Some(name.clone());
                    Node::Start {
                        name: Cow::Owned(name),
                        attrs,
                    }
                }
                Event::End(e) => {
                    let name = e.name().into_inner().to_owned();
                    match self.stack.pop() {
                        Some(open) if open == name => {}
                        Some(open) => {
                            return Err(XmlError::MismatchedEnd {
                                expected: open,
                                found: name,
                            })
                        }
                        None => return Err(XmlError::OutsideRoot),
                    }
                    Node::End {
                        name: Cow::Owned(name),
                    }
                }
                Event::Text(t) => {
                    let s = t.xml10_content().into_owned();
                    if self.stack.is_empty() {
                        if s.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                            continue;
                        }
                        return Err(XmlError::OutsideRoot);
                    }
                    Node::Text(Cow::Owned(s))
                }
                Event::GeneralRef(r) => {
                    if self.stack.is_empty() {
                        return Err(XmlError::OutsideRoot);
                    }
                    let name = r.into_inner();
                    Node::Text(Cow::Owned(resolve_entity(&name)?.to_string()))
                }
                Event::CData(c) => {
                    if self.stack.is_empty() {
                        return Err(XmlError::OutsideRoot);
                    }
                    Node::Text(Cow::Owned(c.xml10_content().into_owned()))
                }
                Event::Comment(c) => Node::Comment(Cow::Owned(c.xml10_content().into_owned())),
                Event::PI(p) => {
                    let target = p.target().to_owned();
                    if target.eq_ignore_ascii_case("xml") {
                        continue;
                    }
                    let content = p
                        .content()
                        .trim_start()
                        .replace("\r\n", "\n")
                        .replace('\r', "\n");
                    Node::Pi {
                        target: Cow::Owned(target),
                        content: Cow::Owned(content),
                    }
                }
                Event::Eof => {
                    if !self.stack.is_empty() {
                        return Err(XmlError::Syntax("unexpected end of document".into()));
                    }
                    if !self.seen_root {
                        return Err(XmlError::NoRoot);
                    }
                    return Ok(None);
                }
            };
            return Ok(Some(node));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(doc: &str) -> Result<Vec<Node<'static>>, XmlError> {
        let mut r = Reader::new(doc.as_bytes(), Limits::default());
        let mut v = Vec::new();
        while let Some(n) = r.next()? {
            v.push(n);
        }
        Ok(v)
    }

    #[test]
    fn hostile_documents_are_refused() {
        assert_eq!(
            all("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"),
            Err(XmlError::Doctype)
        );
        assert_eq!(
            all("<a>&x;</a>"),
            Err(XmlError::UndefinedEntity("x".into()))
        );
        assert_eq!(all("<a>&#0;</a>"), Err(XmlError::BadCharRef("#0".into())));
        assert_eq!(
            all(&format!("{}{}", "<a>".repeat(65), "</a>".repeat(65))),
            Err(XmlError::TooDeep(64))
        );
        assert_eq!(
            all(r#"<a x="1" x="2"/>"#),
            Err(XmlError::DuplicateAttribute("x".into()))
        );
        assert_eq!(all("<a/><b/>"), Err(XmlError::OutsideRoot));
        assert_eq!(all("<a/>text"), Err(XmlError::OutsideRoot));
        assert!(matches!(
            all("<a><b></a>"),
            Err(XmlError::MismatchedEnd { .. })
        ));
        assert_eq!(all(""), Err(XmlError::NoRoot));
    }

    #[test]
    fn attributes_are_normalized() {
        assert_eq!(normalize_attr("a\r\nb\tc\nd").unwrap(), "a b c d");
        assert_eq!(normalize_attr("a&#xA;b&#9;&lt;&amp;").unwrap(), "a\nb\t<&");
        assert!(normalize_attr("&bogus;").is_err());
    }

    #[test]
    fn large_text_comes_in_bounded_chunks() {
        // A multi-byte character straddles chunk edges; CRLF and references too.
        let body = "ệ".repeat(TEXT_CHUNK) + "\r\n&amp;&#x1EC7;";
        let doc = format!("<a>{body}</a>");
        let mut r = Reader::new(
            std::io::BufReader::with_capacity(1000, doc.as_bytes()),
            Limits::default(),
        );
        let mut text = String::new();
        let mut chunks = 0;
        while let Some(n) = r.next().unwrap() {
            if let Node::Text(t) = n {
                assert!(t.len() <= TEXT_CHUNK + 4);
                text.push_str(&t);
                chunks += 1;
            }
        }
        assert!(chunks >= 3, "{chunks}");
        assert_eq!(text, "ệ".repeat(TEXT_CHUNK) + "\n&ệ");
        assert_eq!(r.position(), doc.len() as u64);
    }

    #[test]
    fn text_and_references() {
        let n = all("<a>x&amp;y&#x41;\r\nz<![CDATA[<q>]]></a>").unwrap();
        let text: String = n
            .iter()
            .filter_map(|n| {
                if let Node::Text(t) = n {
                    Some(t.as_ref())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(text, "x&yA\nz<q>");
    }
}
