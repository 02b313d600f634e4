//! On-time statistics end to end: dossiers with known histories are filed and moved through the
//! real gateway, and `GET /v1/reports/on-time` must reproduce the table computed by hand below,
//! by organ and by procedure, on both store backends.

mod common;
#[path = "common/problem.rs"]
mod problem;

use common::{both_backends, Db, Gateway};
use problem::problem;
use reqwest::StatusCode;
use serde_json::{json, Value};

const P1: &str = common::PROCEDURES[0].0;
const P2: &str = common::PROCEDURES[1].0;

fn extra() -> String {
    format!(
        r#"
{dossiers}
[[members]]
id = "motcua"
name = "Trung tâm Phục vụ hành chính công (two organs)"
kind = "onestop"
organs = ["H99.20", "H99.21"]
services = ["dossiers"]
cert_subject = "CN=motcua,OU=members,O=lienthong sandbox,C=VN"

[[members]]
id = "huyen"
name = "Một cửa huyện"
kind = "onestop"
organs = ["H99.22"]
services = ["dossiers"]
cert_subject = "CN=huyen,OU=members,O=lienthong sandbox,C=VN"
"#,
        dossiers = common::dossiers_toml(),
    )
}

/// One dossier of the known set: who files it, its organ and procedure, filing status,
/// receipt and due time (given, so the desk's receipt fixes it), then its status changes.
struct Case {
    code: &'static str,
    member: &'static str,
    organ: &'static str,
    procedure: &'static str,
    status: u8,
    received: &'static str,
    due: &'static str,
    steps: &'static [(u8, &'static str)],
}

/// The known set. Period of the report: March and April 2026 (`from=2026-03&to=2026-05`),
/// Vietnam time; `as_of` = 2026-04-20T12:00+07:00. Each line says how the rule classifies it.
const CASES: &[Case] = &[
    // D01 H99.20 P1: ended by 9 on 18/3, before its due time 20/3 17:00 → on time, March.
    Case {
        code: "D01",
        member: "motcua",
        organ: "H99.20",
        procedure: P1,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-03-20T17:00",
        steps: &[(4, "2026-03-03T08:00"), (9, "2026-03-18T10:00")],
    },
    // D02 H99.20 P1: ended by 9 on 23/3, after the due time → late, March.
    Case {
        code: "D02",
        member: "motcua",
        organ: "H99.20",
        procedure: P1,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-03-20T17:00",
        steps: &[(4, "2026-03-03T08:00"), (9, "2026-03-23T10:00")],
    },
    // D03 H99.20 P1: 9 on 19/3 (before due), 10 on 24/3 (after due): the end is 9 → on time, March.
    Case {
        code: "D03",
        member: "motcua",
        organ: "H99.20",
        procedure: P1,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-03-20T17:00",
        steps: &[
            (4, "2026-03-03T08:00"),
            (9, "2026-03-19T10:00"),
            (10, "2026-03-24T08:00"),
        ],
    },
    // D04 H99.21 P2: submitted online (1), not accepted (3) the next day → on time, March.
    Case {
        code: "D04",
        member: "motcua",
        organ: "H99.21",
        procedure: P2,
        status: 1,
        received: "2026-03-02T09:00",
        due: "2026-03-20T17:00",
        steps: &[(3, "2026-03-03T09:00")],
    },
    // D05 H99.21 P1: withdrawn (7) on 10/3 → ended, on time, March.
    Case {
        code: "D05",
        member: "motcua",
        organ: "H99.21",
        procedure: P1,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-03-20T17:00",
        steps: &[(7, "2026-03-10T09:00")],
    },
    // D06 H99.20 P2: one supplement request on 5/3, still outstanding: the clock stopped
    // before the due time → on time, March.
    Case {
        code: "D06",
        member: "motcua",
        organ: "H99.20",
        procedure: P2,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-03-20T17:00",
        steps: &[(5, "2026-03-05T10:00")],
    },
    // D07 H99.21 P2: two supplement requests, then 9 on 16/3 before the due time → late (more
    // than one request), March.
    Case {
        code: "D07",
        member: "motcua",
        organ: "H99.21",
        procedure: P2,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-03-20T17:00",
        steps: &[
            (5, "2026-03-04T09:00"),
            (2, "2026-03-06T09:00"),
            (5, "2026-03-09T09:00"),
            (4, "2026-03-11T09:00"),
            (9, "2026-03-16T09:00"),
        ],
    },
    // D08 H99.20 P1: processing, due 30/4 → in progress, on time at as_of.
    Case {
        code: "D08",
        member: "motcua",
        organ: "H99.20",
        procedure: P1,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-04-30T17:00",
        steps: &[(4, "2026-03-03T08:00")],
    },
    // D09 H99.21 P1: processing, due 10/4 → in progress, overdue at as_of.
    Case {
        code: "D09",
        member: "motcua",
        organ: "H99.21",
        procedure: P1,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-04-10T17:00",
        steps: &[(4, "2026-03-03T08:00")],
    },
    // D10 H99.20 P2: 9 exactly at the due instant → on time (not after it), March.
    Case {
        code: "D10",
        member: "motcua",
        organ: "H99.20",
        procedure: P2,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-03-20T17:00",
        steps: &[(4, "2026-03-03T08:00"), (9, "2026-03-20T17:00")],
    },
    // D11 H99.21 P2: 9 on 1/4 06:30 Vietnam time = 31/3 23:30 UTC → on time, April (the month
    // is Vietnam time's).
    Case {
        code: "D11",
        member: "motcua",
        organ: "H99.21",
        procedure: P2,
        status: 2,
        received: "2026-03-25T09:00",
        due: "2026-04-03T17:00",
        steps: &[(4, "2026-03-26T08:00"), (9, "2026-04-01T06:30")],
    },
    // D12 H99.20 P1: ended 27/2, before the period → not counted.
    Case {
        code: "D12",
        member: "motcua",
        organ: "H99.20",
        procedure: P1,
        status: 2,
        received: "2026-02-10T09:00",
        due: "2026-03-10T09:00",
        steps: &[(4, "2026-02-11T08:00"), (9, "2026-02-27T10:00")],
    },
    // D13 H99.20 P1: 9 on 25/4, after as_of → at as_of in progress, on time (due 30/4).
    Case {
        code: "D13",
        member: "motcua",
        organ: "H99.20",
        procedure: P1,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-04-30T17:00",
        steps: &[(4, "2026-03-03T08:00"), (9, "2026-04-25T10:00")],
    },
    // D14 H99.22 P1 (another member): 9 on 12/3 → on time, March; motcua never sees it.
    Case {
        code: "D14",
        member: "huyen",
        organ: "H99.22",
        procedure: P1,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-03-20T17:00",
        steps: &[(4, "2026-03-03T08:00"), (9, "2026-03-12T10:00")],
    },
    // D15 H99.20 P1: stopped (8) on 2/4, due 31/3 → late, April.
    Case {
        code: "D15",
        member: "motcua",
        organ: "H99.20",
        procedure: P1,
        status: 2,
        received: "2026-03-02T09:00",
        due: "2026-03-31T17:00",
        steps: &[(4, "2026-03-03T08:00"), (8, "2026-04-02T09:00")],
    },
];

