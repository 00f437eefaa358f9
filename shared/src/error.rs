//! Every way a request can fail, and the one place that gives a failure its
//! HTTP status, its stable error code and the sentence a client reads.
//! Both doors use it: the API Gateway adapter writes the status and code
//! into the response, a direct invocation reports the code as the function
//! error's `errorType`.

use crate::employee::InvalidField;
use crate::employees;

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
    /// `If-Match` or `If-None-Match` was false; nothing was written.
    #[error(
        "employee {0:?} does not match the request's precondition (If-Match or If-None-Match); read it again for its current ETag"
    )]
    PreconditionFailed(String),
    #[error(
        "the idempotency key was already used with a different request; use a new key for a new request"
    )]
    IdempotencyKeyReused,
    /// `REQUIRE_IF_MATCH` is on and the request has no precondition.
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The employee exists, written by another system in a form this API
    /// cannot read (`why` names the attribute); nothing was written.
    #[error(
        "employee {id:?} is stored in a form this API cannot read ({why}); another system wrote it, and a PUT with a jobTitle repairs it"
    )]
    EmployeeUnreadable { id: String, why: String },
    /// DynamoDB throttled, timed out or could not be reached, even after retries.
    #[error("the employee table is unavailable: {0}")]
    ServiceUnavailable(String),
    /// Anything else: the detail goes to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status and the stable error code clients can match on.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            Self::Validation(_) => (400, "ValidationError"),
            Self::EmployeeDoesNotExist(_) => (404, "EmployeeDoesNotExist"),
            Self::RouteNotFound(_) => (404, "RouteNotFound"),
            Self::MethodNotAllowed { .. } => (405, "MethodNotAllowed"),
            Self::EmployeeAlreadyExists(_) => (409, "EmployeeAlreadyExists"),
            Self::PreconditionFailed(_) => (412, "PreconditionFailed"),
            Self::IdempotencyKeyReused => (422, "IdempotencyKeyReused"),
            Self::PreconditionRequired(_) => (428, "PreconditionRequired"),
            Self::PayloadTooLarge { .. } => (413, "PayloadTooLarge"),
            Self::UnsupportedMediaType(_) => (415, "UnsupportedMediaType"),
            Self::EmployeeUnreadable { .. } => (500, "EmployeeUnreadable"),
            Self::ServiceUnavailable(_) => (503, "ServiceUnavailable"),
            Self::Internal(_) => (500, "InternalError"),
        }
    }

    pub fn code(&self) -> &'static str {
        self.status_and_code().1
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

    /// Logs a server-side failure with its detail, which never reaches the
    /// client. Client errors are not logged beyond the request's line.
    pub fn log_if_server_error(&self) {
        let (status, code) = self.status_and_code();
        if status >= 500 {
            tracing::error!(error.code = code, error.detail = %self, "request failed");
        }
    }
}

impl From<InvalidField> for ApiError {
    fn from(err: InvalidField) -> Self {
        Self::Validation(err.message().to_owned())
    }
}

impl From<employees::Error> for ApiError {
    fn from(err: employees::Error) -> Self {
        match err {
            employees::Error::DoesNotExist(id) => Self::EmployeeDoesNotExist(id.to_string()),
            employees::Error::AlreadyExists(id) => Self::EmployeeAlreadyExists(id.to_string()),
            employees::Error::PreconditionFailed(id) => Self::PreconditionFailed(id.to_string()),
            employees::Error::KeyReused => Self::IdempotencyKeyReused,
            employees::Error::Unreadable { id, why } => {
                Self::EmployeeUnreadable { id: id.to_string(), why }
            }
            employees::Error::Unavailable(detail) => Self::ServiceUnavailable(detail),
            employees::Error::Internal(detail) => Self::Internal(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::employee::EmployeeId;

    #[test]
    fn every_error_maps_to_its_status_and_stable_code() {
        let id = || EmployeeId::parse("7").unwrap();
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
            (ApiError::PreconditionFailed("42".into()), 412, "PreconditionFailed"),
            (ApiError::IdempotencyKeyReused, 422, "IdempotencyKeyReused"),
            (ApiError::PreconditionRequired("x".into()), 428, "PreconditionRequired"),
            (ApiError::PayloadTooLarge { limit: 16384 }, 413, "PayloadTooLarge"),
            (ApiError::UnsupportedMediaType("x".into()), 415, "UnsupportedMediaType"),
            (ApiError::ServiceUnavailable("throttled".into()), 503, "ServiceUnavailable"),
            (
                ApiError::EmployeeUnreadable { id: "42".into(), why: "JobTitle is missing".into() },
                500,
                "EmployeeUnreadable",
            ),
            (ApiError::Internal("boom".into()), 500, "InternalError"),
            (employees::Error::DoesNotExist(id()).into(), 404, "EmployeeDoesNotExist"),
            (employees::Error::AlreadyExists(id()).into(), 409, "EmployeeAlreadyExists"),
            (employees::Error::PreconditionFailed(id()).into(), 412, "PreconditionFailed"),
            (employees::Error::KeyReused.into(), 422, "IdempotencyKeyReused"),
            (
                employees::Error::Unreadable { id: id(), why: "JobTitle is missing".into() }.into(),
                500,
                "EmployeeUnreadable",
            ),
            (employees::Error::Unavailable("timeout".into()).into(), 503, "ServiceUnavailable"),
            (employees::Error::Internal("ResourceNotFound".into()).into(), 500, "InternalError"),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status_and_code(), (status, code), "{error:?}");
            assert!(error.client_message().ends_with('.'), "{error:?}");
        }
    }

    #[test]
    fn dependency_and_internal_failures_never_leak_their_detail() {
        let unavailable =
            ApiError::ServiceUnavailable("dispatch failure: connection refused 10.0.0.1".into());
        let message = unavailable.client_message();
        assert!(!message.contains("10.0.0.1") && !message.contains("dispatch"), "{message}");
        let message =
            ApiError::Internal("ResourceNotFoundException: table x".into()).client_message();
        assert!(!message.contains("ResourceNotFound"), "{message}");
    }

    #[test]
    fn client_messages_are_sentences() {
        let message = ApiError::EmployeeDoesNotExist("42".into()).client_message();
        assert_eq!(message, "Employee \"42\" does not exist.");
    }
}
