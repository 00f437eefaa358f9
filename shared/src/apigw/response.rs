//! The HTTP API's answer, in the shape API Gateway (payload format 2.0)
//! reads: serialized once, by the runtime, with no intermediate value.

use serde::Serialize;

use crate::employee::EmployeeId;
use crate::error::{ApiError, RETRY_AFTER_SECONDS};
use crate::idempotency::{Answer, Keyed};
use crate::revision::ETag;
use crate::route::employee_path;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: ResponseHeaders,
    /// JSON, as text: API Gateway then passes it on without base64.
    pub body: String,
    pub is_base64_encoded: bool,
    /// Always empty. API Gateway does without it, but `cargo lambda watch`
    /// (through `aws_lambda_events`) refuses a response that lacks it.
    pub cookies: [&'static str; 0],
}

/// The headers the API sends. Values are strings, as API Gateway wants them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseHeaders {
    #[serde(rename = "content-type")]
    pub content_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<&'static str>,
    #[serde(rename = "retry-after", skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// `true` on an answer replayed for an idempotency key.
    #[serde(rename = "idempotent-replayed", skip_serializing_if = "Option::is_none")]
    pub idempotent_replayed: Option<&'static str>,
}

/// The JSON error body: `{"error":"<Code>","message":"<sentence>"}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: &'a str,
    pub message: String,
}

const INTERNAL_ERROR_BODY: &str =
    r#"{"error":"InternalError","message":"The request failed because of an internal error."}"#;

impl HttpResponse {
    /// A response with `value` as its JSON body.
    pub fn json<T: Serialize>(status_code: u16, value: &T) -> Self {
        // Our bodies are plain structs of strings: serialising them cannot
        // fail, but a panic in a request path is never the right answer.
        let (status_code, body) = match serde_json::to_string(value) {
            Ok(body) => (status_code, body),
            Err(_) => (500, INTERNAL_ERROR_BODY.to_owned()),
        };
        Self {
            status_code,
            headers: ResponseHeaders {
                content_type: "application/json",
                location: None,
                allow: None,
                retry_after: None,
                etag: None,
                idempotent_replayed: None,
            },
            body,
            is_base64_encoded: false,
            cookies: [],
        }
    }

    /// 201 with the new resource's `Location`, under `base` (the request's
    /// [`crate::apigw::HttpRequest::base`]).
    pub fn created<T: Serialize>(base: &str, id: &EmployeeId, value: &T) -> Self {
        let mut response = Self::json(201, value);
        response.headers.location = Some(employee_path(base, id));
        response
    }

    /// The same response with an `ETag`.
    pub fn with_etag(mut self, etag: &ETag) -> Self {
        self.headers.etag = Some(etag.header());
        self
    }

    /// The answer to a keyed request for the employee `id`, first or
    /// replayed, its `Location` under `base`.
    pub fn keyed(keyed: Keyed, base: &str, id: &EmployeeId) -> Self {
        let mut response = match keyed.answer {
            Answer::Created(v) => Self::created(base, id, &v.employee).with_etag(&v.etag),
            Answer::Replaced(v) => Self::json(200, &v.employee).with_etag(&v.etag),
            Answer::Removed(employee) => Self::json(200, &employee),
            Answer::Refused(refusal) => Self::error(&ApiError::from(refusal.error(id))),
        };
        response.headers.idempotent_replayed = keyed.replayed.then_some("true");
        response
    }

    /// The error's status, stable code and sentence, and the headers that
    /// go with them (`Retry-After` on 503, `Allow` on 405).
    pub fn error(error: &ApiError) -> Self {
        let (status, code) = error.status_and_code();
        let mut response =
            Self::json(status, &ErrorBody { error: code, message: error.client_message() });
        match error {
            ApiError::ServiceUnavailable(_) => {
                response.headers.retry_after = Some(RETRY_AFTER_SECONDS.to_string());
            }
            ApiError::MethodNotAllowed { allow, .. } => response.headers.allow = Some(allow),
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn body_of(response: &HttpResponse) -> Value {
        serde_json::from_str(&response.body).unwrap()
    }

    #[test]
    fn responses_serialize_as_api_gateway_reads_them() {
        let id = EmployeeId::parse("Zoë A").unwrap();
        let created = HttpResponse::created("", &id, &json!({"a": 1}));
        let out = serde_json::to_value(created).unwrap();
        assert_eq!(
            out,
            json!({
                "statusCode": 201,
                "headers": {"content-type": "application/json", "location": "/employees/Zo%C3%AB%20A"},
                "body": r#"{"a":1}"#,
                "isBase64Encoded": false,
                "cookies": []
            })
        );
    }

    #[test]
    fn error_responses_carry_the_code_a_sentence_and_their_headers() {
        let cases = [
            (ApiError::Validation("jobTitle must not be empty".into()), 400, "ValidationError"),
            (ApiError::ServiceUnavailable("throttled".into()), 503, "ServiceUnavailable"),
            (
                ApiError::MethodNotAllowed {
                    method: "PATCH".into(),
                    path: "/employees/1".into(),
                    allow: "GET, PUT, DELETE",
                },
                405,
                "MethodNotAllowed",
            ),
        ];
        for (error, status, code) in cases {
            let response = HttpResponse::error(&error);
            assert_eq!(response.status_code, status);
            assert_eq!(response.headers.content_type, "application/json");
            let body = body_of(&response);
            assert_eq!(body["error"], code);
            assert!(body["message"].as_str().is_some_and(|m| m.ends_with('.')));
            assert_eq!(body.as_object().unwrap().len(), 2);
        }
        let unavailable = HttpResponse::error(&ApiError::ServiceUnavailable("x".into()));
        assert_eq!(unavailable.headers.retry_after.as_deref(), Some("1"));
        let not_allowed = HttpResponse::error(&ApiError::MethodNotAllowed {
            method: "PATCH".into(),
            path: "/employees/1".into(),
            allow: "GET, PUT, DELETE",
        });
        assert_eq!(not_allowed.headers.allow, Some("GET, PUT, DELETE"));
    }

    #[test]
    fn location_is_the_employee_path_under_the_base() {
        let id = EmployeeId::parse("a%41").unwrap();
        let created = HttpResponse::created("/prod", &id, &json!({}));
        assert_eq!(created.headers.location.as_deref(), Some("/prod/employees/a%2541"));
    }
}
