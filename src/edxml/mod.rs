//! Reading QCVN 102 packages (document and status) into the canonical model, in one streaming
//! pass. Elements are matched by local name (senders vary prefixes and namespaces); attachments
//! are base64-decoded as they stream by into spool files, never held whole in memory.

mod base64_stream;
pub mod strict;
pub mod unzip;
pub mod write;

use crate::xml::{Limits, Node, Reader, XmlError};
use base64_stream::Base64Sink;
use lienthong_contract::edoc::{
    Attachment, BusinessAction, DocumentHeader, Organ, Priority, ReceiverChange, Replacement,
    ResponseFor, StatusCode, StatusHeader,
};
use lienthong_contract::OrganId;
use std::io::BufRead;
use std::path::PathBuf;

/// What a package is.
#[derive(Debug, Clone, PartialEq)]
pub enum Package {
    Document {
        header: DocumentHeader,
        attachments: Vec<(Attachment, PathBuf)>,
    },
    Status(StatusHeader),
}

#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Where decoded attachments are written.
    pub spool_dir: PathBuf,
    pub max_attachments: usize,
    /// Largest decoded attachment.
    pub max_attachment_bytes: u64,
    /// Largest text of a header field.
    pub max_field_len: usize,
    pub limits: Limits,
    /// Unzip `application/zip` attachments whose name does not end in `.zip` (VNPT SDK
    /// convention; assumed, so configurable). `None` keeps them as sent.
    pub unzip: Option<unzip::UnzipLimits>,
    /// fsync spooled attachments (when they are kept); off for a read that only inspects.
    pub sync_spool: bool,
    /// Write decoded attachments to `spool_dir`. `false`: check, measure and hash them only
    /// (no files; the attachments' paths are empty).
    pub keep_attachments: bool,
    /// Compute each attachment's SHA-256. `false` (only with `keep_attachments = false`): the
    /// attachments' `sha256` are empty.
    pub hash_attachments: bool,
}

impl ReadOptions {
    pub fn new(spool_dir: impl Into<PathBuf>) -> Self {
        ReadOptions {
            spool_dir: spool_dir.into(),
            max_attachments: 100,
            max_attachment_bytes: 512 << 20,
            max_field_len: 64 * 1024,
            limits: Limits::default(),
            unzip: Some(unzip::UnzipLimits::default()),
            sync_spool: true,
            keep_attachments: true,
            hash_attachments: true,
        }
    }
}

/// Why a package was refused; each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum EdxmlError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("the root element is {0}, not an edXML package")]
    NotEdxml(String),
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("invalid organ identifier in {field}: {value:?}")]
    BadOrganId { field: &'static str, value: String },
    #[error("header field {0} is too long")]
    FieldTooLong(String),
    #[error("more than {0} attachments")]
    TooManyAttachments(usize),
    #[error("attachment {0} is larger than the limit")]
    AttachmentTooLarge(String),
    #[error("attachment {0} is not valid base64")]
    BadBase64(String),
    #[error("two attachments share ContentId {0}")]
    DuplicateContentId(String),
    #[error("zipped attachment {name}: {reason}")]
    Zip { name: String, reason: String },
    #[error("spool: {0}")]
    Io(String),
    #[error("{field} has the value {value:?}, outside its code table")]
    BadCode { field: &'static str, value: String },
}

impl EdxmlError {
    pub fn code(&self) -> &'static str {
        match self {
            EdxmlError::Xml(x) => x.code(),
            EdxmlError::NotEdxml(_) => "edxml_not_a_package",
            EdxmlError::Missing(_) => "edxml_missing_field",
            EdxmlError::BadOrganId { .. } => "edxml_bad_organ_id",
            EdxmlError::FieldTooLong(_) => "edxml_field_too_long",
            EdxmlError::TooManyAttachments(_) => "edxml_too_many_attachments",
            EdxmlError::AttachmentTooLarge(_) => "edxml_attachment_too_large",
            EdxmlError::BadBase64(_) => "edxml_bad_base64",
            EdxmlError::DuplicateContentId(_) => "edxml_duplicate_content_id",
            EdxmlError::Zip { .. } => "edxml_bad_zip",
            EdxmlError::Io(_) => "edxml_spool_error",
            EdxmlError::BadCode { .. } => "edxml_bad_code",
        }
    }
}

fn local(q: &str) -> &str {
    q.rsplit_once(':').map(|(_, l)| l).unwrap_or(q)
}

fn set(slot: &mut Option<String>, v: &str) {
    *slot = Some(v.trim().to_owned());
}

