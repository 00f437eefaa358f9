//! Every way a request can fail, and the one place that turns a failure into
//! an HTTP status and a stable error code.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::employee::InvalidField;
use crate::store::StoreError;

/// Seconds a client is asked to wait after a 503. DynamoDB throttling clears
/// within a second or two as partitions adapt, so a short hint is honest.
pub const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(String),
    #[error("employee {0:?} does not exist")]
    EmployeeDoesNotExist(String),
    #[error("no route matches {0}")]
    RouteNotFound(String),
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String, allow: &'static str },
    #[error("employee {0:?} already exists")]
    EmployeeAlreadyExists(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// DynamoDB throttled, timed out or could not be reached, even after retries.
    #[error("the employee table is unavailable: {0}")]
    ServiceUnavailable(String),
    /// Anything else: the detail goes to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The stable code of an error response, for the request's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// The JSON error body: `{"error":"<Code>","message":"<sentence>"}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: &'a str,
    pub message: String,
}

impl ApiError {
    /// The HTTP status and the stable error code clients can match on.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Validation(_) => (StatusCode::BAD_REQUEST, "ValidationError"),
            Self::EmployeeDoesNotExist(_) => (StatusCode::NOT_FOUND, "EmployeeDoesNotExist"),
            Self::RouteNotFound(_) => (StatusCode::NOT_FOUND, "RouteNotFound"),
            Self::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            Self::EmployeeAlreadyExists(_) => (StatusCode::CONFLICT, "EmployeeAlreadyExists"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType")
            }
            Self::ServiceUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        }
    }

    /// The sentence shown to the client. Dependency and internal failures get
    /// a fixed sentence: their details stay in the log.
    pub fn client_message(&self) -> String {
        match self {
            Self::ServiceUnavailable(_) => {
                "The employee table is temporarily unavailable; retry after the Retry-After delay."
                    .to_owned()
            }
            Self::Internal(_) => "The request failed because of an internal error.".to_owned(),
            other => {
                let mut sentence = other.to_string();
                if let Some(first) = sentence.get(..1) {
                    let upper = first.to_uppercase();
                    sentence.replace_range(..1, &upper);
                }
                if !sentence.ends_with('.') {
                    sentence.push('.');
                }
                sentence
            }
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            // The detail stays here, never in the response.
            tracing::error!(error.code = code, error.detail = %self, "request failed");
        }
        let body = ErrorBody { error: code, message: self.client_message() };
        let mut response = super::response::json(status, &body);
        response.extensions_mut().insert(ErrorCode(code));
        let headers = response.headers_mut();
        match &self {
            Self::ServiceUnavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            Self::MethodNotAllowed { allow, .. } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        response
    }
}

impl From<InvalidField> for ApiError {
    fn from(err: InvalidField) -> Self {
        Self::Validation(err.message().to_owned())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::AlreadyExists(id) => Self::EmployeeAlreadyExists(id.to_string()),
            StoreError::Unavailable(detail) => Self::ServiceUnavailable(detail),
            StoreError::Internal(detail) => Self::Internal(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::employee::EmployeeId;

    fn body_of(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn every_error_maps_to_its_status_and_stable_code() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::Validation("jobTitle must not be empty".into()), 400, "ValidationError"),
            (ApiError::EmployeeDoesNotExist("42".into()), 404, "EmployeeDoesNotExist"),
            (ApiError::RouteNotFound("/nope".into()), 404, "RouteNotFound"),
            (
                ApiError::MethodNotAllowed {
                    method: "PATCH".into(),
                    path: "/employees".into(),
                    allow: "GET, POST",
                },
                405,
                "MethodNotAllowed",
            ),
            (ApiError::EmployeeAlreadyExists("42".into()), 409, "EmployeeAlreadyExists"),
            (ApiError::PayloadTooLarge { limit: 16384 }, 413, "PayloadTooLarge"),
            (ApiError::UnsupportedMediaType("x".into()), 415, "UnsupportedMediaType"),
            (ApiError::ServiceUnavailable("throttled".into()), 503, "ServiceUnavailable"),
            (ApiError::Internal("boom".into()), 500, "InternalError"),
            (
                StoreError::AlreadyExists(EmployeeId::parse("7").unwrap()).into(),
                409,
                "EmployeeAlreadyExists",
            ),
            (StoreError::Unavailable("timeout".into()).into(), 503, "ServiceUnavailable"),
            (StoreError::Internal("ResourceNotFoundException".into()).into(), 500, "InternalError"),
        ];
        for (error, status, code) in cases {
            let described = format!("{error:?}");
            let response = error.into_response();
            assert_eq!(response.status().as_u16(), status, "{described}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json", "{described}");
            let body = body_of(&response);
            assert_eq!(body["error"], code, "{described}");
            assert!(body["message"].as_str().is_some_and(|m| m.ends_with('.')), "{described}");
            assert_eq!(body.as_object().unwrap().len(), 2, "{described}");
        }
    }

    #[test]
    fn unavailable_carries_retry_after_and_no_internal_detail() {
        let response =
            ApiError::ServiceUnavailable("dispatch failure: connection refused 10.0.0.1".into())
                .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let message = body_of(&response)["message"].as_str().unwrap().to_owned();
        assert!(!message.contains("10.0.0.1") && !message.contains("dispatch"), "{message}");
    }

    #[test]
    fn internal_errors_never_leak_their_detail() {
        let response =
            ApiError::Internal("ResourceNotFoundException: table x".into()).into_response();
        let message = body_of(&response)["message"].as_str().unwrap().to_owned();
        assert!(!message.contains("ResourceNotFound"), "{message}");
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let response = ApiError::MethodNotAllowed {
            method: "PATCH".into(),
            path: "/employees/1".into(),
            allow: "GET, PUT, DELETE",
        }
        .into_response();
        assert_eq!(response.headers()[header::ALLOW], "GET, PUT, DELETE");
    }

    #[test]
    fn client_messages_are_sentences() {
        let message = ApiError::EmployeeDoesNotExist("42".into()).client_message();
        assert_eq!(message, "Employee \"42\" does not exist.");
    }
}
