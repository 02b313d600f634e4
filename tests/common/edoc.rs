//! Document-exchange helpers: signed packages made with the library's writer and signer (the
//! dsig tests cross-check those against xmlsec1), a push receiver over real TLS, a shared PKI.
#![allow(dead_code)]

use lienthong::contract::edoc::{DocumentHeader, Organ, ResponseFor, StatusCode, StatusHeader};
use lienthong::edxml::write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn organ(id: &str) -> Organ {
    Organ {
        id: id.into(),
        name: Some(format!("Cơ quan {id}")),
        ..Default::default()
    }
}

/// Sign `doc` with `pki/signing/<member>.{key,pem}`.
pub fn sign_as(pki: &Path, member: &str, doc: &[u8]) -> Vec<u8> {
    sign_with(pki, &format!("signing/{member}"), doc)
}

/// Sign `doc` with the key and chain at `pki/<stem>.{key,pem}` (e.g. `test/revoked`).
pub fn sign_with(pki: &Path, stem: &str, doc: &[u8]) -> Vec<u8> {
    let key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(pki.join(format!("{stem}.key"))).unwrap(),
    )
    .unwrap();
    let chain = openssl::x509::X509::stack_from_pem(
        &std::fs::read(pki.join(format!("{stem}.pem"))).unwrap(),
    )
    .unwrap();
    lienthong::dsig::sign::sign(doc, &key, &chain).unwrap()
}

/// An unsigned document package from `from` to `to`, with one small attachment.
pub fn document(from: &str, to: &[&str], number: &str, body: &str) -> Vec<u8> {
    document_with(from, to, number, body, |_| {})
}

/// Like [`document`], with the header adjusted by `edit` (business actions, other fields).
pub fn document_with(
    from: &str,
    to: &[&str],
    number: &str,
    body: &str,
    edit: impl FnOnce(&mut DocumentHeader),
) -> Vec<u8> {
    let mut h = DocumentHeader {
        from: organ(from),
        to: to.iter().map(|t| organ(t)).collect(),
        document_id: format!("{from},2026/11/23,{number}"),
        code_number: Some(number.split('/').next().unwrap_or(number).into()),
        code_notation: Some("VP".into()),
        promulgation_date: Some("2026/11/23".into()),
        subject: Some(format!("Văn bản thử nghiệm số {number}")),
        ..Default::default()
    };
    edit(&mut h);
    write::document(
        &h,
        &[write::NewAttachment {
            name: "noidung.txt",
            content_type: "text/plain",
            bytes: body.as_bytes(),
        }],
    )
}

pub fn document_id(from: &str, number: &str) -> String {
    format!("{from},2026/11/23,{number}")
}

/// An unsigned status package from `from` about `document_id` sent by `sender`.
pub fn status_package(from: &str, sender: &str, document_id: &str, code: &str) -> Vec<u8> {
    write::status(&StatusHeader {
        from: organ(from),
        response_for: ResponseFor {
            organ_id: sender.into(),
            code: None,
            promulgation_date: None,
            document_id: document_id.into(),
        },
        status: Some(StatusCode::from_code(code)),
        description: Some(format!("Trạng thái {code}")),
        timestamp: Some("2026/11/23 10:00:00".into()),
    })
}

