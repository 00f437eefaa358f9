//! Routes parsed from methods and paths, and ids through each door.

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
    for path in ["/", "/employee", "/employeesX", "/other/42", "", "employees", "/x-employees"] {
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
