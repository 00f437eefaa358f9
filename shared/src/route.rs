//! The API's routes, parsed once per request from the method and the path.
//!
//! Events reach the functions in several shapes: from API Gateway with
//! `pathParameters` (percent-decoded), from `cargo lambda watch` with
//! `pathParameters` that are not decoded, and from `sam local
//! generate-event` or function URLs with no `pathParameters` at all. The id is
//! therefore taken from `pathParameters` when present, else from the raw
//! path, and percent-decoded once either way.
//!
//! Parsing goes in the order a client can act on: an unknown path is 404
//! `RouteNotFound`, a method the path does not serve is 405 (with `Allow`),
//! and only then is the id checked (400).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::employee::EmployeeId;
use crate::error::ApiError;

const COLLECTION: &str = "/employees";

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

    /// The route a method and a path ask for, and the raw (still encoded)
    /// id segment for the routes that have one. `employee_id_parameter` is
    /// the event's `pathParameters.employeeId`, which wins over the path.
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
    /// Completes `key` with its id: percent-decoded once, then parsed.
    pub fn new(key: RouteKey, raw_id: Option<&str>) -> Result<Self, ApiError> {
        let id = || -> Result<EmployeeId, ApiError> {
            let raw = raw_id.unwrap_or_default();
            let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| {
                ApiError::Validation("employee id in the path is not valid UTF-8".to_owned())
            })?;
            Ok(EmployeeId::parse(Cow::into_owned(decoded))?)
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

/// The resource of a raw path, and its raw id segment. A stage name may
/// precede the route (`/prod/employees/42`).
fn resource_of(path: &str) -> Result<(Resource, Option<&str>), ApiError> {
    let Some(start) = path.find(COLLECTION) else {
        return Err(ApiError::RouteNotFound(truncate(path)));
    };
    let rest = &path[start + COLLECTION.len()..];
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

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> Result<Route, ApiError> {
        let (key, raw_id) = RouteKey::parse(method, None, path)?;
        Route::new(key, raw_id)
    }

    fn id(value: &str) -> EmployeeId {
        EmployeeId::parse(value).unwrap()
    }

    #[test]
    fn routes_from_raw_paths() {
        let cases = [
            ("GET", "/employees", Route::ListEmployees),
            ("POST", "/employees", Route::CreateEmployee),
            ("GET", "/employees/42", Route::GetEmployee(id("42"))),
            ("PUT", "/employees/42", Route::PutEmployee(id("42"))),
            ("DELETE", "/employees/42", Route::RemoveEmployee(id("42"))),
            ("GET", "/prod/employees/42", Route::GetEmployee(id("42"))),
            ("GET", "/employees/Zo%C3%AB%20A", Route::GetEmployee(id("Zoë A"))),
            ("GET", "/employees/Zoë A?", Route::GetEmployee(id("Zoë A?"))),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(method, path).unwrap(), expected, "{method} {path}");
        }
    }

    #[test]
    fn the_path_parameter_wins_over_the_path() {
        let (key, raw_id) = RouteKey::parse("GET", Some("a%20b"), "/$default").unwrap();
        assert_eq!(Route::new(key, raw_id).unwrap(), Route::GetEmployee(id("a b")));
    }

    #[test]
    fn unknown_paths_are_404_and_unserved_methods_405_before_the_id_is_checked() {
        for path in ["/", "/employee", "/employeesX", "/other/42", ""] {
            assert!(matches!(route("GET", path), Err(ApiError::RouteNotFound(_))), "{path}");
        }
        for (method, path, allow) in [
            ("PATCH", "/employees/42", "GET, PUT, DELETE"),
            ("POST", "/employees/%20", "GET, PUT, DELETE"),
            ("DELETE", "/employees", "GET, POST"),
            ("get", "/employees", "GET, POST"),
        ] {
            match route(method, path) {
                Err(ApiError::MethodNotAllowed { allow: a, .. }) => assert_eq!(a, allow),
                other => panic!("{method} {path}: {other:?}"),
            }
        }
        for path in ["/employees/", "/employees/a/b", "/employees/a%2Fb", "/employees/%FF"] {
            assert!(matches!(route("GET", path), Err(ApiError::Validation(_))), "{path}");
        }
    }

    #[test]
    fn route_names_are_api_gateway_route_keys() {
        for key in RouteKey::ALL {
            assert_eq!(key.name(), format!("{} {}", key.method(), key.resource().path()));
        }
    }

    #[test]
    fn long_paths_are_truncated_in_messages() {
        let path = format!("/x{}", "a".repeat(10_000));
        let Err(ApiError::RouteNotFound(echo)) = route("GET", &path) else {
            panic!("expected RouteNotFound")
        };
        assert!(echo.chars().count() <= 65);
    }
}
