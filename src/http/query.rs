//! Query strings of `GET` routes: every parameter known, none repeated, each refusal naming its
//! parameter in `field` (`unknown_parameter`, `invalid_query`, `missing_parameter`).

use crate::edge::Problem;
use std::collections::BTreeMap;

/// A `400` problem about the query parameter `field`.
pub fn bad(code: &'static str, field: &str, detail: String) -> Problem {
    Problem::bad_request(code, detail).with_extra("field", field)
}

/// The parameters of one request.
pub struct Params {
    values: BTreeMap<String, String>,
    example: &'static str,
}

/// `known`: the parameters the route reads; `example`: a URL shown in refusals.
pub fn parse(raw: Option<&str>, known: &[&str], example: &'static str) -> Result<Params, Problem> {
    let mut values = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !known.contains(&k.as_ref()) {
            let (last, rest) = known.split_last().expect("a route reads some parameter");
            let list = if rest.is_empty() {
                (*last).to_owned()
            } else {
                format!("{} và {last}", rest.join(", "))
            };
            return Err(bad(
                "unknown_parameter",
                &k,
                format!("Tham số \"{k}\" không được hỗ trợ. Chỉ dùng {list}, ví dụ {example}."),
            ));
        }
        if values.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(bad(
                "invalid_query",
                &k,
                format!("Tham số \"{k}\" xuất hiện nhiều lần; chỉ gửi một giá trị."),
            ));
        }
    }
    Ok(Params { values, example })
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn required(&self, name: &str) -> Result<&str, Problem> {
        self.get(name).ok_or_else(|| {
            bad(
                "missing_parameter",
                name,
                format!("Thiếu tham số \"{name}\". Ví dụ: {}.", self.example),
            )
        })
    }
}
