//! Reading what a request asks for: which resource, which body, which query.
//!
//! Events reach the functions in several shapes: from API Gateway with
//! `pathParameters` (percent-decoded), from `cargo lambda watch` with
//! `pathParameters` that are not decoded, and from `sam local
//! generate-event` or function URLs with no `pathParameters` at all. The id is
//! therefore taken from `pathParameters` when present, else from the raw
//! path, and percent-decoded once either way.

use std::borrow::Cow;

use lambda_http::http::header;
use lambda_http::{Body, Request, RequestExt};
use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;

use super::ApiError;

/// Bodies above this size are refused with 413 (an employee is < 500 bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

const COLLECTION: &str = "/employees";

/// The resource a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `/employees`
    Collection,
    /// `/employees/{employeeId}`, with the id percent-decoded but not yet validated.
    Employee(String),
}

impl Resource {
    pub fn of(request: &Request) -> Result<Self, ApiError> {
        if let Some(raw) = request.path_parameters_ref().and_then(|p| p.first("employeeId")) {
            return decode_segment(raw).map(Self::Employee);
        }
        let raw_path = request.raw_http_path();
        let path = if raw_path.is_empty() { request.uri().path() } else { raw_path };
        Self::from_path(path)
    }

    fn from_path(path: &str) -> Result<Self, ApiError> {
        // A stage name may precede the route (`/prod/employees/42`).
        let Some(start) = path.find(COLLECTION) else {
            return Err(ApiError::RouteNotFound(truncate(path)));
        };
        let rest = &path[start + COLLECTION.len()..];
        if rest.is_empty() {
            Ok(Self::Collection)
        } else if let Some(id) = rest.strip_prefix('/') {
            decode_segment(id).map(Self::Employee)
        } else {
            Err(ApiError::RouteNotFound(truncate(path)))
        }
    }

    /// The methods the API serves on this resource, for 405's `Allow` header.
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            Self::Collection => "GET, POST",
            Self::Employee(_) => "GET, PUT, DELETE",
        }
    }

    pub fn method_not_allowed(&self, request: &Request) -> ApiError {
        ApiError::MethodNotAllowed {
            method: request.method().to_string(),
            path: match self {
                Self::Collection => COLLECTION.to_owned(),
                Self::Employee(_) => format!("{COLLECTION}/{{employeeId}}"),
            },
            allow: self.allowed_methods(),
        }
    }
}

fn decode_segment(raw: &str) -> Result<String, ApiError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| ApiError::Validation("employee id in the path is not valid UTF-8".to_owned()))
}

/// Paths echoed in error messages are cut short: a client may send kilobytes.
fn truncate(path: &str) -> String {
    const MAX: usize = 64;
    match path.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &path[..end]),
        None => path.to_owned(),
    }
}

/// Reads a JSON body into `T`, after checking its media type and size.
/// Unknown fields, wrong types and malformed JSON are 400s; `T` decides which
/// fields exist (`#[serde(deny_unknown_fields)]`).
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, ApiError> {
    require_json_media_type(request)?;
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    // serde would also read a struct from a JSON array; only objects are bodies.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::Validation("the request body must be a JSON object".to_owned()));
    }
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::Validation(format!("the request body is not valid: {err}")))
}

fn require_json_media_type(request: &Request) -> Result<(), ApiError> {
    let refuse = || {
        ApiError::UnsupportedMediaType("the request body must be sent as application/json".into())
    };
    // No Content-Type at all is read as JSON: `sam local generate-event` and
    // some clients send none. A declared non-JSON type is refused.
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let value = value.to_str().map_err(|_| refuse())?;
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json { Ok(()) } else { Err(refuse()) }
}

/// Query string parameters, refusing names the route does not know and
/// repeated names, so a typo (`jobtitle=`) is an error rather than a
/// silently unfiltered listing.
pub fn query_params<'r>(
    request: &'r Request,
    known: &[&str],
) -> Result<Vec<(&'r str, &'r str)>, ApiError> {
    let params = request.query_string_parameters_ref();
    let mut found = Vec::new();
    if let Some(params) = params {
        for (name, _) in params.iter() {
            if !known.contains(&name) {
                return Err(ApiError::Validation(format!(
                    "unknown query parameter {:?}; known: {}",
                    truncate(name),
                    known.join(", ")
                )));
            }
            let values = params.all(name).unwrap_or_default();
            if values.len() != 1 {
                return Err(ApiError::Validation(format!(
                    "query parameter {name:?} must be given once"
                )));
            }
            if !found.iter().any(|(n, _)| *n == name) {
                found.push((name, values[0]));
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_from_raw_paths() {
        let cases = [
            ("/employees", Resource::Collection),
            ("/employees/42", Resource::Employee("42".into())),
            ("/prod/employees/42", Resource::Employee("42".into())),
            ("/employees/Zo%C3%AB%20A", Resource::Employee("Zoë A".into())),
            ("/employees/a%2Fb", Resource::Employee("a/b".into())),
            ("/employees/a/b", Resource::Employee("a/b".into())),
            ("/employees/", Resource::Employee(String::new())),
        ];
        for (path, expected) in cases {
            assert_eq!(Resource::from_path(path).ok(), Some(expected), "{path}");
        }
        for path in ["/", "/employee", "/employeesX", "/other/42"] {
            assert!(matches!(Resource::from_path(path), Err(ApiError::RouteNotFound(_))), "{path}");
        }
        assert!(matches!(Resource::from_path("/employees/%FF"), Err(ApiError::Validation(_))));
    }

    #[test]
    fn long_paths_are_truncated_in_messages() {
        let path = format!("/x{}", "a".repeat(10_000));
        let Err(ApiError::RouteNotFound(echo)) = Resource::from_path(&path) else {
            panic!("expected RouteNotFound")
        };
        assert!(echo.chars().count() <= 65);
    }
}
