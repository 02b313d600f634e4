//! Writing QCVN 102 packages from the canonical model, in the element order of
//! `schemas/edxml.xsd` (the VNPT builder's order): status packages the gateway sends (dead-letter
//! notices) and documents for tests and tools. Sign the result with [`crate::dsig::sign::sign`];
//! the Signature then lands as the last child of `edXMLHeader`.

use lienthong_contract::edoc::{DocumentHeader, Organ, StatusCode, StatusHeader};
use std::fmt::Write;

/// The QCVN 102 namespace.
pub const NS: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\r' => o.push_str("&#13;"),
            c => o.push(c),
        }
    }
    o
}

fn el(out: &mut String, name: &str, v: &str) {
    let _ = write!(out, "<edXML:{name}>{}</edXML:{name}>", esc(v));
}

fn opt(out: &mut String, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        el(out, name, v);
    }
}

fn organ(out: &mut String, tag: &str, o: &Organ) {
    let _ = write!(out, "<edXML:{tag}>");
    el(out, "OrganId", &o.id);
    opt(out, "OrganizationInCharge", &o.in_charge);
    opt(out, "OrganName", &o.name);
    opt(out, "OrganAdd", &o.address);
    opt(out, "Email", &o.email);
    opt(out, "Telephone", &o.telephone);
    opt(out, "Fax", &o.fax);
    opt(out, "Website", &o.website);
    let _ = write!(out, "</edXML:{tag}>");
}

fn open(out: &mut String) {
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns=\"{NS}\" xmlns:edXML=\"{NS}\"><edXML:edXMLEnvelope><edXML:edXMLHeader><edXML:MessageHeader>"
    );
}

/// The two-digit wire code of a status.
pub fn status_code(s: &StatusCode) -> String {
    match s {
        StatusCode::Received => "01",
        StatusCode::Rejected => "02",
        StatusCode::Accepted => "03",
        StatusCode::Assigned => "04",
        StatusCode::Processing => "05",
        StatusCode::Done => "06",
        StatusCode::RevokeRequested => "13",
        StatusCode::RevokeAgreed => "15",
        StatusCode::RevokeRefused => "16",
        StatusCode::Other(c) => c,
    }
    .to_owned()
}

/// A status package (unsigned).
pub fn status(h: &StatusHeader) -> Vec<u8> {
    let mut o = String::with_capacity(1024);
    open(&mut o);
    organ(&mut o, "From", &h.from);
    o.push_str("<edXML:ResponseFor>");
    el(&mut o, "OrganId", &h.response_for.organ_id);
    opt(&mut o, "Code", &h.response_for.code);
    opt(&mut o, "PromulgationDate", &h.response_for.promulgation_date);
    el(&mut o, "DocumentId", &h.response_for.document_id);
    o.push_str("</edXML:ResponseFor>");
    if let Some(s) = &h.status {
        el(&mut o, "StatusCode", &status_code(s));
    }
    opt(&mut o, "Description", &h.description);
    opt(&mut o, "Timestamp", &h.timestamp);
    o.push_str("</edXML:MessageHeader></edXML:edXMLHeader></edXML:edXMLEnvelope></edXML>\n");
    o.into_bytes()
}

