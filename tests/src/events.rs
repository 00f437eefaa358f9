//! API Gateway HTTP API events (payload format 2.0), shaped as a `$default`
//! route, `sam local generate-event` and function URLs deliver them (no
//! `pathParameters`: the id comes from the raw path). The one event builder
//! the tests share; the `events/` files are the real-world samples.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

pub const HOST: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

#[derive(Debug, Clone)]
pub struct HttpEvent {
    method: String,
    path: String,
    query: String,
    headers: Map<String, Value>,
    body: Option<Vec<u8>>,
    base64: Base64,
    request_id: String,
}

#[derive(Debug, Clone)]
enum Base64 {
    /// Text bodies as text; bodies that are not UTF-8 base64-encoded, as
    /// API Gateway sends them.
    WhenNeeded,
    /// Always encoded, as for binary media types.
    Always,
    /// This text, sent as it is with the base64 flag set.
    Verbatim(String),
}

/// An event for `method` on `path` (the raw path, as a client sends it).
pub fn http_event(method: &str, path: &str) -> HttpEvent {
    let mut headers = Map::new();
    headers.insert("host".into(), HOST.into());
    headers.insert("user-agent".into(), "employee-api-tests".into());
    HttpEvent {
        method: method.to_owned(),
        path: path.to_owned(),
        query: String::new(),
        headers,
        body: None,
        base64: Base64::WhenNeeded,
        request_id: "tests".to_owned(),
    }
}

impl HttpEvent {
    /// The raw query string, without `?`.
    pub fn query(mut self, query: &str) -> Self {
        self.query = query.to_owned();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_owned(), value.into());
        self
    }

    pub fn content_type(self, value: &str) -> Self {
        self.header("content-type", value)
    }

    /// A body sent with `Content-Type: application/json`.
    pub fn json_body(self, body: impl Into<Vec<u8>>) -> Self {
        self.content_type("application/json").body(body)
    }

    /// A body, with whatever `Content-Type` the event has (maybe none).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sends the body base64-encoded.
    pub fn base64(mut self) -> Self {
        self.base64 = Base64::Always;
        self
    }

    /// Sends `text` verbatim as a body flagged base64 (which it may not be).
    pub fn base64_verbatim(mut self, text: &str) -> Self {
        self.base64 = Base64::Verbatim(text.to_owned());
        self
    }

    /// API Gateway's own id of the request (`requestContext.requestId`).
    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }

    pub fn build(self) -> Value {
        let user_agent = self.headers.get("user-agent").cloned().unwrap_or_default();
        let (body, is_base64) = match (self.base64, self.body) {
            (Base64::Verbatim(text), _) => (Some(text), true),
            (_, None) => (None, false),
            (Base64::Always, Some(body)) => (Some(STANDARD.encode(body)), true),
            (Base64::WhenNeeded, Some(body)) => match String::from_utf8(body) {
                Ok(text) => (Some(text), false),
                Err(e) => (Some(STANDARD.encode(e.into_bytes())), true),
            },
        };
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": self.headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "a1b2c3d4e5",
                "domainName": HOST,
                "domainPrefix": "a1b2c3d4e5",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7",
                    "userAgent": user_agent
                },
                "requestId": self.request_id,
                "routeKey": "$default",
                "stage": "$default",
                "time": "21/Nov/2026:23:00:00 +0000",
                "timeEpoch": 1795302000000u64
            },
            "isBase64Encoded": is_base64
        });
        if let Some(body) = body {
            event["body"] = body.into();
        }
        event
    }
}
