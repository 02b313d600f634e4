//! RFC 9457 problem documents as the tests expect them: checked against
//! `schemas/problem.schema.json` (required members, member types and patterns, no unknown
//! members). Included with `#[path = "common/problem.rs"] mod problem;`.

use reqwest::StatusCode;
use serde_json::Value;

/// Check a body against schemas/problem.schema.json: required members, member types and
/// patterns, no unknown members.
pub fn check_problem_schema(body: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("../../schemas/problem.schema.json")).unwrap();
    let obj = body.as_object().expect("problem is an object");
    for req in schema["required"].as_array().unwrap() {
        assert!(
            obj.contains_key(req.as_str().unwrap()),
            "problem lacks {req}: {body}"
        );
    }
    let props = schema["properties"].as_object().unwrap();
    for (k, v) in obj {
        let p = props
            .get(k)
            .unwrap_or_else(|| panic!("problem has unknown member {k}: {body}"));
        match p["type"].as_str().unwrap() {
            "string" => assert!(v.is_string(), "{k} not a string"),
            "integer" => assert!(v.is_i64(), "{k} not an integer"),
            _ => {}
        }
        if let (Some(pat), Some(val)) = (p["pattern"].as_str(), v.as_str()) {
            // The patterns are ^prefix[a-z0-9_]+$.
            let prefix = pat.trim_start_matches('^').split('[').next().unwrap();
            let rest = val
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{k}={val} does not match {pat}"));
            assert!(
                !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{k}={val} does not match {pat}"
            );
        }
    }
}

pub async fn problem(resp: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    check_problem_schema(&body);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(body["request_id"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

/// `GET url` refused with 400 `code`, naming the query parameter `field` in `field` and in the
/// detail.
#[allow(dead_code)] // not every test file that includes this module uses it
pub async fn refused_query(
    client: &reqwest::Client,
    url: String,
    code: &str,
    field: &str,
) -> Value {
    let resp = client.get(&url).send().await.unwrap();
    let body = problem(resp, StatusCode::BAD_REQUEST, code).await;
    assert_eq!(body["field"], field, "{url}: {body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("\"{field}\"")), "{url}: {detail}");
    body
}