/// One attachment to write: name, MIME type and content (base64-encoded on the way out).
pub struct NewAttachment<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// A document package (unsigned) with its manifest and attachments.
pub fn document(h: &DocumentHeader, attachments: &[NewAttachment<'_>]) -> Vec<u8> {
    use base64::Engine;
    let mut o = String::with_capacity(
        2048 + attachments
            .iter()
            .map(|a| a.bytes.len() * 4 / 3 + 256)
            .sum::<usize>(),
    );
    open(&mut o);
    organ(&mut o, "From", &h.from);
    for t in &h.to {
        organ(&mut o, "To", t);
    }
    el(&mut o, "DocumentId", &h.document_id);
    if let (Some(n), Some(c)) = (&h.code_number, &h.code_notation) {
        o.push_str("<edXML:Code>");
        el(&mut o, "CodeNumber", n);
        el(&mut o, "CodeNotation", c);
        o.push_str("</edXML:Code>");
    }
    if let Some(d) = &h.promulgation_date {
        o.push_str("<edXML:PromulgationInfo>");
        opt(&mut o, "Place", &h.place);
        el(&mut o, "PromulgationDate", d);
        o.push_str("</edXML:PromulgationInfo>");
    }
    if let Some(t) = &h.document_type {
        o.push_str("<edXML:DocumentType>");
        el(&mut o, "Type", t);
        opt(&mut o, "TypeName", &h.document_type_name);
        o.push_str("</edXML:DocumentType>");
    }
    opt(&mut o, "Subject", &h.subject);
    opt(&mut o, "Content", &h.content);
    if h.signer_name.is_some() || h.signer_position.is_some() {
        o.push_str("<edXML:SignerInfo>");
        opt(&mut o, "Position", &h.signer_position);
        opt(&mut o, "FullName", &h.signer_name);
        o.push_str("</edXML:SignerInfo>");
    }
    opt(&mut o, "DueDate", &h.due_date);
    for r in &h.response_for {
        o.push_str("<edXML:ResponseFor>");
        el(&mut o, "OrganId", &r.organ_id);
        opt(&mut o, "Code", &r.code);
        opt(&mut o, "PromulgationDate", &r.promulgation_date);
        el(&mut o, "DocumentId", &r.document_id);
        o.push_str("</edXML:ResponseFor>");
    }
    opt(&mut o, "SteeringType", &h.steering_type);
    o.push_str("</edXML:MessageHeader>");
    if let Some(b) = &h.business_doc_type {
        o.push_str("<edXML:TraceHeaderList><edXML:Bussiness>");
        el(&mut o, "DocumentId", h.concerns());
        el(&mut o, "BussinessDocType", b);
        if !h.receiver_changes.is_empty() {
            o.push_str("<edXML:BussinessDocumentInfo><edXML:DocumentInfo>0</edXML:DocumentInfo><edXML:DocumentReceiver>1</edXML:DocumentReceiver><edXML:ReceiverList>");
            for r in &h.receiver_changes {
                o.push_str("<edXML:Receiver>");
                el(&mut o, "OrganId", &r.organ_id);
                el(&mut o, "ReceiverType", if r.added { "1" } else { "0" });
                o.push_str("</edXML:Receiver>");
            }
            o.push_str("</edXML:ReceiverList></edXML:BussinessDocumentInfo>");
        }
        if !h.replacements.is_empty() {
            o.push_str("<edXML:ReplacementInfoList>");
            for r in &h.replacements {
                o.push_str("<edXML:ReplacementInfo>");
                el(&mut o, "DocumentId", &r.document_id);
                o.push_str("<edXML:OrganIdList>");
                for organ in &r.organs {
                    el(&mut o, "OrganId", organ);
                }
                o.push_str("</edXML:OrganIdList></edXML:ReplacementInfo>");
            }
            o.push_str("</edXML:ReplacementInfoList>");
        }
        o.push_str("</edXML:Bussiness></edXML:TraceHeaderList>");
    }
    o.push_str("</edXML:edXMLHeader><edXML:edXMLBody><edXML:edXMLManifest version=\"1.0\">");
    for (i, a) in attachments.iter().enumerate() {
        o.push_str("<edXML:Reference>");
        el(&mut o, "ContentId", &format!("cid:{}", i + 1));
        el(&mut o, "ContentType", a.content_type);
        el(&mut o, "AttachmentName", a.name);
        o.push_str("</edXML:Reference>");
    }
    o.push_str("</edXML:edXMLManifest></edXML:edXMLBody></edXML:edXMLEnvelope>");
    if !attachments.is_empty() {
        o.push_str("<AttachmentEncoded>");
        for (i, a) in attachments.iter().enumerate() {
            o.push_str("<Attachment>");
            let _ = write!(o, "<ContentId>cid:{}</ContentId>", i + 1);
            let _ = write!(o, "<AttachmentName>{}</AttachmentName>", esc(a.name));
            let _ = write!(o, "<ContentType>{}</ContentType>", esc(a.content_type));
            o.push_str("<ContentTransferEncoded>");
            o.push_str(&base64::engine::general_purpose::STANDARD.encode(a.bytes));
            o.push_str("</ContentTransferEncoded></Attachment>");
        }
        o.push_str("</AttachmentEncoded>");
    }
    o.push_str("</edXML>\n");
    o.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edxml::{read, EdxmlError, Package, ReadOptions};
    use lienthong_contract::edoc::ResponseFor;

    fn organ(id: &str, name: &str) -> Organ {
        Organ {
            id: id.into(),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    #[test]
    fn status_round_trips_through_the_reader() {
        let h = StatusHeader {
            from: organ("000.00.01.H99", "Sở Nội vụ <tỉnh> & \"Ví Dụ\""),
            response_for: ResponseFor {
                organ_id: "000.00.00.H99".into(),
                code: Some("45/UBND-VP".into()),
                promulgation_date: Some("2026/03/02".into()),
                document_id: "000.00.00.H99,2026/03/02,45/UBND-VP".into(),
            },
            status: Some(StatusCode::Accepted),
            description: Some("Đã vào sổ".into()),
            timestamp: Some("2026/03/02 10:00:00".into()),
        };
        let bytes = status(&h);
        let dir = tempfile::tempdir().unwrap();
        match read(&bytes[..], &ReadOptions::new(dir.path())).unwrap() {
            Package::Status(got) => assert_eq!(got, h),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn document_round_trips_with_attachments() {
        let h = DocumentHeader {
            from: organ("000.00.00.H99", "UBND tỉnh Ví Dụ"),
            to: vec![organ("000.00.01.H99", "Sở Nội vụ")],
            document_id: "000.00.00.H99,2026/03/02,45/UBND-VP".into(),
            code_number: Some("45".into()),
            code_notation: Some("UBND-VP".into()),
            promulgation_date: Some("2026/03/02".into()),
            subject: Some("Về việc thử nghiệm".into()),
            ..Default::default()
        };
        let body = "Nội dung văn bản".as_bytes();
        let bytes = document(
            &h,
            &[NewAttachment {
                name: "vb.txt",
                content_type: "text/plain",
                bytes: body,
            }],
        );
        let dir = tempfile::tempdir().unwrap();
        match read(&bytes[..], &ReadOptions::new(dir.path())).unwrap() {
            Package::Document {
                header,
                attachments,
            } => {
                assert_eq!(header.document_id, h.document_id);
                assert_eq!(header.to, h.to);
                assert_eq!(header.subject, h.subject);
                assert_eq!(attachments.len(), 1);
                assert_eq!(std::fs::read(&attachments[0].1).unwrap(), body);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn business_actions_round_trip_through_the_reader() {
        use lienthong_contract::edoc::{BusinessAction, ReceiverChange, Replacement};
        let update = DocumentHeader {
            from: organ("000.00.00.H99", "UBND tỉnh Ví Dụ"),
            to: vec![organ("000.00.01.H99", "Sở Nội vụ")],
            document_id: "000.00.00.H99,2026/03/02,45/UBND-VP".into(),
            business_doc_type: Some("2".into()),
            receiver_changes: vec![
                ReceiverChange { organ_id: "000.00.02.H99".into(), added: true },
                ReceiverChange { organ_id: "000.00.03.H99".into(), added: false },
            ],
            ..Default::default()
        };
        let replace = DocumentHeader {
            document_id: "000.00.00.H99,2026/03/05,50/UBND-VP".into(),
            business_doc_type: Some("3".into()),
            receiver_changes: vec![],
            replacements: vec![Replacement {
                document_id: "000.00.00.H99,2026/03/02,45/UBND-VP".into(),
                organs: vec!["000.00.01.H99".into(), "000.00.02.H99".into()],
            }],
            ..update.clone()
        };
        let dir = tempfile::tempdir().unwrap();
        for (h, action) in [(&update, BusinessAction::Update), (&replace, BusinessAction::Replace)] {
            match read(&document(h, &[])[..], &ReadOptions::new(dir.path())).unwrap() {
                Package::Document { header, .. } => {
                    assert_eq!(header.action(), action);
                    assert_eq!(header.receiver_changes, h.receiver_changes);
                    assert_eq!(header.replacements, h.replacements);
                    assert_eq!(header.concerns(), h.document_id);
                }
                other => panic!("{other:?}"),
            }
        }
        // Codes outside their tables are refused, not guessed.
        let text = String::from_utf8(document(&update, &[])).unwrap();
        for (from, to, field) in [
            ("<edXML:ReceiverType>0<", "<edXML:ReceiverType>7<", "Receiver/ReceiverType"),
            ("<edXML:BussinessDocType>2<", "<edXML:BussinessDocType>9<", "Bussiness/BussinessDocType"),
        ] {
            let bad = text.replace(from, to);
            match read(bad.as_bytes(), &ReadOptions::new(dir.path())) {
                Err(EdxmlError::BadCode { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
    }
}
