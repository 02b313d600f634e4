//! Citizen lookup end to end: a real gateway process asks the population simulator (a real
//! HTTP server speaking the 037 SOAP shape, started here on loopback) — found, not found, a
//! name that matches only after normalisation, purpose minimisation, refused input that never
//! leaves the gateway, a wrong secret, a SOAP fault, an HTTP 500, a timeout, per-officer rate
//! limits — and, after a run of lookups, no citizen ID or name anywhere in the store, the logs
//! or the audit records (the officer's ID only in the audit field meant for it).

mod common;
#[path = "common/problem.rs"]
mod problem;

use common::{both_backends, Db, Gateway};
use lienthong_population::sim::{self, people::Population, SimConfig, Simulator, Stats};
use lienthong_population::{Citizen, Credentials};
use problem::problem;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

const SECRET: &str = "test-population-secret";
const OFFICER: &str = "099085000777";
const OTHER_OFFICER: &str = "099290000001";
const DOSSIER: &str = "000.00.20.H99-20260302-0000123";
/// The sample citizen (domain samples): ĐỖ THỊ THỬ, born 1988-07-15.
const SAMPLE_ID: &str = "099188000123";

fn credentials(secret: &str) -> Credentials {
    Credentials {
        username: "lgsp-test".into(),
        secret: secret.as_bytes().to_vec(),
        auth_url: "https://auth.test/xacthuc".into(),
        client_id: "VN/GOV/H99/LGSP-TEST".into(),
        api_key: Some("test-api-key".into()),
    }
}

async fn start_sim() -> Simulator {
    lienthong::edge::tls::install_crypto_provider();
    sim::start("127.0.0.1:0", SimConfig::new(credentials(SECRET)))
        .await
        .unwrap()
}

/// The population the simulator generates (same seed and size), to pick people from.
fn population() -> Population {
    let c = SimConfig::new(credentials(SECRET));
    Population::generate(c.seed, c.people)
}

/// Officer limit of most tests: high enough for their questions.
const OFFICER_LIMIT: &str = "officer_rate_limit = { per_minute = 600, burst = 100 }";

/// Gateway settings: the simulator's URL, the given secret, `officer_limit` under `[citizens]`.
fn extra(sim: &Simulator, secret: &str, officer_limit: &str) -> String {
    format!(
        r#"
[adapters.population]
base_url = "{url}"
username = "lgsp-test"
secret = {{ value = "{secret}" }}
auth_url = "https://auth.test/xacthuc"
client_id = "VN/GOV/H99/LGSP-TEST"
api_key = {{ value = "test-api-key" }}
timeout_ms = 800

[citizens]
extra_province_codes = ["099"]
{officer_limit}

[[citizens.purposes]]
code = "tthc"
name = "Giải quyết thủ tục hành chính"

[[citizens.purposes]]
code = "cu-tru"
name = "Xác minh nơi cư trú"
fields = ["full_name", "permanent_address", "current_address"]

[[members]]
id = "motcua"
name = "Trung tâm Phục vụ hành chính công"
kind = "onestop"
organs = ["000.00.20.H99", "H99.20"]
services = ["citizens"]
cert_subject = "CN=motcua,OU=members,O=lienthong sandbox,C=VN"
"#,
        url = sim.url()
    )
}

fn ask(id: &str, name: &str, birth: &str) -> Value {
    json!({
        "id_number": id,
        "full_name": name,
        "birth_date": birth,
        "purpose": "tthc",
        "dossier_code": DOSSIER,
        "officer_id": OFFICER,
    })
}

