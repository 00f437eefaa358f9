//! The handlers, driven by the real API Gateway events in `events/` (the
//! files `sam local invoke -e` and `cargo lambda invoke --data-file` use),
//! against the in-memory store. The same behaviours run against DynamoDB
//! Local and over HTTP in the workspace's `tests/` crate.

use std::collections::HashMap;
use std::path::PathBuf;

use employee_api::routes::{add_employee, get_employee, remove_employee};
use employee_api::store::{Fault, MemoryStore};
use employee_api::{Employee, EmployeeId, JobTitle};
use lambda_http::http::header;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};

fn event(name: &str) -> Request {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not an API Gateway event: {e}", path.display()))
}

fn with_body(mut request: Request, body: &str) -> Request {
    *request.body_mut() = Body::from(body);
    request
}

fn employee(id: &str, title: &str) -> Employee {
    Employee::new(EmployeeId::parse(id).unwrap(), JobTitle::parse(title).unwrap())
}

fn seeded() -> MemoryStore {
    MemoryStore::with([
        employee("42", "Engineer"),
        employee("7", "Engineer"),
        employee("9", "Manager"),
    ])
}

fn body(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("response body is JSON")
}

fn assert_error(response: &Response<Body>, status: u16, code: &str) {
    assert_eq!(response.status().as_u16(), status, "body: {}", body(response));
    assert_eq!(body(response)["error"], code);
    assert!(body(response)["message"].is_string());
}

