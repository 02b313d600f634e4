//! schemas/edxml.xsd and lienthong's strict mode agree with xmllint on valid and broken packages.

use lienthong::edxml::strict;
use std::path::Path;
use std::process::Command;

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../shared/domain/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn xmllint_valid(file: &Path) -> bool {
    let out = Command::new("xmllint")
        .args([
            "--noout",
            "--nonet",
            "--schema",
            concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/edxml.xsd"),
        ])
        .arg(file)
        .output()
        .expect("xmllint not found: install libxml2-utils (the oracle)");
    out.status.success()
}

#[test]
fn strict_mode_agrees_with_xmllint() {
    let doc = sample("edoc-new.edxml");
    let status = sample("status-03.edxml");
    let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let cert = lienthong::pki::dev::self_signed_signer(&key).unwrap();
    let signed =
        String::from_utf8(lienthong::dsig::sign::sign(doc.as_bytes(), &key, &[cert]).unwrap())
            .unwrap();
    let vnpt_sig = doc.replace(
        "</edXML:TraceHeaderList>",
        "</edXML:TraceHeaderList><edXML:Signature><edXML:SignedInfo/></edXML:Signature>",
    );

    let cases: Vec<(&str, String, bool)> = vec![
        ("document sample", doc.clone(), true),
        ("status sample", status.clone(), true),
        ("signed (XML-DSig namespace)", signed, true),
        ("signature in the QCVN namespace (VNPT)", vnpt_sig, true),
        ("anything inside OtherInfo", doc.replace("<edXML:Appendixes/>", "<edXML:Appendixes/><edXML:Whatever x=\"1\"/>"), true),
        ("Subject after Content", doc.replace(
            "<edXML:Subject>V/v thử nghiệm kết nối liên thông văn bản</edXML:Subject>\n    <edXML:Content>Sở Nội vụ gửi văn bản mẫu để kiểm tra kết nối.</edXML:Content>",
            "<edXML:Content>Sở Nội vụ gửi văn bản mẫu để kiểm tra kết nối.</edXML:Content>\n    <edXML:Subject>V/v thử nghiệm kết nối liên thông văn bản</edXML:Subject>"), false),
        ("no From", { let a = doc.find("<edXML:From>").unwrap(); let b = doc.find("</edXML:From>").unwrap() + 13; format!("{}{}", &doc[..a], &doc[b..]) }, false),
        ("two From", doc.replacen("<edXML:To>", "<edXML:From><edXML:OrganId>000.00.00.H98</edXML:OrganId></edXML:From><edXML:To>", 1), false),
        ("bad OrganId", doc.replacen("<edXML:OrganId>000.00.12.H99</edXML:OrganId>", "<edXML:OrganId>bad id</edXML:OrganId>", 1), false),
        ("empty OrganId", doc.replacen("<edXML:OrganId>000.00.00.H99</edXML:OrganId>", "<edXML:OrganId></edXML:OrganId>", 1), false),
        ("date in dd/MM/yyyy", doc.replace("<edXML:PromulgationDate>2026/03/02</edXML:PromulgationDate>", "<edXML:PromulgationDate>02/03/2026</edXML:PromulgationDate>"), false),
        ("unknown element", doc.replace("<edXML:SteeringType>", "<edXML:Foo/><edXML:SteeringType>"), false),
        ("text in element-only content", doc.replace("<edXML:SteeringType>", "junk<edXML:SteeringType>"), false),
        ("unknown attribute", doc.replace("<edXML:MessageHeader>", "<edXML:MessageHeader x=\"1\">"), false),
        ("status code of one digit", status.replace("<edXML:StatusCode>03</edXML:StatusCode>", "<edXML:StatusCode>3</edXML:StatusCode>"), false),
        ("wrong namespace", doc.replace("<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">", "<edXML xmlns=\"urn:other\">"), false),
        ("bad base64", doc.replace("VOG7h3Ag", "VOG7h!Ag"), false),
        ("Type not an integer", doc.replace("<edXML:Type>1</edXML:Type>", "<edXML:Type>abc</edXML:Type>"), false),
        ("trace timestamp format", doc.replace("<edXML:Timestamp>2026/03/02 09:20:00</edXML:Timestamp>", "<edXML:Timestamp>2026-03-02T09:20:00</edXML:Timestamp>"), false),
        ("attachment without ContentType", doc.replace("   <ContentType>text/plain</ContentType>\n", ""), false),
        ("manifest without version is fine", doc.replace("<edXML:edXMLManifest version=\"1.0\">", "<edXML:edXMLManifest>"), true),
        ("integer with spaces", doc.replace("<edXML:SteeringType>1</edXML:SteeringType>", "<edXML:SteeringType> 1 </edXML:SteeringType>"), true),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut table = String::new();
    for (i, (what, text, expected)) in cases.iter().enumerate() {
        assert_ne!(
            i > 0 && text == &doc && !expected,
            true,
            "{what}: mutation did not apply"
        );
        let f = dir.path().join(format!("{i}.xml"));
        std::fs::write(&f, text).unwrap();
        let theirs = xmllint_valid(&f);
        let ours = strict::check(text.as_bytes());
        table.push_str(&format!(
            "{what:<45} xmllint={theirs:<5} lienthong={}\n",
            ours.is_ok()
        ));
        assert_eq!(
            theirs, *expected,
            "{what}: xmllint says {theirs}, the case expects {expected}\n{table}"
        );
        assert_eq!(
            ours.is_ok(),
            theirs,
            "{what}: lienthong {ours:?} vs xmllint {theirs}\n{table}"
        );
    }
    println!("{table}");
}