async fn lookup(gw: &Gateway, body: &Value) -> reqwest::Response {
    gw.client(Some("motcua"))
        .post(gw.url("/v1/citizens/lookup"))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn found(gw: &Gateway, body: &Value) -> Value {
    let r = lookup(gw, body).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

async fn stats(sim: &Simulator) -> Stats {
    reqwest::get(format!("http://{}/_sim/stats", sim.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn faults(sim: &Simulator, plan: Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{}/_sim/faults", sim.addr))
        .json(&plan)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// Wait until every question recorded as asked (`citizens.lookup.asked`, committed before its
/// answer) also has its outcome record, which follows the answer.
async fn settled(store: &lienthong::store::Store) {
    let unanswered = "SELECT COUNT(*) AS n FROM audit_log a WHERE a.action = 'citizens.lookup.asked' \
        AND NOT EXISTS (SELECT 1 FROM audit_log b WHERE b.action = 'citizens.lookup' AND b.request_id = a.request_id)";
    for _ in 0..100 {
        let n: i64 = sqlx::query(unanswered)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get("n");
        if n == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("questions asked upstream without an outcome record after 5 s");
}

/// The lookup audit records (with outcome), once settled: (outcome, detail).
async fn lookup_records(gw: &Gateway) -> Vec<(String, Value)> {
    let store = gw.open_store().await;
    settled(&store).await;
    sqlx::query(
        "SELECT outcome, detail FROM audit_log WHERE action = 'citizens.lookup' ORDER BY seq",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let d: String = r.get("detail");
        (r.get("outcome"), serde_json::from_str(&d).unwrap())
    })
    .collect()
}

/// Somebody from the generated population with a split name (family, middle, given).
fn someone(pop: &Population) -> &Citizen {
    pop.people
        .iter()
        .skip(100)
        .find(|c| !c.family_name.is_empty() && c.id_number.starts_with("099"))
        .unwrap()
}

both_backends!(#[tokio::test] async fn found_not_found_and_normalised_names);
async fn found_not_found_and_normalised_names(db: Db) {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut gw = Gateway::start_with(&db, dir.path(), &extra(&sim, SECRET, OFFICER_LIMIT));

    // The sample citizen, full birth date: the canonical record.
    let v = found(&gw, &ask(SAMPLE_ID, "Đỗ Thị Thử", "1988-07-15")).await;
    assert_eq!(v["match"], true, "{v}");
    let c = &v["citizen"];
    assert_eq!(c["id_number"], SAMPLE_ID);
    assert_eq!(c["full_name"], "ĐỖ THỊ THỬ");
    assert_eq!(c["birth_date"], "1988-07-15");
    assert_eq!(c["sex_code"], "2");
    assert_eq!(c["permanent_address"]["commune_code"], "99101");
    assert_eq!(c["household_head"]["relation"], "CH01");
    assert_eq!(c["father"]["full_name"], "ĐỖ VĂN MẪU");

    // Somebody generated, by birth year only; the name split into family/middle/given.
    let pop = population();
    let p = someone(&pop);
    let v = found(&gw, &ask(&p.id_number, &p.full_name, &p.birth_date[..4])).await;
    assert_eq!(v["match"], true, "{v}");
    assert_eq!(v["citizen"]["full_name"], p.full_name.as_str());
    assert_eq!(v["citizen"]["family_name"], p.family_name.as_str());
    assert_eq!(v["citizen"]["birth_date"], p.birth_date.as_str());

    // Matches only after normalisation: lower case, no diacritics, odd spacing and hyphens.
    let v = found(&gw, &ask(SAMPLE_ID, "  do thi-thu ", "1988-07-15")).await;
    assert_eq!(v["match"], true, "{v}");

    // Not found: another name; the right name with another day of the same year.
    for body in [
        ask(SAMPLE_ID, "Đỗ Văn Thử", "1988-07-15"),
        ask(SAMPLE_ID, "Đỗ Thị Thử", "1988-07-16"),
        ask("099188999999", "Đỗ Thị Thử", "1988-07-15"),
    ] {
        let v = found(&gw, &body).await;
        assert_eq!(v, json!({"match": false}));
    }

    // Minimisation: the purpose's fields only (plus the ID).
    let mut body = ask(SAMPLE_ID, "Đỗ Thị Thử", "1988-07-15");
    body["purpose"] = json!("cu-tru");
    let v = found(&gw, &body).await;
    let mut keys: Vec<&str> = v["citizen"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "current_address",
            "full_name",
            "id_number",
            "permanent_address"
        ]
    );

    let s = stats(&sim).await;
    assert_eq!(
        (s.requests, s.matches, s.not_found, s.auth_refused),
        (7, 4, 3, 0)
    );

    // Every question is on the audit chain: who, for what, which dossier, the outcome — the
    // queried ID only as a keyed hash.
    let recs = lookup_records(&gw).await;
    let outcomes: Vec<&str> = recs.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "match",
            "match",
            "match",
            "not_found",
            "not_found",
            "not_found",
            "match"
        ]
    );
    let d = &recs[0].1;
    assert_eq!(d["officer_id"], OFFICER);
    assert_eq!(d["purpose"], "tthc");
    assert_eq!(d["dossier_code"], DOSSIER);
    assert_eq!(d["unit_code"], "000.00.20.H99");
    assert_eq!(d["upstream_request_id"].as_str().unwrap().len(), 26);
    let subject = d["subject"].as_str().unwrap();
    assert!(
        subject.starts_with("hmac-sha256:") && subject.len() == 12 + 64,
        "{subject}"
    );
    // The same ID gives the same hash (an investigator with the key can find its lookups).
    assert_eq!(recs[2].1["subject"], subject);
    assert_ne!(recs[1].1["subject"], subject);
    // Each was first recorded as asked — who, for what, about whom — before its answer left,
    // and that record comes before its outcome on the chain.
    let store = gw.open_store().await;
    let chain: Vec<(String, String, i64, String)> = sqlx::query(
        "SELECT action, request_id, seq, detail FROM audit_log WHERE action LIKE 'citizens.lookup%' ORDER BY seq",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("action"), r.get("request_id"), r.get("seq"), r.get("detail")))
    .collect();
    let asked: Vec<_> = chain
        .iter()
        .filter(|c| c.0 == "citizens.lookup.asked")
        .collect();
    assert_eq!(asked.len(), 7);
    for (i, (_, rid, seq, detail)) in asked.iter().enumerate() {
        let outcome = chain
            .iter()
            .find(|c| c.0 == "citizens.lookup" && &c.1 == rid)
            .unwrap();
        assert!(outcome.2 > *seq, "the outcome before its question");
        let mut d: Value = serde_json::from_str(detail).unwrap();
        assert!(d.get("elapsed_ms").is_none());
        d["elapsed_ms"] = recs[i].1["elapsed_ms"].clone();
        assert_eq!(d, recs[i].1, "question {i}");
    }
    let out = gw.cli(&["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A graceful stop right after a burst of answers: every outcome is on the chain before the
    // gateway's `stop` record, without waiting for anything.
    let (client, url) = (gw.client(Some("motcua")), gw.url("/v1/citizens/lookup"));
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let (c, u, b) = (client.clone(), url.clone(), ask(SAMPLE_ID, "Đỗ Thị Thử", "1988-07-15"));
            tokio::spawn(async move { c.post(u).json(&b).send().await.unwrap().json::<Value>().await.unwrap() })
        })
        .collect();
    for t in burst {
        assert_eq!(t.await.unwrap()["match"], true);
    }
    gw.stop();
    let store = gw.open_store().await;
    let rows: Vec<(String, i64)> = sqlx::query(
        "SELECT action, seq FROM audit_log WHERE action IN ('citizens.lookup.asked', 'citizens.lookup', 'stop') ORDER BY seq",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("action"), r.get("seq")))
    .collect();
    let count = |a: &str| rows.iter().filter(|r| r.0 == a).count();
    assert_eq!((count("citizens.lookup.asked"), count("citizens.lookup")), (27, 27));
    assert_eq!(rows.last().unwrap().0, "stop", "{rows:?}");
}

both_backends!(#[tokio::test] async fn input_is_checked_before_anything_leaves);
async fn input_is_checked_before_anything_leaves(db: Db) {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start_with(&db, dir.path(), &extra(&sim, SECRET, OFFICER_LIMIT));
    let good = ask(SAMPLE_ID, "Đỗ Thị Thử", "1988-07-15");
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let mut no_purpose = good.clone();
    no_purpose.as_object_mut().unwrap().remove("purpose");
    let cases = [
        (
            with("id_number", json!("09918800012")),
            "citizen_id_invalid",
            "id_number",
        ),
        (
            with("id_number", json!("003188000123")),
            "citizen_id_province_unknown",
            "id_number",
        ),
        // Century digit 3 means born 2000–2099, not 1988.
        (
            with("id_number", json!("099388000123")),
            "citizen_id_birth_mismatch",
            "id_number",
        ),
        (
            with("id_number", json!("099187000123")),
            "citizen_id_birth_mismatch",
            "id_number",
        ),
        (
            with("birth_date", json!("1988-02-30")),
            "birth_date_invalid",
            "birth_date",
        ),
        (
            with("birth_date", json!("15/07/1988")),
            "birth_date_invalid",
            "birth_date",
        ),
        (
            with("full_name", json!("<script>")),
            "full_name_invalid",
            "full_name",
        ),
        (
            with("purpose", json!("curiosity")),
            "purpose_unknown",
            "purpose",
        ),
        (no_purpose, "missing_field", "purpose"),
        (
            with("dossier_code", json!("hồ sơ")),
            "dossier_code_invalid",
            "dossier_code",
        ),
        (with("officer_id", json!("")), "missing_field", "officer_id"),
        (
            with("officer_id", json!("099085")),
            "officer_id_invalid",
            "officer_id",
        ),
        (with("nickname", json!("x")), "unknown_field", "nickname"),
    ];
    for (body, code, field) in cases {
        let status = if code == "purpose_unknown" {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::BAD_REQUEST
        };
        let r = lookup(&gw, &body).await;
        assert_eq!(r.status(), status, "{code}: {body}");
        let p = problem(r, status, code).await;
        assert_eq!(p["field"], field, "{p}");
        // The refusal never echoes the value (it may be personal data).
        assert!(!p["detail"].as_str().unwrap().contains(SAMPLE_ID), "{p}");
    }
    let r = gw
        .client(Some("motcua"))
        .post(gw.url("/v1/citizens/lookup"))
        .body("not json")
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::BAD_REQUEST, "invalid_json").await;
    // A member without the service is refused by the guard.
    let r = gw
        .client(Some("vpubnd"))
        .post(gw.url("/v1/citizens/lookup"))
        .json(&good)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "service_not_granted").await;

    assert_eq!(
        stats(&sim).await.requests,
        0,
        "a refused question reached the service"
    );
    let recs = lookup_records(&gw).await;
    assert_eq!(recs.len(), 14);
    assert!(
        recs.iter().all(|(o, _)| o.starts_with("refused:")),
        "{recs:?}"
    );
    assert_eq!(recs[0].0, "refused:citizen_id_invalid");
}

both_backends!(#[tokio::test] async fn upstream_failures_are_clear_problems);
async fn upstream_failures_are_clear_problems(db: Db) {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start_with(&db, dir.path(), &extra(&sim, SECRET, OFFICER_LIMIT));
    let body = ask(SAMPLE_ID, "Đỗ Thị Thử", "1988-07-15");

    faults(&sim, json!({"mode": "soap_fault", "times": 1})).await;
    let p = problem(
        lookup(&gw, &body).await,
        StatusCode::BAD_GATEWAY,
        "population_fault",
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("soapenv:Server"),
        "{p}"
    );

    faults(&sim, json!({"mode": "http_500", "times": 1})).await;
    problem(
        lookup(&gw, &body).await,
        StatusCode::BAD_GATEWAY,
        "population_unavailable",
    )
    .await;

    faults(&sim, json!({"mode": "garbage", "times": 1})).await;
    problem(
        lookup(&gw, &body).await,
        StatusCode::BAD_GATEWAY,
        "population_bad_response",
    )
    .await;

    // Slower than adapters.population.timeout_ms (800 ms): 504, well before the request timeout.
    faults(&sim, json!({"mode": "none", "delay_ms": 3000, "times": 1})).await;
    let t = std::time::Instant::now();
    problem(
        lookup(&gw, &body).await,
        StatusCode::GATEWAY_TIMEOUT,
        "population_timeout",
    )
    .await;
    assert!(
        t.elapsed() < std::time::Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );

    // The faults were spent: the next question is answered.
    assert_eq!(found(&gw, &body).await["match"], true);

    // The simulator refuses the gateway's credentials.
    faults(&sim, json!({"mode": "auth_refused", "times": 1})).await;
    problem(
        lookup(&gw, &body).await,
        StatusCode::BAD_GATEWAY,
        "population_auth_refused",
    )
    .await;

    let outcomes: Vec<String> = lookup_records(&gw)
        .await
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    assert_eq!(
        outcomes,
        [
            "error:population_fault",
            "error:population_unavailable",
            "error:population_bad_response",
            "error:population_timeout",
            "match",
            "error:population_auth_refused"
        ]
    );
}

both_backends!(#[tokio::test] async fn wrong_secret_is_refused_and_officers_are_limited);
async fn wrong_secret_is_refused_and_officers_are_limited(db: Db) {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    // Here one record per question, with its outcome, committed before the answer.
    let cfg = extra(
        &sim,
        "not-the-secret",
        "officer_rate_limit = { per_minute = 1, burst = 2 }\naudit_commit = \"before_answer\"",
    );
    let gw = Gateway::start_with(&db, dir.path(), &cfg);
    let body = ask(SAMPLE_ID, "Đỗ Thị Thử", "1988-07-15");
    for _ in 0..2 {
        let p = problem(
            lookup(&gw, &body).await,
            StatusCode::BAD_GATEWAY,
            "population_auth_refused",
        )
        .await;
        let d = p["detail"].as_str().unwrap();
        assert!(d.contains("quản trị viên cổng"), "{d}");
    }
    assert_eq!(stats(&sim).await.auth_refused, 2);
    // The same officer a third time within the minute: refused before leaving.
    let r = lookup(&gw, &body).await;
    assert!(r.headers().contains_key("retry-after"));
    let p = problem(r, StatusCode::TOO_MANY_REQUESTS, "officer_rate_limited").await;
    assert_eq!(p["field"], "officer_id");
    assert_eq!(stats(&sim).await.requests, 2);
    // Another officer of the same member still may.
    let mut other = body.clone();
    other["officer_id"] = json!(OTHER_OFFICER);
    problem(
        lookup(&gw, &other).await,
        StatusCode::BAD_GATEWAY,
        "population_auth_refused",
    )
    .await;
    // Committed before each answer: read at once, without waiting for anything.
    let store = gw.open_store().await;
    let recs: Vec<(String, String)> = sqlx::query(
        "SELECT action, outcome FROM audit_log WHERE action LIKE 'citizens.lookup%' ORDER BY seq",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("action"), r.get("outcome")))
    .collect();
    let outcomes: Vec<&str> = recs.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "error:population_auth_refused",
            "error:population_auth_refused",
            "refused:officer_rate_limited",
            "error:population_auth_refused"
        ]
    );
    assert!(recs.iter().all(|r| r.0 == "citizens.lookup"), "{recs:?}");
}