#[tokio::test]
async fn getting_an_employee_returns_the_state_machine_output() {
    let response = get_employee::handle(&seeded(), event("get-employee.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(body(&response), json!({"employee": "42", "jobTitle": "Engineer"}));
}

#[tokio::test]
async fn getting_a_missing_employee_returns_404_employee_does_not_exist() {
    let response = get_employee::handle(&seeded(), event("get-employee-missing.json")).await;
    assert_error(&response, 404, "EmployeeDoesNotExist");
}

#[tokio::test]
async fn events_without_path_parameters_take_the_id_from_the_raw_path() {
    let response = get_employee::handle(&seeded(), event("sam-generated-get-employee.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["employee"], "42");
}

#[tokio::test]
async fn listing_pages_through_every_employee_exactly_once() {
    let store = seeded();
    let first = get_employee::handle(&store, event("list-employees.json")).await;
    assert_eq!(first.status(), 200);
    let first = body(&first);
    assert_eq!(first["employees"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().expect("a cursor after a full page");

    let request = event("list-employees.json").with_query_string_parameters(HashMap::from([
        ("limit".to_owned(), "2".to_owned()),
        ("cursor".to_owned(), cursor.to_owned()),
    ]));
    let second = body(&get_employee::handle(&store, request).await);
    assert_eq!(second["nextCursor"], Value::Null);
    let mut ids: Vec<String> = first["employees"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["employees"].as_array().unwrap())
        .map(|e| e["employee"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["42", "7", "9"]);
}

#[tokio::test]
async fn listing_by_job_title_returns_only_that_title() {
    let response = get_employee::handle(&seeded(), event("list-employees-by-job-title.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response),
        json!({"employees": [
            {"employee": "42", "jobTitle": "Engineer"},
            {"employee": "7", "jobTitle": "Engineer"},
        ], "nextCursor": null})
    );
}

#[tokio::test]
async fn a_limit_outside_1_to_100_is_a_validation_error() {
    let response = get_employee::handle(&seeded(), event("list-employees-bad-limit.json")).await;
    assert_error(&response, 400, "ValidationError");
}

#[tokio::test]
async fn an_unknown_query_parameter_is_a_validation_error() {
    let request = event("list-employees.json").with_query_string_parameters(HashMap::from([(
        "jobtitle".to_owned(),
        "Engineer".to_owned(),
    )]));
    let response = get_employee::handle(&seeded(), request).await;
    assert_error(&response, 400, "ValidationError");
}

#[tokio::test]
async fn adding_an_employee_returns_201_with_its_location() {
    let store = seeded();
    let response = add_employee::handle(&store, event("add-employee.json")).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()[header::LOCATION], "/employees/43");
    assert_eq!(body(&response), json!({"employee": "43", "jobTitle": "Product Manager"}));
    assert!(store.snapshot().contains(&("43".into(), "Product Manager".into())));
}

#[tokio::test]
async fn adding_an_existing_employee_returns_409_and_keeps_the_original() {
    let store = seeded();
    let before = store.snapshot();
    let response = add_employee::handle(&store, event("add-employee-duplicate.json")).await;
    assert_error(&response, 409, "EmployeeAlreadyExists");
    assert_eq!(store.snapshot(), before);
}

#[tokio::test]
async fn a_body_with_an_unknown_field_is_refused_and_nothing_is_written() {
    let store = seeded();
    let before = store.snapshot();
    let response = add_employee::handle(&store, event("add-employee-bad-body.json")).await;
    assert_error(&response, 400, "ValidationError");
    assert!(body(&response)["message"].as_str().unwrap().contains("salary"));
    assert_eq!(store.snapshot(), before);
}

#[tokio::test]
async fn base64_bodies_are_decoded() {
    let store = seeded();
    let response = add_employee::handle(&store, event("add-employee-base64.json")).await;
    assert_eq!(response.status(), 201);
    assert_eq!(body(&response)["employee"], "45");
    // No Content-Type header at all, as `sam local generate-event` makes it.
    let response = add_employee::handle(&store, event("sam-generated-add-employee.json")).await;
    assert_eq!(response.status(), 201, "{}", body(&response));
    assert_eq!(body(&response), json!({"employee": "48", "jobTitle": "Engineer"}));
}

#[tokio::test]
async fn putting_creates_then_replaces() {
    let store = seeded();
    let created = add_employee::handle(&store, event("put-employee.json")).await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()[header::LOCATION], "/employees/46");
    let replaced = add_employee::handle(
        &store,
        with_body(event("put-employee.json"), r#"{"jobTitle":"Staff Engineer"}"#),
    )
    .await;
    assert_eq!(replaced.status(), 200);
    assert_eq!(body(&replaced), json!({"employee": "46", "jobTitle": "Staff Engineer"}));
    assert!(store.snapshot().contains(&("46".into(), "Staff Engineer".into())));
}

#[tokio::test]
async fn putting_through_a_sam_generated_event_uses_the_raw_path_and_base64_body() {
    let store = seeded();
    let response = add_employee::handle(&store, event("sam-generated-put-employee.json")).await;
    assert_eq!(response.status(), 201, "{}", body(&response));
    assert_eq!(body(&response), json!({"employee": "47", "jobTitle": "Engineer"}));
}

#[tokio::test]
async fn a_put_body_naming_another_employee_is_refused() {
    let store = seeded();
    let request = with_body(event("put-employee.json"), r#"{"employee":"99","jobTitle":"X"}"#);
    let response = add_employee::handle(&store, request).await;
    assert_error(&response, 400, "ValidationError");
    assert!(!store.snapshot().iter().any(|(id, _)| id == "46" || id == "99"));
}

#[tokio::test]
async fn removing_an_employee_returns_the_removed_record() {
    let store = seeded();
    let response = remove_employee::handle(&store, event("remove-employee.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response), json!({"employee": "42", "jobTitle": "Engineer"}));
    assert!(!store.snapshot().iter().any(|(id, _)| id == "42"));
}

#[tokio::test]
async fn removing_a_missing_employee_returns_404() {
    let response = remove_employee::handle(&seeded(), event("remove-employee-missing.json")).await;
    assert_error(&response, 404, "EmployeeDoesNotExist");
}

#[tokio::test]
async fn a_method_the_function_does_not_serve_is_405_with_allow() {
    // `DELETE` delivered to get-employee, e.g. through a `$default` route.
    let response = get_employee::handle(&seeded(), event("remove-employee.json")).await;
    assert_error(&response, 405, "MethodNotAllowed");
    assert_eq!(response.headers()[header::ALLOW], "GET, PUT, DELETE");
    let response = remove_employee::handle(&seeded(), event("list-employees.json")).await;
    assert_error(&response, 405, "MethodNotAllowed");
    assert_eq!(response.headers()[header::ALLOW], "GET, POST");
}

#[tokio::test]
async fn a_declared_non_json_body_is_415() {
    let mut request = event("add-employee.json");
    request
        .headers_mut()
        .insert(header::CONTENT_TYPE, "application/x-www-form-urlencoded".parse().unwrap());
    let store = seeded();
    let response = add_employee::handle(&store, request).await;
    assert_error(&response, 415, "UnsupportedMediaType");
    assert_eq!(store.snapshot().len(), 3);
}

#[tokio::test]
async fn a_body_over_16_kib_is_413() {
    let padding = "x".repeat(16 * 1024);
    let request = with_body(
        event("add-employee.json"),
        &format!(r#"{{"employee":"1","jobTitle":"{padding}"}}"#),
    );
    let response = add_employee::handle(&seeded(), request).await;
    assert_error(&response, 413, "PayloadTooLarge");
}

#[tokio::test]
async fn invalid_fields_are_validation_errors_and_nothing_is_written() {
    let long_id = "i".repeat(129);
    let long_title = "t".repeat(257);
    let bodies = [
        r#"{"employee":"","jobTitle":"Engineer"}"#.to_owned(),
        r#"{"employee":" 1","jobTitle":"Engineer"}"#.to_owned(),
        r#"{"employee":"1\u0007","jobTitle":"Engineer"}"#.to_owned(),
        r#"{"employee":"a/b","jobTitle":"Engineer"}"#.to_owned(),
        format!(r#"{{"employee":"{long_id}","jobTitle":"Engineer"}}"#),
        format!(r#"{{"employee":"1","jobTitle":"{long_title}"}}"#),
        r#"{"employee":"1","jobTitle":"Engineer "}"#.to_owned(),
        r#"{"employee":"1"}"#.to_owned(),
        r#"{"employee":1,"jobTitle":"Engineer"}"#.to_owned(),
        r#"["1","Engineer"]"#.to_owned(),
        r#"{"employee":"1","jobTitle":"Eng"#.to_owned(),
        String::new(),
    ];
    let store = seeded();
    for b in &bodies {
        let response = add_employee::handle(&store, with_body(event("add-employee.json"), b)).await;
        assert_eq!(response.status(), 400, "{b}");
        assert_error(&response, 400, "ValidationError");
    }
    assert_eq!(store.snapshot().len(), 3);
}

#[tokio::test]
async fn dependency_faults_are_503_with_retry_after_and_internal_faults_500() {
    let store = seeded();
    store.set_fault(Some(Fault::Unavailable));
    for response in [
        get_employee::handle(&store, event("get-employee.json")).await,
        get_employee::handle(&store, event("list-employees.json")).await,
        add_employee::handle(&store, event("add-employee.json")).await,
        add_employee::handle(&store, event("put-employee.json")).await,
        remove_employee::handle(&store, event("remove-employee.json")).await,
    ] {
        assert_error(&response, 503, "ServiceUnavailable");
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
    store.set_fault(Some(Fault::Internal));
    let response = get_employee::handle(&store, event("get-employee.json")).await;
    assert_error(&response, 500, "InternalError");
    assert!(!body(&response)["message"].as_str().unwrap().contains("injected"));
    store.set_fault(None);
    let response = get_employee::handle(&store, event("get-employee.json")).await;
    assert_eq!(response.status(), 200);
}

fn raw_event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn dispatch_to_add(store: &MemoryStore, payload: Value) -> Result<Value, String> {
    let event = lambda_http::LambdaEvent::new(payload, lambda_http::Context::default());
    employee_api::lambda::dispatch(
        event,
        &|request| add_employee::handle(store, request),
        &|input| add_employee::invoke(store, input),
    )
    .await
    .map_err(|d| d.error_type)
}

#[tokio::test]
async fn direct_invocations_keep_the_state_machines_contract() {
    let store = seeded();
    let output = get_employee::invoke(&store, raw_event("direct-get-employee.json")).await.unwrap();
    assert_eq!(output, json!({"employee": "42", "jobTitle": "Engineer"}));
    let err = get_employee::invoke(&store, raw_event("direct-get-employee-missing.json")).await;
    assert_eq!(err.unwrap_err().status_and_code().1, "EmployeeDoesNotExist");

    let output = add_employee::invoke(&store, raw_event("direct-add-employee.json")).await.unwrap();
    assert_eq!(output, json!({"employee": "49", "jobTitle": "Engineer"}));
    let err = add_employee::invoke(&store, raw_event("direct-add-employee-duplicate.json")).await;
    assert_eq!(err.unwrap_err().status_and_code().1, "EmployeeAlreadyExists");
    assert!(store.snapshot().contains(&("42".into(), "Engineer".into())));

    let output =
        remove_employee::invoke(&store, raw_event("direct-remove-employee.json")).await.unwrap();
    assert_eq!(output, json!({"employee": "49", "jobTitle": "Engineer"}));
    let err =
        remove_employee::invoke(&store, raw_event("direct-remove-employee-missing.json")).await;
    assert_eq!(err.unwrap_err().status_and_code().1, "EmployeeDoesNotExist");
}

#[tokio::test]
async fn direct_inputs_are_validated_and_extra_fields_ignored() {
    let store = seeded();
    for input in [json!({}), json!({"employee": 42}), json!({"employee": " 1"}), json!("42")] {
        let err = get_employee::invoke(&store, input.clone()).await.unwrap_err();
        assert_eq!(err.status_and_code().1, "ValidationError", "{input}");
    }
    let output = get_employee::invoke(&store, json!({"employee": "42", "step": 3})).await.unwrap();
    assert_eq!(output["employee"], "42");
}

#[tokio::test]
async fn the_entry_point_routes_http_events_and_direct_inputs() {
    let store = seeded();
    let response = dispatch_to_add(&store, raw_event("add-employee.json")).await.unwrap();
    assert_eq!(response["statusCode"], 201);
    assert_eq!(response["headers"]["location"], "/employees/43");
    assert_eq!(
        serde_json::from_str::<Value>(response["body"].as_str().unwrap()).unwrap(),
        json!({"employee": "43", "jobTitle": "Product Manager"})
    );
    assert_eq!(
        dispatch_to_add(&store, raw_event("direct-add-employee-duplicate.json")).await,
        Err("EmployeeAlreadyExists".to_owned())
    );
}

#[tokio::test]
async fn a_body_flagged_base64_that_is_not_base64_is_a_400_not_a_crash() {
    let store = seeded();
    let mut event = raw_event("add-employee-base64.json");
    event["body"] = json!("not base64 at all!");
    let response = dispatch_to_add(&store, event).await.unwrap();
    assert_eq!(response["statusCode"], 400);
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"], "ValidationError");
    assert_eq!(store.snapshot().len(), 3);
}

#[tokio::test]
async fn decoded_paths_from_api_gateway_reach_the_handler_intact() {
    // HTTP APIs hand over rawPath percent-decoded: spaces, `?` and non-ASCII
    // arrive as they are, which lambda_http alone cannot turn into a URI.
    let store = MemoryStore::with([employee("Zoë A?", "Engineer")]);
    let mut event = raw_event("sam-generated-get-employee.json");
    event["rawPath"] = json!("/employees/Zoë A?");
    event["headers"]["Host"] = json!("bad host");
    let event = lambda_http::LambdaEvent::new(event, lambda_http::Context::default());
    let response = employee_api::lambda::dispatch(
        event,
        &|request| get_employee::handle(&store, request),
        &|input| get_employee::invoke(&store, input),
    )
    .await
    .unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["employee"], "Zoë A?");
}
