//! The adapter's client against the simulator, over real HTTP: match, not found, each failure
//! mapped to its code — including a service that cannot be reached at all.

use lienthong_population::sim::{self, SimConfig};
use lienthong_population::{Birth, Client, Credentials, LookupAnswer, Query, Settings};
use std::time::Duration;

fn creds(secret: &str) -> Credentials {
    Credentials {
        username: "u".into(),
        secret: secret.as_bytes().to_vec(),
        auth_url: "https://auth.test/x".into(),
        client_id: "VN/GOV/H99/T".into(),
        api_key: None,
    }
}

fn client(url: String, secret: &str) -> Client {
    Client::new(Settings {
        base_url: url,
        credentials: creds(secret),
        service_code: "VPCP".into(),
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(500),
        retries: 1,
        max_response_bytes: 64 << 10,
    })
    .unwrap()
}

fn query(name: &str) -> Query {
    Query {
        request_id: lienthong_population::client::request_id(),
        service_code: "VPCP".into(),
        officer_id: "099085000777".into(),
        unit_code: "H99.20".into(),
        officer_account: "cb".into(),
        id_number: "099188000123".into(),
        full_name: name.into(),
        birth: Birth::Year(1988),
    }
}

async fn plan(addr: std::net::SocketAddr, mode: &str, delay_ms: u64) {
    let body = format!(r#"{{"mode":"{mode}","delay_ms":{delay_ms},"times":1}}"#);
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let req = format!(
        "POST /_sim/faults HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}

#[tokio::test]
async fn answers_and_failures() {
    let s = sim::start("127.0.0.1:0", SimConfig::new(creds("right")))
        .await
        .unwrap();
    let c = client(s.url(), "right");
    assert!(matches!(
        c.lookup(&query("Đỗ Thị Thử")).await,
        Ok(LookupAnswer::Match(_))
    ));
    assert_eq!(
        c.lookup(&query("Đỗ Văn Thử")).await,
        Ok(LookupAnswer::NotFound)
    );
    let codes = [
        ("soap_fault", 0, "population_fault"),
        ("http_500", 0, "population_unavailable"),
        ("garbage", 0, "population_bad_response"),
        ("auth_refused", 0, "population_auth_refused"),
        ("none", 1500, "population_timeout"),
    ];
    for (mode, delay, code) in codes {
        plan(s.addr, mode, delay).await;
        let e = c.lookup(&query("Đỗ Thị Thử")).await.unwrap_err();
        assert_eq!(e.code(), code, "{mode}: {e}");
    }
    let wrong = client(s.url(), "wrong");
    assert_eq!(
        wrong.lookup(&query("Đỗ Thị Thử")).await.unwrap_err().code(),
        "population_auth_refused"
    );

    // Nobody listening: unreachable (after one retry), 502.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/x", closed.local_addr().unwrap());
    drop(closed);
    let e = client(url, "right")
        .lookup(&query("Đỗ Thị Thử"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.http_status()),
        ("population_unavailable", 502),
        "{e}"
    );
}