fn organ_field(o: &mut Organ, field: &str, v: &str) {
    match field {
        "OrganId" => o.id = v.trim().to_owned(),
        "OrganName" => set(&mut o.name, v),
        "OrganizationInCharge" => set(&mut o.in_charge, v),
        "OrganAdd" => set(&mut o.address, v),
        "Email" => set(&mut o.email, v),
        "Telephone" => set(&mut o.telephone, v),
        "Fax" => set(&mut o.fax, v),
        "Website" => set(&mut o.website, v),
        _ => {}
    }
}

fn response_field(r: &mut ResponseFor, field: &str, v: &str) {
    match field {
        "OrganId" => r.organ_id = v.trim().to_owned(),
        "Code" => set(&mut r.code, v),
        "PromulgationDate" => set(&mut r.promulgation_date, v),
        "DocumentId" => r.document_id = v.trim().to_owned(),
        _ => {}
    }
}

/// An attachment being read.
struct Pending {
    meta: Attachment,
    sink: Option<(Base64Sink, PathBuf)>,
}

/// Read a package from `input`. On any error, the spool files it wrote are removed.
pub fn read<R: BufRead>(input: R, opts: &ReadOptions) -> Result<Package, EdxmlError> {
    let mut reader = Reader::new(input, opts.limits);
    let mut header = HeaderReader::new(opts);
    while let Some(node) = reader.next()? {
        header.node(&node)?;
    }
    header.finish()
}

/// The package reader, fed one node at a time: by [`read`], or by another pass over the same
/// bytes (the signature check's, so the package is parsed once on the way in). Spool files it
/// wrote are removed unless [`HeaderReader::finish`] succeeds.
pub struct HeaderReader<'o> {
    opts: &'o ReadOptions,
    path: Vec<String>,
    text: String,
    doc: DocumentHeader,
    status_code: Option<String>,
    status_desc: Option<String>,
    status_time: Option<String>,
    attachments: Vec<(Attachment, PathBuf)>,
    pending: Option<Pending>,
    root_checked: bool,
    spooled: Vec<PathBuf>,
}

impl Drop for HeaderReader<'_> {
    fn drop(&mut self) {
        for f in self.spooled.drain(..) {
            let _ = std::fs::remove_file(f);
        }
    }
}

impl<'o> HeaderReader<'o> {
    pub fn new(opts: &'o ReadOptions) -> Self {
        HeaderReader {
            opts,
            path: Vec::new(),
            text: String::new(),
            doc: DocumentHeader::default(),
            status_code: None,
            status_desc: None,
            status_time: None,
            attachments: Vec::new(),
            pending: None,
            root_checked: false,
            spooled: Vec::new(),
        }
    }

