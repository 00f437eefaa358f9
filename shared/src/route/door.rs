//! The doors an HTTP event comes through, and the paths and ids each can
//! carry: what an id must be to be reachable over HTTP, and how the API
//! writes the paths it names (`Location`).

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::COLLECTION;
use crate::employee::EmployeeId;
use crate::error::ApiError;

/// Which door an HTTP event came through, told apart by what each door
/// writes into `requestContext` (see `events/doors/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// API Gateway HTTP API, `sam local start-api`, and every other event:
    /// the path arrives percent-decoded.
    ApiGateway,
    /// A Lambda function URL (`<url-id>.lambda-url.<region>.on.aws`): the
    /// raw path arrives percent-encoded.
    FunctionUrl,
    /// `cargo lambda watch`, which writes `domainName: localhost` and
    /// `http.userAgent: cargo-lambda` into every event it makes
    /// (cargo-lambda 1.9, `crates/cargo-lambda-watch/src/trigger_router.rs`):
    /// the path and its parameters arrive as the client sent them, encoded.
    CargoLambdaWatch,
}

impl Door {
    /// The door of an event with this `requestContext.domainName` and
    /// `requestContext.http.userAgent`.
    pub fn of(domain_name: Option<&str>, user_agent: Option<&str>) -> Self {
        match domain_name {
            Some(domain) if domain.contains(".lambda-url.") && domain.ends_with(".on.aws") => {
                Self::FunctionUrl
            }
            Some("localhost") if user_agent == Some("cargo-lambda") => Self::CargoLambdaWatch,
            _ => Self::ApiGateway,
        }
    }

    /// Whether the path (and its parameters) arrive still percent-encoded.
    pub fn delivers_encoded(self) -> bool {
        matches!(self, Self::FunctionUrl | Self::CargoLambdaWatch)
    }
}

/// An id the HTTP API can carry through every door, in the one path
/// segment of `/employees/{employeeId}`. The direct-invocation door takes
/// any id the table may hold (the original sample's took any string); over
/// HTTP, an id a door cannot deliver is refused with the reason, rather
/// than created and then unreachable.
pub fn http_id(id: EmployeeId) -> Result<EmployeeId, ApiError> {
    let refuse = |why: &str| Err(ApiError::Validation(format!("employee {why}")));
    let text = id.as_str();
    if text.contains('/') {
        return refuse(
            "must not contain '/' over HTTP: an id is one path segment of /employees/{employeeId}",
        );
    }
    if text.contains('?') {
        return refuse(
            "must not contain '?' over HTTP: API Gateway decodes %3F in a path and cuts the path there, so the employee could never be read back",
        );
    }
    if text == "." || text == ".." {
        return refuse(
            "must not be '.' or '..' over HTTP: URL normalisation removes such segments",
        );
    }
    Ok(id)
}

/// Characters escaped in a path segment: everything that is not unreserved
/// or a sub-delimiter in RFC 3986's `pchar`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A request's base (see [`base_of`]) as a client writes it: kept as it
/// came if the door delivers paths encoded, else encoded segment by segment.
pub fn encoded_base(base: &str, door: Door) -> String {
    if door.delivers_encoded() {
        return base.to_owned();
    }
    let mut encoded = String::with_capacity(base.len());
    for segment in base.split('/').skip(1) {
        encoded.push('/');
        encoded.extend(utf8_percent_encode(segment, SEGMENT));
    }
    encoded
}

/// The path of the employee `id` under `base` (from [`encoded_base`]),
/// encoded as a client sends it: `/employees/a%2541` for `a%41`.
pub fn employee_path(base: &str, id: &EmployeeId) -> String {
    let mut path = String::with_capacity(base.len() + COLLECTION.len() + id.as_str().len() + 8);
    path.push_str(base);
    path.push('/');
    path.push_str(COLLECTION);
    path.push('/');
    path.extend(utf8_percent_encode(id.as_str(), SEGMENT));
    path
}