/// What a push receiver got: (x-lienthong-edoc-id, body).
pub type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An HTTPS endpoint (dev PKI server certificate, client certificates required) that records
/// every package pushed to it. `fail` makes it answer 503 while set.
pub struct PushReceiver {
    pub url: String,
    pub got: Received,
    pub fail: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PushReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PushReceiver {
    pub async fn start(pki: &Path) -> PushReceiver {
        Self::start_on(pki, "127.0.0.1:0").await
    }

    pub async fn start_on(pki: &Path, addr: &str) -> PushReceiver {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        lienthong::edge::tls::install_crypto_provider();
        let chain: Vec<_> = CertificateDer::pem_file_iter(pki.join("server.pem"))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
        let key = PrivateKeyDer::from_pem_file(pki.join("server.key")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(pki.join("ca.pem")).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .unwrap();
        let mut cfg = rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let url = format!("https://{}/receive", listener.local_addr().unwrap());
        let got: Received = Default::default();
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (g, f) = (got.clone(), fail.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let (g, f) = (g.clone(), f.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let (g, f) = (g.clone(), f.clone());
                            async move {
                                use http_body_util::BodyExt;
                                let id = req
                                    .headers()
                                    .get("x-lienthong-edoc-id")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_owned();
                                let body = req.into_body().collect().await?.to_bytes().to_vec();
                                let status = if f.load(std::sync::atomic::Ordering::SeqCst) {
                                    503
                                } else {
                                    g.lock().unwrap().push((id, body));
                                    200
                                };
                                Ok::<_, hyper::Error>(
                                    hyper::Response::builder()
                                        .status(status)
                                        .body(http_body_util::Full::new(
                                            hyper::body::Bytes::from_static(b"ok"),
                                        ))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
                });
            }
        });
        PushReceiver {
            url,
            got,
            fail,
            task,
        }
    }
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `lienthong pki dev-init` for a configuration naming `members` (id, kind, organ).
pub fn shared_pki(dir: &Path, members: &[(&str, &str, &str)]) -> PathBuf {
    let mut cfg = String::new();
    for (id, kind, organ) in members {
        cfg.push_str(&format!(
            "[[members]]\nid = \"{id}\"\nname = \"{id}\"\nkind = \"{kind}\"\norgans = [\"{organ}\"]\nservices = [\"edocs\"]\ncert_subject = \"CN={id},OU=members,O=lienthong sandbox,C=VN\"\n\n"
        ));
    }
    let cfg_path = dir.join("pki.toml");
    std::fs::write(&cfg_path, cfg).unwrap();
    let pki = dir.join("pki");
    let out = std::process::Command::new(super::BIN)
        .arg("--config")
        .arg(&cfg_path)
        .args(["pki", "dev-init"])
        .arg(&pki)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pki
}

/// Configuration of a non-sandbox gateway on the shared PKI, presenting `pki/members/<me>` when
/// it pushes, with a store of its own on `db`. `members` is TOML for its `[[members]]`.
pub fn gateway_config(
    db: &super::Db,
    dir: &Path,
    pki: &Path,
    me: &str,
    port: u16,
    members: &str,
    extra: &str,
) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = |f: &str| format!("{:?}", pki.join(f));
    let cfg = format!(
        r#"sandbox = false
data_dir = {data:?}
{store}
[listen]
members = "127.0.0.1:{port}"
operator = "127.0.0.1:0"
[tls]
cert = {cert}
key = {key}
client_ca = {ca}
crls = [{crl}]
[oauth]
signing_key = {{ value = "{sk}" }}
[trust]
anchors = [{ca}]
intermediates = [{inter}]
crls = [{crl}]
[edocs]
client_cert = {mcert}
client_key = {mkey}
{extra}
{members}
"#,
        data = dir.join("data"),
        store = db.store_toml(),
        cert = p("server.pem"),
        key = p("server.key"),
        ca = p("ca.pem"),
        crl = p("crl.pem"),
        inter = p("intermediate.pem"),
        mcert = p(&format!("members/{me}.pem")),
        mkey = p(&format!("members/{me}.key")),
        sk = super::SIGNING_KEY,
    );
    let path = dir.join("lienthong.toml");
    std::fs::write(&path, cfg).unwrap();
    path
}

/// `[[members]]` TOML for one member bound to its dev-PKI client certificate.
pub fn member_toml(id: &str, kind: &str, organs: &[&str], extra: &str) -> String {
    let organs: Vec<String> = organs.iter().map(|o| format!("{o:?}")).collect();
    format!(
        "[[members]]\nid = \"{id}\"\nname = \"{id}\"\nkind = \"{kind}\"\norgans = [{}]\nservices = [\"edocs\", \"directory\"]\ncert_subject = \"CN={id},OU=members,O=lienthong sandbox,C=VN\"\n{extra}\n",
        organs.join(", ")
    )
}

/// An HTTPS client presenting `pki/members/<member>`.
pub fn client(pki: &Path, member: &str) -> reqwest::Client {
    let cfg = super::client_config(pki, Some(pki.join("members").join(member)), &[b"h2", b"http/1.1"]);
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .build()
        .unwrap()
}

/// POST a package; the status and the JSON answer (null if none).
pub async fn post(c: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let r = c
        .post(url)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// GET JSON, which must succeed.
pub async fn get_json(c: &reqwest::Client, url: &str) -> serde_json::Value {
    let r = c.get(url).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.unwrap()
}

/// Poll `f` every 100 ms until it is true; fail after 30 s.
pub async fn wait_for<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while !f().await {
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// `xmlsec1` (the independent oracle) verifies `bytes`, signed by a certificate of the shared
/// PKI, writing them to `dir/name` first; panics with xmlsec1's message and `what` otherwise.
pub fn assert_xmlsec_verifies(dir: &Path, pki: &Path, name: &str, bytes: &[u8], what: &str) {
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    let out = std::process::Command::new("xmlsec1")
        .args(["--verify", "--trusted-pem"])
        .arg(pki.join("ca.pem"))
        .arg("--untrusted-pem")
        .arg(pki.join("intermediate.pem"))
        .arg(&file)
        .output()
        .expect("xmlsec1");
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}
