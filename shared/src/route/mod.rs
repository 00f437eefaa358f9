//! The API's routes, parsed once per request from the method and the path,
//! and the employee id read from it the way its door delivers it.
//!
//! Each door hands over the path in its own form (the fixtures in
//! `events/doors/` show each, with their sources):
//! - API Gateway HTTP APIs deliver `rawPath` and `pathParameters` already
//!   percent-decoded, and cut the path at a decoded `?` before invoking the
//!   function (live captures: hotsock/voker `vokerhttp/testdata`,
//!   middleapi/standard-server PR #93). `sam local start-api` decodes the
//!   same way (Flask's `request.path` and `view_args`), and so do the events
//!   of `sam local generate-event` and `events/`.
//! - Lambda function URLs deliver `rawPath` still percent-encoded (only
//!   `requestContext.http.path` is decoded) and no `pathParameters`.
//! - `cargo lambda watch` passes the path, and its router's
//!   `pathParameters`, exactly as the client sent them: encoded.
//!
//! So the id is taken from `pathParameters` when present, else from the raw
//! path, and percent-decoded once only when the door delivers it encoded:
//! decoding what API Gateway already decoded would turn `a%41` into `aA`,
//! another employee.
//!
//! Parsing goes in the order a client can act on: an unknown path is 404
//! `RouteNotFound`, a method the path does not serve is 405 (with `Allow`),
//! and only then is the id checked (400).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::employee::EmployeeId;
use crate::error::ApiError;

mod door;
#[cfg(test)]
mod tests;

pub use door::{Door, employee_path, encoded_base, http_id};

/// The collection's path segment.
const COLLECTION: &str = "employees";

/// The API's two resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `/employees`
    Collection,
    /// `/employees/{employeeId}`
    Employee,
}

impl Resource {
    /// The path template, as API Gateway, `template.yaml` and `openapi.yaml`
    /// write it.
    pub fn path(self) -> &'static str {
        match self {
            Self::Collection => "/employees",
            Self::Employee => "/employees/{employeeId}",
        }
    }

    /// The methods the API serves on this resource, for 405's `Allow` header.
    pub fn allow(self) -> &'static str {
        match self {
            Self::Collection => "GET, POST",
            Self::Employee => "GET, PUT, DELETE",
        }
    }
}

/// An operation of the API without its id: the name logs and metrics carry
/// (a fixed set, so ids never become metric dimensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKey {
    GetEmployee,
    ListEmployees,
    CreateEmployee,
    PutEmployee,
    RemoveEmployee,
}

impl RouteKey {
    /// Every route of the API (the table `template.yaml`, `openapi.yaml` and
    /// the `cargo lambda watch` router must agree with).
    pub const ALL: [Self; 5] = [
        Self::GetEmployee,
        Self::ListEmployees,
        Self::CreateEmployee,
        Self::PutEmployee,
        Self::RemoveEmployee,
    ];

    pub fn method(self) -> &'static str {
        match self {
            Self::GetEmployee | Self::ListEmployees => "GET",
            Self::CreateEmployee => "POST",
            Self::PutEmployee => "PUT",
            Self::RemoveEmployee => "DELETE",
        }
    }

    pub fn resource(self) -> Resource {
        match self {
            Self::ListEmployees | Self::CreateEmployee => Resource::Collection,
            Self::GetEmployee | Self::PutEmployee | Self::RemoveEmployee => Resource::Employee,
        }
    }

    /// API Gateway's route key: `GET /employees/{employeeId}`.
    pub fn name(self) -> &'static str {
        match self {
            Self::GetEmployee => "GET /employees/{employeeId}",
            Self::ListEmployees => "GET /employees",
            Self::CreateEmployee => "POST /employees",
            Self::PutEmployee => "PUT /employees/{employeeId}",
            Self::RemoveEmployee => "DELETE /employees/{employeeId}",
        }
    }

    /// The route a method and a path ask for, and the raw id for the
    /// routes that have one (as the door delivered it: maybe still
    /// encoded). `employee_id_parameter` is the event's
    /// `pathParameters.employeeId`, which wins over the path.
    pub fn parse<'a>(
        method: &str,
        employee_id_parameter: Option<&'a str>,
        raw_path: &'a str,
    ) -> Result<(Self, Option<&'a str>), ApiError> {
        let (resource, raw_id) = match employee_id_parameter {
            Some(raw_id) => (Resource::Employee, Some(raw_id)),
            None => resource_of(raw_path)?,
        };
        let key = Self::ALL
            .into_iter()
            .find(|key| key.resource() == resource && key.method() == method)
            .ok_or_else(|| ApiError::MethodNotAllowed {
                method: truncate(method),
                path: resource.path().to_owned(),
                allow: resource.allow(),
            })?;
        Ok((key, raw_id))
    }
}