/// Expected counts of a month: finished, on time, late, overdue counted late, percent.
type Month = (&'static str, i64, i64, i64, i64, Option<&'static str>);
/// Expected counts of a group: its months, its total (a month without a name), in progress
/// on time and overdue.
type Group = (&'static str, &'static [Month], Month, (i64, i64));

fn counts(m: &Month) -> Value {
    let &(_, finished, on_time, late, counted, percent) = m;
    json!({
        "finished": finished,
        "finished_on_time": on_time,
        "finished_late": late,
        "overdue_counted_late": counted,
        "on_time_rate": {"numerator": on_time, "denominator": finished + counted, "percent": percent},
    })
}

fn expected(by: &str, groups: &[Group]) -> Value {
    let list: Vec<Value> = groups
        .iter()
        .map(|(key, months, total, (open, overdue))| {
            let mut g = json!({ by: key });
            if by == "procedure" {
                let p = common::PROCEDURES.iter().find(|p| p.0 == *key).unwrap();
                g["name"] = json!(p.1);
            }
            g["months"] = months
                .iter()
                .map(|m| {
                    let mut v = counts(m);
                    v["month"] = json!(m.0);
                    v
                })
                .collect();
            g["total"] = counts(total);
            g["total"]["in_progress"] = json!({"on_time": open, "overdue": overdue});
            g
        })
        .collect();
    json!(list)
}

/// `GET path`, answered 200 with JSON.
async fn get(c: &reqwest::Client, g: &Gateway, path: &str) -> Value {
    let resp = c.get(g.url(path)).send().await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn report(c: &reqwest::Client, g: &Gateway, query: &str) -> Value {
    get(c, g, &format!("/v1/reports/on-time?{query}")).await
}

async fn send(c: &reqwest::Client, url: String, body: Value) -> Value {
    let resp = c.post(url).json(&body).send().await.unwrap();
    let status = resp.status();
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body} → {answer}");
    answer
}