/// Every text a table holds, row by row: `(table, row as text, audit detail if audit_log)`.
/// PostgreSQL rows are cast to text whole; SQLite's columns are read one by one.
async fn dump(store: &lienthong::store::Store) -> Vec<(String, String, Option<Value>)> {
    let pg = store.backend() != lienthong::store::Backend::Sqlite;
    let tables_sql = if pg {
        "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = 'public'"
    } else {
        "SELECT name AS t FROM sqlite_master WHERE type = 'table'"
    };
    let tables: Vec<String> = sqlx::query(tables_sql)
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("t"))
        .collect();
    assert!(tables.iter().any(|t| t == "audit_log"), "{tables:?}");
    let mut out = Vec::new();
    for t in tables {
        if t == "audit_log" {
            let sql = "SELECT at, kind, actor, action, outcome, request_id, prev_hash, hash, detail FROM audit_log";
            for r in sqlx::query(sql).fetch_all(store.pool()).await.unwrap() {
                let cells: Vec<String> = (0..8).map(|i| r.get::<String, _>(i)).collect();
                let detail: String = r.get(8);
                out.push((
                    t.clone(),
                    cells.join("|"),
                    serde_json::from_str(&detail).ok(),
                ));
            }
            continue;
        }
        let sql = if pg {
            format!("SELECT CAST(x AS text) AS r FROM {t} AS x")
        } else {
            format!("SELECT * FROM {t}")
        };
        for r in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(store.pool())
            .await
            .unwrap()
        {
            let cells: Vec<String> = (0..r.columns().len())
                .map(|i| {
                    if let Ok(s) = r.try_get::<String, _>(i) {
                        s
                    } else if let Ok(n) = r.try_get::<i64, _>(i) {
                        n.to_string()
                    } else if let Ok(b) = r.try_get::<Vec<u8>, _>(i) {
                        String::from_utf8_lossy(&b).into_owned()
                    } else if let Ok(f) = r.try_get::<f64, _>(i) {
                        f.to_string()
                    } else {
                        String::new() // NULL
                    }
                })
                .collect();
            out.push((t.clone(), cells.join("|"), None));
        }
    }
    out
}

