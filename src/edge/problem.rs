//! RFC 9457 problem details. Every rejection the gateway makes is one of these: a stable
//! machine `code`, an English `title`, and a Vietnamese `detail` an operator can act on.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// A problem to answer with.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// Stable machine code, e.g. `service_not_granted`.
    pub code: &'static str,
    pub title: &'static str,
    /// Vietnamese explanation of what went wrong and what to do.
    pub detail: String,
    pub request_id: Option<String>,
    pub retry_after: Option<u64>,
    /// Extra headers (e.g. `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, String)>,
    /// Extension members (e.g. OAuth2's `error`).
    pub extra: Map<String, Value>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            code,
            title,
            detail: detail.into(),
            request_id: None,
            retry_after: None,
            headers: Vec::new(),
            extra: Map::new(),
        }
    }

    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_owned());
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with_extra(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn body(&self) -> Value {
        let mut v = json!({
            "type": format!("urn:lienthong:problem:{}", self.code),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some(id) = &self.request_id {
                obj.insert("request_id".into(), Value::String(id.clone()));
            }
            if let Some(s) = self.retry_after {
                obj.insert("retry_after".into(), Value::from(s));
            }
            for (k, val) in &self.extra {
                obj.insert(k.clone(), val.clone());
            }
        }
        v
    }

    // The catalogue of problems the edge answers with.

    pub fn unauthenticated() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
            "Yêu cầu chưa được xác thực: hãy gửi chứng thư số máy khách (mTLS) của hệ thống thành viên, \
             hoặc mã truy cập lấy từ POST /oauth2/token trong tiêu đề Authorization: Bearer.",
        )
        .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"lienthong\"")
    }

    pub fn certificate_not_bound(subject: &str) -> Self {
        Problem::new(
            StatusCode::FORBIDDEN,
            "certificate_not_bound",
            "Certificate is not bound to a member",
            format!(
                "Chứng thư số máy khách hợp lệ nhưng chưa gắn với hệ thống thành viên nào (chủ thể: {subject}). \
                 Đề nghị quản trị viên khai báo cert_fingerprint hoặc cert_subject cho thành viên."
            ),
        )
    }

    pub fn invalid_token(code: &'static str, why: &str) -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            code,
            "Invalid access token",
            format!("Mã truy cập không hợp lệ ({why}). Hãy lấy mã mới từ POST /oauth2/token."),
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"lienthong\", error=\"invalid_token\"",
        )
    }

    pub fn service_not_granted(member: &str, service: &str) -> Self {
        Problem::new(
            StatusCode::FORBIDDEN,
            "service_not_granted",
            "Service not granted to this member",
            format!(
                "Thành viên \"{member}\" chưa được cấp quyền dùng dịch vụ \"{service}\". \
                 Đề nghị quản trị viên bổ sung \"{service}\" vào services của thành viên nếu việc truy cập là cần thiết."
            ),
        )
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
            format!(
                "Hệ thống thành viên gửi quá nhiều yêu cầu. Hãy thử lại sau {retry_after} giây."
            ),
        );
        p.retry_after = Some(retry_after);
        p
    }

    pub fn body_too_large(limit: u64) -> Self {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "Request body too large",
            format!("Nội dung yêu cầu vượt quá giới hạn {limit} byte. Hãy giảm kích thước hoặc liên hệ quản trị viên."),
        )
    }

    pub fn timeout(ms: u64) -> Self {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            "Request took too long",
            format!("Yêu cầu không hoàn thành trong {ms} ms. Hãy thử lại sau."),
        )
        .with_header(header::RETRY_AFTER, "5")
    }

    pub fn store_unavailable() -> Self {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "Storage unavailable",
            "Kho dữ liệu của cổng tạm thời không ghi được; yêu cầu chưa được tiếp nhận. Hãy thử lại sau.",
        )
        .with_header(header::RETRY_AFTER, "5")
    }

    pub fn not_found() -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            "Không có tài nguyên hoặc dịch vụ tại địa chỉ này.",
        )
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, code, "Bad request", detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        if let Some(id) = self.request_id {
            if let Ok(v) = HeaderValue::from_str(&id) {
                h.insert("x-request-id", v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_rfc9457_members_and_code() {
        let p = Problem::rate_limited(7).with_request_id("abc");
        let b = p.body();
        assert_eq!(b["status"], 429);
        assert_eq!(b["code"], "rate_limited");
        assert_eq!(b["type"], "urn:lienthong:problem:rate_limited");
        assert_eq!(b["request_id"], "abc");
        assert!(b["detail"].as_str().unwrap().contains("7 giây"));
        let r = p.into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