async fn file_all(g: &Gateway) {
    for d in CASES {
        let c = g.client(Some(d.member));
        let code = format!("{}-{}", d.organ, d.code);
        let body = json!({
            "code": code, "procedure": d.procedure, "receiving_organ": d.organ,
            "applicant": {"name": "Phạm Văn Thử", "kind": "individual"},
            "channel": "in_person", "result_delivery": "at_desk", "status": d.status,
            "received_at": d.received, "due_at": d.due,
        });
        send(&c, g.url("/v1/dossiers"), body).await;
        for &(status, at) in d.steps {
            let url = g.url(&format!("/v1/dossiers/{code}/events"));
            send(&c, url, json!({"status": status, "at": at})).await;
        }
    }
}

const PERIOD: &str = "from=2026-03&to=2026-05&as_of=2026-04-20T12:00:00%2B07:00";

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn on_time_report_reproduces_the_hand_computed_table);
async fn on_time_report_reproduces_the_hand_computed_table(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Gateway::start_with(&db, dir.path(), &extra());
    file_all(&g).await;
    let motcua = g.client(Some("motcua"));

    // By organ. H99.20: March D01 D02 D03 D06 D10 (4 on time, D02 late), April D15 (late);
    // D08 and D13 in progress on time; D12 outside the period.
    // H99.21: March D04 D05 D07 (D07 late), April D11; D09 overdue.
    let r = report(&motcua, &g, &format!("{PERIOD}&by=organ")).await;
    assert_eq!(r["from"], "2026-03-01T00:00:00+07:00");
    assert_eq!(r["to"], "2026-05-01T00:00:00+07:00");
    assert_eq!(r["as_of"], "2026-04-20T12:00:00+07:00");
    assert_eq!(
        r["rule"],
        json!({"end_statuses": [3, 7, 8, 9, 10], "supplement_ends_clock": true, "max_supplements": 1, "open_overdue_is_late": false})
    );
    let by_organ: &[Group] = &[
        (
            "H99.20",
            &[
                ("2026-03", 5, 4, 1, 0, Some("80.00")),
                ("2026-04", 1, 0, 1, 0, Some("0.00")),
            ],
            ("", 6, 4, 2, 0, Some("66.67")),
            (2, 0),
        ),
        (
            "H99.21",
            &[
                ("2026-03", 3, 2, 1, 0, Some("66.67")),
                ("2026-04", 1, 1, 0, 0, Some("100.00")),
            ],
            ("", 4, 3, 1, 0, Some("75.00")),
            (0, 1),
        ),
    ];
    assert_eq!(r["groups"], expected("organ", by_organ), "{r:#}");
    let mut total = counts(&("", 10, 7, 3, 0, Some("70.00")));
    total["in_progress"] = json!({"on_time": 2, "overdue": 1});
    assert_eq!(r["total"], total);

    // By procedure. P1: March D01 D02 D03 D05 (D02 late), April D15 (late); D08 D13 in
    // progress on time, D09 overdue. P2: March D04 D06 D07 D10 (D07 late), April D11.
    let r = report(&motcua, &g, &format!("{PERIOD}&by=procedure")).await;
    let by_procedure: &[Group] = &[
        (
            P2,
            &[
                ("2026-03", 4, 3, 1, 0, Some("75.00")),
                ("2026-04", 1, 1, 0, 0, Some("100.00")),
            ],
            ("", 5, 4, 1, 0, Some("80.00")),
            (0, 0),
        ),
        (
            P1,
            &[
                ("2026-03", 4, 3, 1, 0, Some("75.00")),
                ("2026-04", 1, 0, 1, 0, Some("0.00")),
            ],
            ("", 5, 3, 2, 0, Some("60.00")),
            (2, 1),
        ),
    ];
    assert_eq!(r["groups"], expected("procedure", by_procedure), "{r:#}");
    assert_eq!(r["total"], total);

    // Another member sees only its own organ: D14.
    let huyen = g.client(Some("huyen"));
    let r = report(&huyen, &g, PERIOD).await;
    let own: &[Group] = &[(
        "H99.22",
        &[("2026-03", 1, 1, 0, 0, Some("100.00"))],
        ("", 1, 1, 0, 0, Some("100.00")),
        (0, 0),
    )];
    assert_eq!(r["groups"], expected("organ", own), "{r:#}");

    // Later (as_of 2030, after every recorded change): D13 finished on time in April (H99.20
    // April 2, 1 on time → 50 %); D08 (due 30/4) and D09 are overdue in progress.
    let later = "from=2026-03&to=2026-05&as_of=2030-01-01";
    let r = report(&motcua, &g, later).await;
    let by_organ_later: &[Group] = &[
        (
            "H99.20",
            &[
                ("2026-03", 5, 4, 1, 0, Some("80.00")),
                ("2026-04", 2, 1, 1, 0, Some("50.00")),
            ],
            ("", 7, 5, 2, 0, Some("71.43")),
            (0, 1),
        ),
        // H99.21 as before.
        by_organ[1],
    ];
    assert_eq!(r["groups"], expected("organ", by_organ_later), "{r:#}");

    // An empty period: no groups, a rate of nothing is null.
    let r = report(&motcua, &g, "from=2025-01&to=2025-02&as_of=2025-03-01").await;
    assert_eq!(r["groups"], json!([]));
    assert_eq!(r["total"]["on_time_rate"]["percent"], Value::Null);

    // The dossier view classifies each dossier by the same rule (as of now).
    for (code, standing, end_status, supplements) in [
        ("H99.20-D03", "on_time", json!(9), 0),
        ("H99.20-D06", "on_time", json!(5), 1),
        ("H99.21-D07", "late", json!(9), 2),
        ("H99.20-D10", "on_time", json!(9), 0),
        ("H99.21-D09", "overdue", Value::Null, 0),
    ] {
        let v = get(&motcua, &g, &format!("/v1/dossiers/{code}")).await;
        let o = &v["on_time"];
        assert_eq!(o["standing"], standing, "{code}: {v}");
        assert_eq!(o["end_status"], end_status, "{code}: {o}");
        assert_eq!(o["supplement_requests"], supplements, "{code}: {o}");
    }
    let v = get(&motcua, &g, "/v1/dossiers/H99.21-D11").await;
    assert_eq!(
        v["on_time"]["end_of_processing"],
        "2026-04-01T06:30:00+07:00"
    );

    // Counting open overdue dossiers as late: D09 (due 10/4, open at as_of) is late in April
    // for H99.21: 1 on time of 2 → 50 %; nothing else changes.
    g.stop();
    let env = vec![(
        "LIENTHONG_DOSSIERS__ON_TIME__OPEN_OVERDUE_IS_LATE".to_owned(),
        "true".to_owned(),
    )];
    let g = Gateway::spawn_env(dir.path(), &g.config(), env);
    let r = report(&g.client(Some("motcua")), &g, PERIOD).await;
    assert_eq!(r["rule"]["open_overdue_is_late"], true);
    let counted: &[Group] = &[
        by_organ[0],
        (
            "H99.21",
            &[
                ("2026-03", 3, 2, 1, 0, Some("66.67")),
                ("2026-04", 1, 1, 0, 1, Some("50.00")),
            ],
            ("", 4, 3, 1, 1, Some("60.00")),
            (0, 1),
        ),
    ];
    assert_eq!(r["groups"], expected("organ", counted), "{r:#}");
}

