//! What a call can end in besides its answer.

use std::fmt;
use std::time::Duration;

/// A call that did not get its answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API (or the gateway in front of it) answered with a refusal that a
    /// retry would not change: its stable code, HTTP status and sentence.
    #[error("{code}: {message}")]
    Api {
        status: u16,
        code: ErrorCode,
        message: String,
        /// `Retry-After`, where the answer carried one.
        retry_after: Option<Duration>,
    },
    /// Every attempt met a transient fault (503, 429, 502, 504, a cut or
    /// refused connection, a timeout) until the attempts or the call's
    /// deadline ran out; `last` is the last attempt's.
    #[error("the API is unavailable after {attempts} attempt(s) in {elapsed:.1?}: {last}")]
    Unavailable { attempts: u32, elapsed: Duration, last: Box<Error> },
    /// The request could not be sent or its answer read.
    #[error("cannot reach the API: {0}")]
    Transport(String),
    /// The TLS handshake failed (an untrusted or wrong certificate); not
    /// retried, as another attempt would fail the same way.
    #[error("cannot reach the API securely: {0}")]
    Tls(String),
    /// The answer is not one this API gives (a body that is not its JSON).
    #[error("unexpected answer (HTTP {status}): {detail}")]
    UnexpectedAnswer { status: u16, detail: String },
    /// `update` met a concurrent writer on every round.
    #[error(
        "employee {id:?} changed under every one of {rounds} update rounds; nothing was written in the last one"
    )]
    UpdateConflict { id: String, rounds: u32 },
    /// The client cannot be set up: no URL, no credentials, an unknown stack.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The API's error code, for an [`Error::Api`] (or the last attempt of an
    /// [`Error::Unavailable`]).
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(code),
            Error::Unavailable { last, .. } => last.code(),
            _ => None,
        }
    }

    /// Whether another attempt of the same request may succeed.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Error::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            Error::Transport(_) => true,
            _ => false,
        }
    }
}

/// The API's stable error codes (openapi.yaml, `Error.error`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    ValidationError,
    EmployeeDoesNotExist,
    RouteNotFound,
    MethodNotAllowed,
    EmployeeAlreadyExists,
    PreconditionFailed,
    IdempotencyKeyReused,
    PreconditionRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    ServiceUnavailable,
    EmployeeUnreadable,
    InternalError,
    /// An answer without the API's error body: API Gateway's own
    /// (`{"message":"Forbidden"}` for a refused signature or token,
    /// `{"message":"Too Many Requests"}` when throttled), named by its status.
    Gateway(u16),
    /// A code this client does not know, kept as sent.
    Other(String),
}

impl ErrorCode {
    pub fn parse(code: &str) -> Self {
        match code {
            "ValidationError" => Self::ValidationError,
            "EmployeeDoesNotExist" => Self::EmployeeDoesNotExist,
            "RouteNotFound" => Self::RouteNotFound,
            "MethodNotAllowed" => Self::MethodNotAllowed,
            "EmployeeAlreadyExists" => Self::EmployeeAlreadyExists,
            "PreconditionFailed" => Self::PreconditionFailed,
            "IdempotencyKeyReused" => Self::IdempotencyKeyReused,
            "PreconditionRequired" => Self::PreconditionRequired,
            "PayloadTooLarge" => Self::PayloadTooLarge,
            "UnsupportedMediaType" => Self::UnsupportedMediaType,
            "ServiceUnavailable" => Self::ServiceUnavailable,
            "EmployeeUnreadable" => Self::EmployeeUnreadable,
            "InternalError" => Self::InternalError,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gateway(status) => write!(f, "HTTP {status}"),
            Self::Other(code) => f.write_str(code),
            known => write!(f, "{known:?}"),
        }
    }
}