both_backends!(#[tokio::test] async fn no_personal_data_at_rest_or_in_logs);
async fn no_personal_data_at_rest_or_in_logs(db: Db) {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    // Debug logging: even the chattiest level must not write personal data.
    let gw = Gateway::start_with(
        &db,
        dir.path(),
        &extra(&sim, SECRET, OFFICER_LIMIT)
            .replace("[[members]]", "[log]\nlevel = \"debug\"\n\n[[members]]"),
    );
    let pop = population();
    let people: Vec<&Citizen> = std::iter::once(&pop.people[0])
        .chain(pop.people.iter().skip(200).step_by(97).take(8))
        .collect();
    for (i, p) in people.iter().enumerate() {
        let birth = if i % 2 == 0 {
            p.birth_date.clone()
        } else {
            p.birth_date[..4].to_owned()
        };
        assert_eq!(
            found(&gw, &ask(&p.id_number, &p.full_name, &birth)).await["match"],
            true
        );
        // A not-found and a refused question about the same person.
        let v = found(&gw, &ask(&p.id_number, "Người Khác Hẳn", &birth)).await;
        assert_eq!(v["match"], false);
        let mut bad = ask(&p.id_number, &p.full_name, &birth);
        bad["purpose"] = json!("tò mò");
        assert_eq!(
            lookup(&gw, &bad).await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    faults(&sim, json!({"mode": "soap_fault", "times": 1})).await;
    let p = people[1];
    let r = lookup(&gw, &ask(&p.id_number, &p.full_name, &p.birth_date)).await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);

    // What must not be found in clear: every ID asked about, every name (as registered, as
    // asked, normalised, and the relatives' names the answers carried).
    let mut needles: Vec<String> = Vec::new();
    for p in &people {
        needles.push(p.id_number.clone());
        needles.push(p.full_name.clone());
        needles.push(lienthong_population::name::normalise(&p.full_name));
        for r in [&p.father, &p.mother].into_iter().flatten() {
            needles.extend(r.full_name.clone());
        }
        if let Some(old) = &p.old_id_number {
            needles.push(old.clone());
        }
    }

    let store = gw.open_store().await;
    settled(&store).await;
    let rows = dump(&store).await;
    let mut lookups = 0;
    for (table, text, detail) in &rows {
        let mut detail = detail.clone().unwrap_or(Value::Null);
        if detail.get("officer_id").is_some() {
            // The one place an officer's ID belongs: the audit record's officer field.
            assert_eq!(detail["officer_id"], OFFICER);
            detail.as_object_mut().unwrap().remove("officer_id");
            lookups += 1;
        }
        let all = format!("{text}|{detail}");
        for n in &needles {
            assert!(
                !all.contains(n.as_str()),
                "{table} holds {n:?} in clear: {all}"
            );
        }
        assert!(
            !all.contains(OFFICER),
            "{table} holds the officer's ID outside its field: {all}"
        );
    }
    assert_eq!(
        lookups,
        (people.len() * 2 + 1) * 2,
        "a question asked upstream has two records (asked, outcome); refusals before the officer check carry no officer"
    );
    store.close().await;

    // The SQLite files themselves (free pages and the WAL included).
    if db.backend == common::Backend::Sqlite {
        for f in ["lienthong.db", "lienthong.db-wal"] {
            let Ok(bytes) = std::fs::read(dir.path().join("data").join(f)) else {
                continue;
            };
            for n in &needles {
                assert!(
                    !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                    "{f} holds {n:?}"
                );
            }
        }
    }

    // The gateway's logs (stderr: JSON lines; stdout: the banner).
    let mut logs = String::new();
    for f in ["stderr.log", "stdout.log"] {
        logs.push_str(&std::fs::read_to_string(dir.path().join(f)).unwrap());
    }
    assert!(
        logs.contains("citizen lookup"),
        "the lookups were logged: {logs}"
    );
    for n in needles.iter().chain([&OFFICER.to_owned()]) {
        assert!(!logs.contains(n.as_str()), "the logs hold {n:?}");
    }
    drop(gw);
}

#[test]
fn configuration_mistakes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        r#"
[adapters.population]
simulate = true
base_url = "https://lgsp.example.vn/dancu/037"
timeout_ms = 0

[citizens]
extra_province_codes = ["99"]
cache = { enabled = true, ttl_secs = 3600 }

[[citizens.purposes]]
code = "tthc"
fields = ["full_name", "shoe_size"]
"#,
    )
    .unwrap();
    let out = std::process::Command::new(common::BIN)
        .arg("--config")
        .arg(&cfg)
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "adapters.population.simulate",
        "adapters.population.timeout_ms",
        "citizens.province_codes",
        "citizens.cache.ttl_secs",
        "citizens.purposes[0].fields",
    ] {
        assert!(err.contains(key), "{key} not named in:\n{err}");
    }
    assert!(err.contains("shoe_size"), "{err}");
}