/// A request's route, its id decoded and valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    GetEmployee(EmployeeId),
    ListEmployees,
    CreateEmployee,
    PutEmployee(EmployeeId),
    RemoveEmployee(EmployeeId),
}

impl Route {
    /// Completes `key` with its id: percent-decoded once if `door`
    /// delivers it encoded, then parsed, and refused if the HTTP API cannot
    /// carry it ([`http_id`]).
    pub fn new(key: RouteKey, raw_id: Option<&str>, door: Door) -> Result<Self, ApiError> {
        let id = || -> Result<EmployeeId, ApiError> {
            let raw = raw_id.unwrap_or_default();
            let id = if door.delivers_encoded() {
                percent_decode_str(raw).decode_utf8().map_err(|_| {
                    ApiError::Validation("employee id in the path is not valid UTF-8".to_owned())
                })?
            } else {
                Cow::Borrowed(raw)
            };
            http_id(EmployeeId::parse(Cow::into_owned(id))?)
        };
        Ok(match key {
            RouteKey::GetEmployee => Self::GetEmployee(id()?),
            RouteKey::ListEmployees => Self::ListEmployees,
            RouteKey::CreateEmployee => Self::CreateEmployee,
            RouteKey::PutEmployee => Self::PutEmployee(id()?),
            RouteKey::RemoveEmployee => Self::RemoveEmployee(id()?),
        })
    }

    pub fn key(&self) -> RouteKey {
        match self {
            Self::GetEmployee(_) => RouteKey::GetEmployee,
            Self::ListEmployees => RouteKey::ListEmployees,
            Self::CreateEmployee => RouteKey::CreateEmployee,
            Self::PutEmployee(_) => RouteKey::PutEmployee,
            Self::RemoveEmployee(_) => RouteKey::RemoveEmployee,
        }
    }

    /// The answer of a function that does not serve this route (it reached
    /// the function through a catch-all route or a function URL): 405 with
    /// the methods the API serves on the path.
    pub fn not_served(&self) -> ApiError {
        let key = self.key();
        let resource = key.resource();
        ApiError::MethodNotAllowed {
            method: key.method().to_owned(),
            path: resource.path().to_owned(),
            allow: resource.allow(),
        }
    }
}

/// Where the collection starts in a raw path: after the segments that
/// precede it (a stage, `/prod`, or an API mapping's path), which stay in
/// every `Location` the API writes. `None` when the path has no
/// `employees` segment.
pub fn base_of(raw_path: &str) -> Option<&str> {
    let mut at = 0;
    for segment in raw_path.split('/') {
        if segment == COLLECTION && at > 0 {
            return Some(&raw_path[..at - 1]);
        }
        at += segment.len() + 1;
    }
    None
}

/// The resource of a raw path, and its raw id (everything after
/// `/employees/`, which may hold a `/` a decoding door turned `%2F` into).
fn resource_of(path: &str) -> Result<(Resource, Option<&str>), ApiError> {
    let Some(base) = base_of(path) else {
        return Err(ApiError::RouteNotFound(truncate(path)));
    };
    let rest = &path[base.len() + 1 + COLLECTION.len()..];
    if rest.is_empty() {
        Ok((Resource::Collection, None))
    } else if let Some(id) = rest.strip_prefix('/') {
        Ok((Resource::Employee, Some(id)))
    } else {
        Err(ApiError::RouteNotFound(truncate(path)))
    }
}

/// What a client sent, echoed in an error message, cut short: a client may
/// send kilobytes.
fn truncate(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
