//! Verification speed per core: lienthong's streaming verifier against libxmlsec1 (through the
//! `xmlsec` Python binding, in-process, so process start-up is not counted), on the same signed
//! packages of 10 KB, 1 MB and 20 MB, in the same run. Both check the signature and the
//! reference digest (parsing included), not the certificate chain.
//!
//! Run: `cargo bench --bench verify_speed` (needs `pip install xmlsec lxml`).

use lienthong::dsig::{sign::sign, verify::verify, verify::Policy};
use std::io::Write;
use std::process::Command;
use std::time::Instant;

const PY: &str = r#"
import sys, time, json
from lxml import etree
import xmlsec
path, cert, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, 'rb').read()
key = xmlsec.Key.from_file(cert, xmlsec.constants.KeyDataFormatCertPem)
parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
times = []
for _ in range(n):
    t = time.perf_counter()
    root = etree.fromstring(data, parser)
    node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.verify(node)
    times.append(time.perf_counter() - t)
print(json.dumps(times))
"#;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn package(size: usize) -> String {
    let payload_len = size.saturating_sub(1200) / 4 * 4;
    let payload: String = (0..payload_len)
        .map(|i| b"ABCDEFGHabcdefgh0123456789+/"[i * 7 % 28] as char)
        .collect();
    format!(
        "<edXML:edXMLEnvelope xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXML:edXMLHeader><edXML:MessageHeader><edXML:From><edXML:OrganId>000.00.00.H99</edXML:OrganId><edXML:OrganName>UBND tỉnh Ví Dụ</edXML:OrganName></edXML:From><edXML:To><edXML:OrganId>000.00.01.H99</edXML:OrganId></edXML:To><edXML:Subject>Về việc đo tốc độ xác thực chữ ký</edXML:Subject></edXML:MessageHeader>\n</edXML:edXMLHeader><edXML:edXMLBody><edXML:AttachmentEncoded ContentId=\"1\" ContentType=\"application/pdf\">{payload}</edXML:AttachmentEncoded></edXML:edXMLBody></edXML:edXMLEnvelope>"
    )
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let members = [lienthong::config::MemberCfg {
        id: "vpubnd".into(),
        kind: "agency".into(),
        organs: vec!["000.00.00.H99".into()],
        ..Default::default()
    }];
    let pki = dir.path().join("pki");
    lienthong::pki::dev::init(
        &pki,
        &lienthong::pki::dev::DevPkiSpec {
            members: &members,
            org: "bench",
        },
        false,
    )
    .expect("dev pki");
    let key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(pki.join("signing/vpubnd.key")).unwrap(),
    )
    .unwrap();
    let chain = openssl::x509::X509::stack_from_pem(
        &std::fs::read(pki.join("signing/vpubnd.pem")).unwrap(),
    )
    .unwrap();
    let leaf = pki.join("signing/leaf.pem");
    std::fs::write(&leaf, chain[0].to_pem().unwrap()).unwrap();

    println!("verifications per second per core (median of N runs; RSA-SHA256, exc-C14N, SHA-256)");
    println!(
        "{:<8} {:>5} {:>16} {:>12} {:>16} {:>12} {:>8}",
        "size", "N", "lienthong ms", "lienthong/s", "libxmlsec1 ms", "xmlsec/s", "ratio"
    );
    // Optional filter: `cargo bench --bench verify_speed -- 10KB`.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for (label, size, n) in [
        ("10 KB", 10 * 1024, 400),
        ("1 MB", 1 << 20, 40),
        ("20 MB", 20 << 20, 7),
    ] {
        if !only.is_empty()
            && !only
                .iter()
                .any(|o| o.replace(' ', "") == label.replace(' ', ""))
        {
            continue;
        }
        let signed = sign(package(size).as_bytes(), &key, &chain).expect("sign");
        let file = dir.path().join(format!("{size}.xml"));
        std::fs::File::create(&file)
            .and_then(|mut f| f.write_all(&signed))
            .unwrap();

        // Warm up, then time each verification.
        verify(&signed[..], &Policy::default()).expect("lienthong verifies");
        let mut ours = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            verify(&signed[..], &Policy::default()).expect("verify");
            ours.push(t.elapsed().as_secs_f64());
        }
        let out = Command::new("python3")
            .args(["-c", PY])
            .arg(&file)
            .arg(&leaf)
            .arg((n + 1).to_string())
            .output()
            .expect("python3");
        if !out.status.success() {
            eprintln!(
                "libxmlsec1 baseline failed (pip install xmlsec lxml):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::process::exit(2);
        }
        let mut theirs: Vec<f64> = serde_json::from_slice(&out.stdout).expect("python output");
        theirs.remove(0); // warm-up
        let (a, b) = (median(ours), median(theirs));
        println!(
            "{:<8} {:>5} {:>16.3} {:>12.1} {:>16.3} {:>12.1} {:>7.2}x",
            label,
            n,
            a * 1e3,
            1.0 / a,
            b * 1e3,
            1.0 / b,
            b / a
        );
    }
}
