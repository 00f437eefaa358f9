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

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use crate::employee::EmployeeId;
use crate::error::ApiError;

/// The collection's path segment.
const COLLECTION: &str = "employees";

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

    fn route_through(door: Door, method: &str, path: &str) -> Result<Route, ApiError> {
        let (key, raw_id) = RouteKey::parse(method, None, path)?;
        Route::new(key, raw_id, door)
    }

    /// A path as a function URL or `cargo lambda watch` delivers it: encoded.
    fn route(method: &str, path: &str) -> Result<Route, ApiError> {
        route_through(Door::FunctionUrl, method, path)
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
            ("GET", "/employees/a%2541", Route::GetEmployee(id("a%41"))),
            ("GET", "/employees/a+b", Route::GetEmployee(id("a+b"))),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(method, path).unwrap(), expected, "{method} {path}");
        }
    }

    #[test]
    fn a_decoding_door_delivers_ids_as_they_are_and_they_are_never_decoded_again() {
        let cases = [
            ("/employees/a%41", "a%41"),
            ("/employees/100%", "100%"),
            ("/employees/x%2541", "x%2541"),
            ("/employees/Zoë A#1", "Zoë A#1"),
            ("/employees/a+b", "a+b"),
        ];
        for (path, expected) in cases {
            let routed = route_through(Door::ApiGateway, "GET", path).unwrap();
            assert_eq!(routed, Route::GetEmployee(id(expected)), "{path}");
        }
        // The encoded doors decode exactly once.
        for door in [Door::FunctionUrl, Door::CargoLambdaWatch] {
            let routed = route_through(door, "GET", "/employees/x%252541").unwrap();
            assert_eq!(routed, Route::GetEmployee(id("x%2541")), "{door:?}");
        }
    }

    #[test]
    fn the_path_parameter_wins_over_the_path() {
        let (key, raw_id) = RouteKey::parse("GET", Some("a%20b"), "/$default").unwrap();
        let watch = Route::new(key, raw_id, Door::CargoLambdaWatch).unwrap();
        assert_eq!(watch, Route::GetEmployee(id("a b")));
        let api_gateway = Route::new(key, raw_id, Door::ApiGateway).unwrap();
        assert_eq!(api_gateway, Route::GetEmployee(id("a%20b")));
    }

    #[test]
    fn doors_are_told_apart_by_what_they_write_into_the_request_context() {
        let url = "2cxn22odiwguak4feg4jtt7cwm0ziblr.lambda-url.us-west-2.on.aws";
        assert_eq!(Door::of(Some(url), Some("curl/8.7.1")), Door::FunctionUrl);
        assert_eq!(Door::of(Some("localhost"), Some("cargo-lambda")), Door::CargoLambdaWatch);
        let api = "sjzepsqsu5.execute-api.us-west-2.amazonaws.com";
        assert_eq!(Door::of(Some(api), Some("curl/8.7.1")), Door::ApiGateway);
        // `sam local start-api` also says localhost, with an agent of its own.
        let sam = Some("Custom User Agent String");
        assert_eq!(Door::of(Some("localhost"), sam), Door::ApiGateway);
        assert_eq!(Door::of(Some("api.example.com"), Some("cargo-lambda")), Door::ApiGateway);
        assert_eq!(Door::of(None, None), Door::ApiGateway);
    }

    #[test]
    fn unknown_paths_are_404_and_unserved_methods_405_before_the_id_is_checked() {
        for path in ["/", "/employee", "/employeesX", "/other/42", "", "employees", "/x-employees"]
        {
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
    fn ids_a_door_cannot_carry_are_refused_over_http_and_say_why() {
        for (value, why) in [("a/b", "'/'"), ("/", "'/'"), ("a?b", "API Gateway"), (".", "'.'")] {
            let Err(ApiError::Validation(message)) = http_id(id(value)) else { panic!("{value}") };
            assert!(message.contains(why), "{value}: {message}");
        }
        assert!(http_id(id("..a")).is_ok());
        // The encoded doors could deliver a `?`; the id is refused all the same.
        assert!(route("GET", "/employees/a%3Fb").is_err());
    }

    #[test]
    fn the_path_before_the_collection_is_its_base() {
        assert_eq!(base_of("/employees"), Some(""));
        assert_eq!(base_of("/employees/42"), Some(""));
        assert_eq!(base_of("/prod/employees/42"), Some("/prod"));
        assert_eq!(base_of("/v1/hr/employees"), Some("/v1/hr"));
        assert_eq!(base_of("/employees/employees"), Some(""));
        assert_eq!(base_of("/employeesX"), None);
    }

    #[test]
    fn an_employee_path_leads_back_to_the_employee_through_its_door() {
        let path = |base, door, value| employee_path(&encoded_base(base, door), &id(value));
        assert_eq!(path("", Door::ApiGateway, "42"), "/employees/42");
        assert_eq!(path("", Door::ApiGateway, "Zoë A"), "/employees/Zo%C3%AB%20A");
        assert_eq!(path("", Door::ApiGateway, "a#c%d"), "/employees/a%23c%25d");
        assert_eq!(path("/my stage", Door::ApiGateway, "a%41"), "/my%20stage/employees/a%2541");
        assert_eq!(path("/my%20stage", Door::FunctionUrl, "1"), "/my%20stage/employees/1");
        // What a client sends back arrives as the same id through every door.
        for value in ["a%41", "100%", "x%2541", "a+b", "ü ñ", "Zoë A#1"] {
            let encoded = path("", Door::ApiGateway, value);
            let decoded = percent_decode_str(&encoded).decode_utf8().unwrap();
            for (door, delivered) in
                [(Door::ApiGateway, decoded.as_ref()), (Door::FunctionUrl, encoded.as_str())]
            {
                let routed = route_through(door, "GET", delivered).unwrap();
                assert_eq!(routed, Route::GetEmployee(id(value)), "{value} through {door:?}");
            }
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