    /// Take the next node of the document, in order.
    pub fn node(&mut self, node: &Node<'_>) -> Result<(), EdxmlError> {
        let io = |e: std::io::Error| EdxmlError::Io(e.to_string());
        match node {
            Node::Start { name, .. } => {
                let l = local(&name).to_owned();
                if !self.root_checked {
                    if !matches!(l.as_str(), "edXML" | "edXMLEnvelope") {
                        return Err(EdxmlError::NotEdxml(name.to_string()));
                    }
                    self.root_checked = true;
                }
                let parent = self.path.last().map(String::as_str).unwrap_or("");
                match (parent, l.as_str()) {
                    ("MessageHeader", "To") => self.doc.to.push(Organ::default()),
                    ("MessageHeader", "ResponseFor") => {
                        self.doc.response_for.push(ResponseFor::default())
                    }
                    ("ReceiverList", "Receiver") => self.doc.receiver_changes.push(ReceiverChange::default()),
                    ("ReplacementInfoList", "ReplacementInfo") => {
                        self.doc.replacements.push(Replacement::default())
                    }
                    ("AttachmentEncoded", "Attachment") => {
                        if self.attachments.len() >= self.opts.max_attachments {
                            return Err(EdxmlError::TooManyAttachments(self.opts.max_attachments));
                        }
                        self.pending = Some(Pending {
                            meta: Attachment::default(),
                            sink: None,
                        });
                    }
                    ("Attachment", "ContentTransferEncoded") if !self.opts.keep_attachments => {
                        if let Some(p) = self.pending.as_mut() {
                            let sink = Base64Sink::discard(self.opts.max_attachment_bytes);
                            let sink = if self.opts.hash_attachments { sink } else { sink.without_digest() };
                            p.sink = Some((sink, PathBuf::new()));
                        }
                    }
                    ("Attachment", "ContentTransferEncoded") => {
                        if let Some(p) = self.pending.as_mut() {
                            std::fs::create_dir_all(&self.opts.spool_dir).map_err(io)?;
                            let file = self.opts
                                .spool_dir
                                .join(format!("{}.att", crate::edge::request_id::generate()));
                            self.spooled.push(file.clone());
                            p.sink = Some((
                                Base64Sink::create(&file, self.opts.max_attachment_bytes, self.opts.sync_spool).map_err(io)?,
                                file,
                            ));
                        }
                    }
                    _ => {}
                }
                self.path.push(l);
                self.text.clear();
            }
            Node::Text(t) => {
                let in_content = self.path.last().is_some_and(|l| l == "ContentTransferEncoded");
                match (in_content, self.pending.as_mut()) {
                    (
                        true,
                        Some(Pending {
                            meta,
                            sink: Some((sink, _)),
                        }),
                    ) => {
                        sink.write(&t).map_err(|e| match e {
                            base64_stream::Error::TooLarge => {
                                EdxmlError::AttachmentTooLarge(meta.name.clone())
                            }
                            base64_stream::Error::Invalid => {
                                EdxmlError::BadBase64(meta.name.clone())
                            }
                            base64_stream::Error::Io(e) => EdxmlError::Io(e),
                        })?;
                    }
                    _ => {
                        if self.text.len() + t.len() > self.opts.max_field_len {
                            return Err(EdxmlError::FieldTooLong(self.path.join("/")));
                        }
                        self.text.push_str(&t);
                    }
                }
            }
            Node::End { .. } => {
                let l = self.path.pop().unwrap_or_default();
                let parent = self.path.last().map(String::as_str).unwrap_or("");
                let grand = self.path
                    .len()
                    .checked_sub(2)
                    .map(|i| self.path[i].as_str())
                    .unwrap_or("");
                match (grand, parent, l.as_str()) {
                    ("MessageHeader", "From", f) => organ_field(&mut self.doc.from, f, &self.text),
                    ("MessageHeader", "To", f) => {
                        if let Some(o) = self.doc.to.last_mut() {
                            organ_field(o, f, &self.text)
                        }
                    }
                    ("MessageHeader", "ResponseFor", f) => {
                        if let Some(r) = self.doc.response_for.last_mut() {
                            response_field(r, f, &self.text)
                        }
                    }
                    (_, "MessageHeader", "DocumentId") => self.doc.document_id = self.text.trim().to_owned(),
                    (_, "MessageHeader", "Subject") => set(&mut self.doc.subject, &self.text),
                    (_, "MessageHeader", "Content") => set(&mut self.doc.content, &self.text),
                    (_, "MessageHeader", "DueDate") => set(&mut self.doc.due_date, &self.text),
                    (_, "MessageHeader", "SteeringType") => set(&mut self.doc.steering_type, &self.text),
                    (_, "MessageHeader", "StatusCode") => set(&mut self.status_code, &self.text),
                    (_, "MessageHeader", "Description") => set(&mut self.status_desc, &self.text),
                    (_, "MessageHeader", "Timestamp") => set(&mut self.status_time, &self.text),
                    ("MessageHeader", "Code", "CodeNumber") => set(&mut self.doc.code_number, &self.text),
                    ("MessageHeader", "Code", "CodeNotation") => set(&mut self.doc.code_notation, &self.text),
                    (_, "PromulgationInfo", "Place") => set(&mut self.doc.place, &self.text),
                    (_, "PromulgationInfo", "PromulgationDate") => {
                        set(&mut self.doc.promulgation_date, &self.text)
                    }
                    (_, "DocumentType", "Type") => set(&mut self.doc.document_type, &self.text),
                    (_, "DocumentType", "TypeName") => set(&mut self.doc.document_type_name, &self.text),
                    (_, "SignerInfo", "FullName") => set(&mut self.doc.signer_name, &self.text),
                    (_, "SignerInfo", "Position") => set(&mut self.doc.signer_position, &self.text),
                    (_, "OtherInfo", "Priority") => self.doc.priority = Some(Priority::from_code(&self.text)),
                    (_, "Bussiness", "BussinessDocType") => {
                        if BusinessAction::from_code(Some(&self.text)).is_none() {
                            return Err(EdxmlError::BadCode {
                                field: "Bussiness/BussinessDocType",
                                value: self.text.trim().to_owned(),
                            });
                        }
                        set(&mut self.doc.business_doc_type, &self.text)
                    }
                    (_, "Bussiness", "DocumentId") => set(&mut self.doc.business_document_id, &self.text),
                    (_, "Receiver", f) => {
                        if let Some(r) = self.doc.receiver_changes.last_mut() {
                            match (f, self.text.trim()) {
                                ("OrganId", v) => r.organ_id = v.to_owned(),
                                ("ReceiverType", "1") => r.added = true,
                                ("ReceiverType", "0") => r.added = false,
                                ("ReceiverType", v) => {
                                    return Err(EdxmlError::BadCode {
                                        field: "Receiver/ReceiverType",
                                        value: v.to_owned(),
                                    })
                                }
                                _ => {}
                            }
                        }
                    }
                    ("ReplacementInfoList", "ReplacementInfo", "DocumentId") => {
                        if let Some(r) = self.doc.replacements.last_mut() {
                            r.document_id = self.text.trim().to_owned();
                        }
                    }
                    ("ReplacementInfo", "OrganIdList", "OrganId") => {
                        if let Some(r) = self.doc.replacements.last_mut() {
                            r.organs.push(self.text.trim().to_owned());
                        }
                    }
                    ("AttachmentEncoded", "Attachment", f) => {
                        if let Some(p) = self.pending.as_mut() {
                            match f {
                                "ContentId" => p.meta.content_id = self.text.trim().to_owned(),
                                "AttachmentName" => p.meta.name = self.text.trim().to_owned(),
                                "ContentType" => p.meta.content_type = self.text.trim().to_owned(),
                                "Description" => set(&mut p.meta.description, &self.text),
                                _ => {}
                            }
                        }
                    }
                    (_, "AttachmentEncoded", "Attachment") => {
                        if let Some(p) = self.pending.take() {
                            let mut meta = p.meta;
                            let Some((sink, file)) = p.sink else {
                                return Err(EdxmlError::Missing(
                                    "Attachment/ContentTransferEncoded",
                                ));
                            };
                            let (size, sha) = sink
                                .finish()
                                .map_err(|_| EdxmlError::BadBase64(meta.name.clone()))?;
                            meta.size = size;
                            meta.sha256 = sha;
                            let mut file = file;
                            let zipped = meta.content_type.eq_ignore_ascii_case("application/zip")
                                && !meta.name.to_ascii_lowercase().ends_with(".zip");
                            if let (true, Some(limits)) = (zipped, self.opts.unzip) {
                                let (out, size, sha, _entry) =
                                    unzip::first_entry(&file, &self.opts.spool_dir, limits).map_err(
                                        |e| EdxmlError::Zip {
                                            name: meta.name.clone(),
                                            reason: format!("{e:?}"),
                                        },
                                    )?;
                                self.spooled.push(out.clone());
                                let _ = std::fs::remove_file(&file);
                                file = out;
                                meta.size = size;
                                meta.sha256 = sha;
                                meta.content_type = unzip::content_type_for(&meta.name).to_owned();
                            }
                            if self.attachments
                                .iter()
                                .any(|(a, _)| a.content_id == meta.content_id)
                            {
                                return Err(EdxmlError::DuplicateContentId(meta.content_id));
                            }
                            self.attachments.push((meta, file));
                        }
                    }
                    _ => {}
                }
                self.text.clear();
            }
            _ => {}
        }
        Ok(())
    }