both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn bad_report_parameters_are_refused_naming_the_parameter);
async fn bad_report_parameters_are_refused_naming_the_parameter(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let g = Gateway::start_with(&db, dir.path(), &extra());
    let c = g.client(Some("motcua"));
    let cases = [
        ("to=2026-05", "missing_parameter", "from"),
        ("from=2026-03", "missing_parameter", "to"),
        ("from=2026-3&to=2026-05", "invalid_from", "from"),
        ("from=2026-03&to=31/05/2026", "invalid_to", "to"),
        (
            "from=2026-03&to=2026-05&as_of=h%C3%B4m%20nay",
            "invalid_as_of",
            "as_of",
        ),
        ("from=2026-03&to=2026-05&by=month", "invalid_by", "by"),
        ("from=2026-05&to=2026-03", "invalid_period", "to"),
        ("from=2010-01&to=2026-03", "invalid_period", "to"),
        (
            "from=2026-03&to=2026-05&organ=H99.20",
            "unknown_parameter",
            "organ",
        ),
        (
            "from=2026-03&from=2026-04&to=2026-05",
            "invalid_query",
            "from",
        ),
    ];
    for (query, code, field) in cases {
        let url = g.url(&format!("/v1/reports/on-time?{query}"));
        problem::refused_query(&c, url, code, field).await;
    }
    // A member without the dossiers service.
    let resp = g
        .client(Some("sonv"))
        .get(g.url("/v1/reports/on-time?from=2026-03&to=2026-05"))
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::FORBIDDEN, "service_not_granted").await;
}

#[test]
fn check_config_names_a_bad_on_time_rule() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "[dossiers.on_time]\nend_statuses = [9, 5]\nmax_supplements = 2\n";
    let cfg = common::write_config(&Db::sqlite(), dir.path(), extra);
    let out = std::process::Command::new(common::BIN)
        .args(["--config", cfg.to_str().unwrap(), "check-config"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("dossiers.on_time.end_statuses") && err.contains("supplement_ends_clock"),
        "{err}"
    );
    // The shipped sandbox configuration (the rule's defaults written out) is valid.
    let out = std::process::Command::new(common::BIN)
        .args(["--config", "config/lienthong.toml", "check-config"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}
