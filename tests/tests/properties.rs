//! Properties of the request → response path, over generated requests: the
//! entry point never panics and never answers 5xx when the store is healthy,
//! and every answer is JSON with a status the API documents and, for
//! errors, a known stable code.

use employee_api::store::MemoryStore;
use employee_api::{Employee, EmployeeId, JobTitle};
use employee_api_tests::events::{Door, http_event};
use employee_api_tests::invoke::{FUNCTIONS, invoke};
use proptest::prelude::*;
use serde_json::{Value, json};

const CODES: &[&str] = &[
    "ValidationError",
    "EmployeeDoesNotExist",
    "RouteNotFound",
    "MethodNotAllowed",
    "EmployeeAlreadyExists",
    "PayloadTooLarge",
    "UnsupportedMediaType",
];

fn store() -> MemoryStore {
    MemoryStore::with([Employee::new(
        EmployeeId::parse("42").unwrap(),
        JobTitle::parse("Engineer").unwrap(),
    )])
}

fn method() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
}

/// Paths near the routes, and anything at all.
fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/employees".to_owned()),
        "[a-zA-Z0-9%._~ /-]{0,40}".prop_map(|id| format!("/employees/{id}")),
        any::<String>().prop_map(|s| format!("/employees/{s}")),
        any::<String>().prop_map(|s| format!("/{s}")),
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "(limit|jobTitle|cursor|x)=[a-zA-Z0-9%+=_-]{0,12}(&(limit|jobTitle|cursor)=[a-zA-Z0-9%_-]{0,8})?",
        any::<String>(),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some("application/json; charset=utf-8".to_owned())),
        Just(Some("text/plain".to_owned())),
        any::<String>().prop_map(Some),
    ]
}

/// JSON-ish bodies (valid objects with odd values, near misses) and raw bytes.
fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    let json_value = prop_oneof![
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!([])),
        Just(json!({})),
    ];
    prop_oneof![
        Just(None),
        (json_value.clone(), json_value, prop::option::of("[a-zA-Z]{1,8}")).prop_map(
            |(employee, title, extra)| {
                let mut object = json!({"employee": employee, "jobTitle": title});
                if let Some(extra) = extra {
                    object[extra] = json!(1);
                }
                Some(object.to_string().into_bytes())
            }
        ),
        ("[ -~]{1,30}", "[ -~]{1,30}").prop_map(|(e, t)| Some(
            json!({"employee": e, "jobTitle": t}).to_string().into_bytes()
        )),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Some),
        any::<String>().prop_map(|s| Some(s.into_bytes())),
    ]
}

fn event(
    method: &str,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: Option<&[u8]>,
    base64: bool,
    door: Door,
) -> Value {
    // A path the door cannot deliver as sent comes through a function URL.
    let door = if door.delivers(path) { door } else { Door::FunctionUrl };
    let mut event = http_event(method, path).query(query).request_id("proptest").door(door);
    if let Some(content_type) = content_type {
        event = event.content_type(content_type);
    }
    if let Some(body) = body {
        event = event.body(body);
    }
    if base64 {
        event = event.base64();
    }
    event.build()
}

async fn respond(function: usize, store: &MemoryStore, payload: Value) -> Value {
    invoke(FUNCTIONS[function], store, &payload)
        .await
        .expect("HTTP events never end in a function error")
}

fn check(response: &Value) -> Result<(), TestCaseError> {
    let status = response["statusCode"].as_u64().unwrap_or(0);
    prop_assert!(
        [200, 201, 400, 404, 405, 409, 413, 415].contains(&status),
        "status {status}: {response}"
    );
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap_or(""))
        .map_err(|e| TestCaseError::fail(format!("body is not JSON ({e}): {response}")))?;
    if status >= 400 {
        let code = body["error"].as_str().unwrap_or("");
        prop_assert!(CODES.contains(&code), "unknown code {code:?}: {body}");
        prop_assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn any_http_request_gets_a_documented_json_answer_and_never_a_5xx(
        function in 0usize..3,
        method in method(),
        path in path(),
        query in query(),
        content_type in content_type(),
        body in body(),
        base64 in any::<bool>(),
        door in prop::sample::select(Door::ALL.to_vec()),
    ) {
        let payload =
            event(method, &path, &query, content_type.as_deref(), body.as_deref(), base64, door);
        let response = runtime().block_on(respond(function, &store(), payload));
        check(&response)?;
    }

    #[test]
    fn any_direct_input_gets_an_output_or_a_known_error(
        function in 0usize..3,
        employee in prop_oneof![any::<String>().prop_map(Value::from), any::<i64>().prop_map(Value::from), Just(Value::Null)],
        title in prop_oneof![any::<String>().prop_map(Value::from), Just(Value::Null)],
        drop_title in any::<bool>(),
    ) {
        let mut input = json!({"employee": employee, "jobTitle": title});
        if drop_title {
            input.as_object_mut().unwrap().remove("jobTitle");
        }
        let store = store();
        let result = runtime().block_on(invoke(FUNCTIONS[function], &store, &input));
        match result {
            Ok(output) => {
                prop_assert!(output["employee"].is_string() && output["jobTitle"].is_string(), "{output}");
            }
            Err(diagnostic) => {
                prop_assert!(CODES.contains(&diagnostic.error_type.as_str()), "{diagnostic:?}");
            }
        }
    }
}