    /// The package, once every node has been fed.
    pub fn finish(mut self) -> Result<Package, EdxmlError> {
        let package = self.package()?;
        // Kept: the attachments' files now belong to the caller.
        self.spooled.clear();
        Ok(package)
    }

    fn package(&mut self) -> Result<Package, EdxmlError> {
        let doc = std::mem::take(&mut self.doc);
        let attachments = std::mem::take(&mut self.attachments);
        let (status_code, status_desc, status_time) =
            (self.status_code.take(), self.status_desc.take(), self.status_time.take());
        let check_organ = |field: &'static str, v: &str| -> Result<(), EdxmlError> {
            if v.is_empty() {
                return Err(EdxmlError::Missing(field));
            }
            OrganId::parse(v)
                .map(|_| ())
                .map_err(|_| EdxmlError::BadOrganId {
                    field,
                    value: v.to_owned(),
                })
        };
        check_organ("From/OrganId", &doc.from.id)?;
        if let Some(code) = status_code {
            let response_for = doc
                .response_for
                .into_iter()
                .next()
                .ok_or(EdxmlError::Missing("ResponseFor"))?;
            check_organ("ResponseFor/OrganId", &response_for.organ_id)?;
            return Ok(Package::Status(StatusHeader {
                from: doc.from,
                response_for,
                status: Some(StatusCode::from_code(&code)),
                description: status_desc,
                timestamp: status_time,
            }));
        }
        if doc.to.is_empty() {
            return Err(EdxmlError::Missing("To"));
        }
        for t in &doc.to {
            check_organ("To/OrganId", &t.id)?;
        }
        for r in &doc.receiver_changes {
            check_organ("Receiver/OrganId", &r.organ_id)?;
        }
        for r in &doc.replacements {
            if r.document_id.is_empty() {
                return Err(EdxmlError::Missing("ReplacementInfo/DocumentId"));
            }
            for o in &r.organs {
                check_organ("ReplacementInfo/OrganIdList/OrganId", o)?;
            }
        }
        if doc.document_id.is_empty() {
            return Err(EdxmlError::Missing("DocumentId"));
        }
        Ok(Package::Document {
            header: doc,
            attachments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../shared/domain/samples/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn document_sample_into_canonical_model() {
        let dir = tempfile::tempdir().unwrap();
        let raw = sample("edoc-new.edxml");
        let Package::Document {
            header,
            attachments,
        } = read(&raw[..], &ReadOptions::new(dir.path())).unwrap()
        else {
            panic!("not a document")
        };
        assert_eq!(header.from.id, "000.00.12.H99");
        assert_eq!(header.from.name.as_deref(), Some("Sở Nội vụ tỉnh Ví Dụ"));
        assert_eq!(header.to.len(), 1);
        assert_eq!(header.to[0].id, "000.00.00.H99");
        assert_eq!(header.to[0].fax.as_deref(), Some(""));
        assert_eq!(header.document_id, "000.00.12.H99,2026/03/02,45/SNV-VP");
        assert_eq!(
            (
                header.code_number.as_deref(),
                header.code_notation.as_deref()
            ),
            (Some("45"), Some("SNV-VP"))
        );
        assert_eq!(header.promulgation_date.as_deref(), Some("2026/03/02"));
        assert_eq!(header.document_type_name.as_deref(), Some("Công văn"));
        assert_eq!(
            header.subject.as_deref(),
            Some("V/v thử nghiệm kết nối liên thông văn bản")
        );
        assert_eq!(header.signer_name.as_deref(), Some("Trần Văn Mẫu"));
        assert_eq!(header.priority, Some(Priority::Urgent));
        assert_eq!(header.steering_type.as_deref(), Some("1"));
        assert_eq!(header.business_doc_type.as_deref(), Some("0"));
        assert_eq!(attachments.len(), 1);
        let (meta, file) = &attachments[0];
        assert_eq!(meta.content_id, "cid:0f6c2b1e-5a47-4d0e-9b7a-3c2d1e0f9a11");
        assert_eq!(meta.name, "tep-dinh-kem-mau.txt");
        // Independent decode of the text as written in the sample.
        let text = String::from_utf8(raw.clone()).unwrap();
        let b64 = text
            .split("<ContentTransferEncoded>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        let expected = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(std::fs::read(file).unwrap(), expected);
        assert_eq!(meta.size, expected.len() as u64);
        assert_eq!(meta.sha256, hex::encode(openssl::sha::sha256(&expected)));
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(
                *name,
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated),
            )
            .unwrap();
            std::io::Write::write_all(&mut w, data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn with_attachment(name: &str, content_type: &str, bytes: &[u8]) -> String {
        let raw = String::from_utf8(sample("edoc-new.edxml")).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let start =
            raw.find("<ContentTransferEncoded>").unwrap() + "<ContentTransferEncoded>".len();
        let end = raw.find("</ContentTransferEncoded>").unwrap();
        let doc = format!("{}{}{}", &raw[..start], b64, &raw[end..]);
        doc.replace(
            "<AttachmentName>tep-dinh-kem-mau.txt</AttachmentName>",
            &format!("<AttachmentName>{name}</AttachmentName>"),
        )
        .replace(
            "<ContentType>text/plain</ContentType>\n   <ContentTransferEncoded>",
            &format!("<ContentType>{content_type}</ContentType>\n   <ContentTransferEncoded>"),
        )
    }

    #[test]
    fn zipped_attachments_are_unzipped_with_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ReadOptions::new(dir.path());
        let pdf = b"%PDF-1.4 cong van so 45".repeat(100);
        let doc = with_attachment(
            "cong-van-45.pdf",
            "application/zip",
            &zip_of(&[("cong-van-45.pdf", &pdf)]),
        );
        let Package::Document { attachments, .. } = read(doc.as_bytes(), &opts).unwrap() else {
            panic!()
        };
        let (meta, file) = &attachments[0];
        assert_eq!(std::fs::read(file).unwrap(), pdf);
        assert_eq!(meta.size, pdf.len() as u64);
        assert_eq!(meta.content_type, "application/pdf");
        assert_eq!(meta.sha256, hex::encode(openssl::sha::sha256(&pdf)));
        // A real .zip file is kept as sent.
        let kept = with_attachment("ho-so.zip", "application/zip", &zip_of(&[("a.txt", b"a")]));
        let Package::Document { attachments, .. } = read(kept.as_bytes(), &opts).unwrap() else {
            panic!()
        };
        assert_eq!(attachments[0].0.content_type, "application/zip");
        // Bombs, path traversal and garbage are refused.
        let code = |doc: &str, o: &ReadOptions| read(doc.as_bytes(), o).err().map(|e| e.code());
        let zeros = vec![0u8; 4 << 20];
        let small = ReadOptions {
            unzip: Some(unzip::UnzipLimits {
                max_bytes: 1 << 20,
                ..Default::default()
            }),
            ..ReadOptions::new(dir.path())
        };
        assert_eq!(
            code(
                &with_attachment("x.pdf", "application/zip", &zip_of(&[("x.pdf", &zeros)])),
                &small
            ),
            Some("edxml_bad_zip")
        );
        assert_eq!(
            code(
                &with_attachment(
                    "x.pdf",
                    "application/zip",
                    &zip_of(&[("../../etc/x.pdf", b"x")])
                ),
                &opts
            ),
            Some("edxml_bad_zip")
        );
        assert_eq!(
            code(
                &with_attachment("x.pdf", "application/zip", b"not a zip"),
                &opts
            ),
            Some("edxml_bad_zip")
        );
    }

    #[test]
    fn status_sample_into_canonical_model() {
        let dir = tempfile::tempdir().unwrap();
        let Package::Status(s) = read(
            &sample("status-03.edxml")[..],
            &ReadOptions::new(dir.path()),
        )
        .unwrap() else {
            panic!("not a status")
        };
        assert_eq!(s.from.id, "000.00.00.H99");
        assert_eq!(s.status, Some(StatusCode::Accepted));
        assert_eq!(
            s.response_for.document_id,
            "000.00.12.H99,2026/03/02,45/SNV-VP"
        );
        assert_eq!(s.response_for.code.as_deref(), Some("45/SNV-VP"));
        assert_eq!(s.timestamp.as_deref(), Some("2026/03/02 10:05:12"));
    }

    #[test]
    fn quirks_tolerated_and_mistakes_named() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ReadOptions::new(dir.path());
        let raw = String::from_utf8(sample("edoc-new.edxml")).unwrap();
        // CRLF line ends and a different prefix for the same namespace.
        let crlf = raw
            .replace('\n', "\r\n")
            .replace("edXML:", "q:")
            .replace("xmlns:edXML=", "xmlns:q=");
        assert!(matches!(
            read(crlf.as_bytes(), &opts).unwrap(),
            Package::Document { .. }
        ));
        let code = |doc: &str| read(doc.as_bytes(), &opts).err().map(|e| e.code());
        assert_eq!(
            code(&raw.replace(
                "<edXML:OrganId>000.00.12.H99</edXML:OrganId>",
                "<edXML:OrganId>bad id</edXML:OrganId>"
            )),
            Some("edxml_bad_organ_id")
        );
        assert_eq!(
            code(&raw.replace("VOG7h3Ag", "VOG7h3A!")),
            Some("edxml_bad_base64")
        );
        assert_eq!(code("<other/>"), Some("edxml_not_a_package"));
        let no_to = raw.split("<edXML:To>").next().unwrap().to_owned()
            + raw.split("</edXML:To>").nth(1).unwrap();
        assert_eq!(code(&no_to), Some("edxml_missing_field"));
        let att_start = raw.find("  <Attachment>").unwrap();
        let att_end = raw.find("</Attachment>").unwrap() + "</Attachment>\n".len();
        let twice = format!(
            "{}{}{}",
            &raw[..att_end],
            &raw[att_start..att_end],
            &raw[att_end..]
        );
        assert_eq!(code(&twice), Some("edxml_duplicate_content_id"));
        // Refused packages leave nothing in the spool (one good read above left one file).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
