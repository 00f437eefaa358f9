//! The functions, driven by the real API Gateway events in `events/` (the
//! files `sam local invoke -e` and `cargo lambda invoke --data-file` use),
//! against the in-memory store. The same behaviours run against DynamoDB
//! Local and over HTTP in the workspace's `tests/` crate.

use std::path::PathBuf;

use employee_api::store::{Fault, MemoryStore};
use employee_api_tests::employee;
use employee_api_tests::invoke::{HttpAnswer, assert_error, invoke, request};
use serde_json::{Value, json};

/// An `events/` file, as `sam local invoke -e` and `cargo lambda invoke
/// --data-file` send it.
fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn with_body(mut event: Value, body: &str) -> Value {
    event["body"] = body.into();
    event["isBase64Encoded"] = false.into();
    event
}

fn with_query(mut event: Value, query: &str) -> Value {
    event["rawQueryString"] = query.into();
    event.as_object_mut().unwrap().remove("queryStringParameters");
    event
}

fn with_header(mut event: Value, name: &str, value: &str) -> Value {
    event["headers"][name] = value.into();
    event
}

async fn get(store: &MemoryStore, event: Value) -> HttpAnswer {
    request("get-employee", store, &event).await
}

async fn add(store: &MemoryStore, event: Value) -> HttpAnswer {
    request("add-employee", store, &event).await
}

async fn remove(store: &MemoryStore, event: Value) -> HttpAnswer {
    request("remove-employee", store, &event).await
}

fn seeded() -> MemoryStore {
    MemoryStore::with([
        employee("42", "Engineer"),
        employee("7", "Engineer"),
        employee("9", "Manager"),
    ])
}

fn body(response: &HttpAnswer) -> Value {
    let body = response.body();
    assert!(!body.is_null(), "response body is JSON: {:?}", response.0);
    body
}

#[tokio::test]
async fn getting_an_employee_returns_the_state_machine_output() {
    let response = get(&seeded(), event("get-employee.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), "application/json");
    assert_eq!(body(&response), json!({"employee": "42", "jobTitle": "Engineer"}));
}

#[tokio::test]
async fn getting_a_missing_employee_returns_404_employee_does_not_exist() {
    let response = get(&seeded(), event("get-employee-missing.json")).await;
    assert_error(&response, 404, "EmployeeDoesNotExist");
}

#[tokio::test]
async fn events_without_path_parameters_take_the_id_from_the_raw_path() {
    let response = get(&seeded(), event("sam-generated-get-employee.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["employee"], "42");
}

#[tokio::test]
async fn listing_pages_through_every_employee_exactly_once() {
    let store = seeded();
    let first = get(&store, event("list-employees.json")).await;
    assert_eq!(first.status(), 200);
    let first = body(&first);
    assert_eq!(first["employees"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().expect("a cursor after a full page");

    let request = with_query(event("list-employees.json"), &format!("limit=2&cursor={cursor}"));
    let second = body(&get(&store, request).await);
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
    let response = get(&seeded(), event("list-employees-by-job-title.json")).await;
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
    let response = get(&seeded(), event("list-employees-bad-limit.json")).await;
    assert_error(&response, 400, "ValidationError");
}

#[tokio::test]
async fn an_unknown_query_parameter_is_a_validation_error() {
    let request = with_query(event("list-employees.json"), "jobtitle=Engineer");
    let response = get(&seeded(), request).await;
    assert_error(&response, 400, "ValidationError");
}

#[tokio::test]
async fn adding_an_employee_returns_201_with_its_location() {
    let store = seeded();
    let response = add(&store, event("add-employee.json")).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.header("location"), "/employees/43");
    assert_eq!(body(&response), json!({"employee": "43", "jobTitle": "Product Manager"}));
    assert!(store.snapshot().contains(&("43".into(), "Product Manager".into())));
}

#[tokio::test]
async fn adding_an_existing_employee_returns_409_and_keeps_the_original() {
    let store = seeded();
    let before = store.snapshot();
    let response = add(&store, event("add-employee-duplicate.json")).await;
    assert_error(&response, 409, "EmployeeAlreadyExists");
    assert_eq!(store.snapshot(), before);
}

#[tokio::test]
async fn a_body_with_an_unknown_field_is_refused_and_nothing_is_written() {
    let store = seeded();
    let before = store.snapshot();
    let response = add(&store, event("add-employee-bad-body.json")).await;
    assert_error(&response, 400, "ValidationError");
    assert!(body(&response)["message"].as_str().unwrap().contains("salary"));
    assert_eq!(store.snapshot(), before);
}

#[tokio::test]
async fn base64_bodies_are_decoded() {
    let store = seeded();
    let response = add(&store, event("add-employee-base64.json")).await;
    assert_eq!(response.status(), 201);
    assert_eq!(body(&response)["employee"], "45");
    // No Content-Type header at all, as `sam local generate-event` makes it.
    let response = add(&store, event("sam-generated-add-employee.json")).await;
    assert_eq!(response.status(), 201, "{}", body(&response));
    assert_eq!(body(&response), json!({"employee": "48", "jobTitle": "Engineer"}));
}

#[tokio::test]
async fn putting_creates_then_replaces() {
    let store = seeded();
    let created = add(&store, event("put-employee.json")).await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.header("location"), "/employees/46");
    let replaced =
        add(&store, with_body(event("put-employee.json"), r#"{"jobTitle":"Staff Engineer"}"#))
            .await;
    assert_eq!(replaced.status(), 200);
    assert_eq!(body(&replaced), json!({"employee": "46", "jobTitle": "Staff Engineer"}));
    assert!(store.snapshot().contains(&("46".into(), "Staff Engineer".into())));
}

#[tokio::test]
async fn putting_through_a_sam_generated_event_uses_the_raw_path_and_base64_body() {
    let store = seeded();
    let response = add(&store, event("sam-generated-put-employee.json")).await;
    assert_eq!(response.status(), 201, "{}", body(&response));
    assert_eq!(body(&response), json!({"employee": "47", "jobTitle": "Engineer"}));
}

#[tokio::test]
async fn a_put_body_naming_another_employee_is_refused() {
    let store = seeded();
    let request = with_body(event("put-employee.json"), r#"{"employee":"99","jobTitle":"X"}"#);
    let response = add(&store, request).await;
    assert_error(&response, 400, "ValidationError");
    assert!(!store.snapshot().iter().any(|(id, _)| id == "46" || id == "99"));
}

#[tokio::test]
async fn removing_an_employee_returns_the_removed_record() {
    let store = seeded();
    let response = remove(&store, event("remove-employee.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response), json!({"employee": "42", "jobTitle": "Engineer"}));
    assert!(!store.snapshot().iter().any(|(id, _)| id == "42"));
}

#[tokio::test]
async fn removing_a_missing_employee_returns_404() {
    let response = remove(&seeded(), event("remove-employee-missing.json")).await;
    assert_error(&response, 404, "EmployeeDoesNotExist");
}

#[tokio::test]
async fn a_method_the_function_does_not_serve_is_405_with_allow() {
    // `DELETE` delivered to get-employee, e.g. through a `$default` route.
    let response = get(&seeded(), event("remove-employee.json")).await;
    assert_error(&response, 405, "MethodNotAllowed");
    assert_eq!(response.header("allow"), "GET, PUT, DELETE");
    let response = remove(&seeded(), event("list-employees.json")).await;
    assert_error(&response, 405, "MethodNotAllowed");
    assert_eq!(response.header("allow"), "GET, POST");
}

#[tokio::test]
async fn a_declared_non_json_body_is_415() {
    let request = with_header(
        event("add-employee.json"),
        "content-type",
        "application/x-www-form-urlencoded",
    );
    let store = seeded();
    let response = add(&store, request).await;
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
    let response = add(&seeded(), request).await;
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
        let response = add(&store, with_body(event("add-employee.json"), b)).await;
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
        get(&store, event("get-employee.json")).await,
        get(&store, event("list-employees.json")).await,
        add(&store, event("add-employee.json")).await,
        add(&store, event("put-employee.json")).await,
        remove(&store, event("remove-employee.json")).await,
    ] {
        assert_error(&response, 503, "ServiceUnavailable");
        assert_eq!(response.header("retry-after"), "1");
    }
    store.set_fault(Some(Fault::Internal));
    let response = get(&store, event("get-employee.json")).await;
    assert_error(&response, 500, "InternalError");
    assert!(!body(&response)["message"].as_str().unwrap().contains("injected"));
    store.set_fault(None);
    let response = get(&store, event("get-employee.json")).await;
    assert_eq!(response.status(), 200);
}

fn raw_event(name: &str) -> Value {
    event(name)
}

/// Invokes `function` with `payload`: its output, or its function error's
/// `errorType`.
async fn call(function: &str, store: &MemoryStore, input: Value) -> Result<Value, String> {
    invoke(function, store, &input).await.map_err(|d| d.error_type)
}

async fn dispatch_to_add(store: &MemoryStore, payload: Value) -> Result<Value, String> {
    call("add-employee", store, payload).await
}

#[tokio::test]
async fn direct_invocations_keep_the_state_machines_contract() {
    let store = seeded();
    let output = call("get-employee", &store, raw_event("direct-get-employee.json")).await.unwrap();
    assert_eq!(output, json!({"employee": "42", "jobTitle": "Engineer"}));
    let err = call("get-employee", &store, raw_event("direct-get-employee-missing.json")).await;
    assert_eq!(err.unwrap_err(), "EmployeeDoesNotExist");

    let output = call("add-employee", &store, raw_event("direct-add-employee.json")).await.unwrap();
    assert_eq!(output, json!({"employee": "49", "jobTitle": "Engineer"}));
    let err = call("add-employee", &store, raw_event("direct-add-employee-duplicate.json")).await;
    assert_eq!(err.unwrap_err(), "EmployeeAlreadyExists");
    assert!(store.snapshot().contains(&("42".into(), "Engineer".into())));

    let output =
        call("remove-employee", &store, raw_event("direct-remove-employee.json")).await.unwrap();
    assert_eq!(output, json!({"employee": "49", "jobTitle": "Engineer"}));
    let err =
        call("remove-employee", &store, raw_event("direct-remove-employee-missing.json")).await;
    assert_eq!(err.unwrap_err(), "EmployeeDoesNotExist");
}

#[tokio::test]
async fn direct_inputs_are_validated_and_extra_fields_ignored() {
    let store = seeded();
    for input in [json!({}), json!({"employee": 42}), json!({"employee": " 1"}), json!("42")] {
        let err = call("get-employee", &store, input.clone()).await.unwrap_err();
        assert_eq!(err, "ValidationError", "{input}");
    }
    let output = call("get-employee", &store, json!({"employee": "42", "step": 3})).await.unwrap();
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
async fn decoded_paths_from_api_gateway_reach_the_handler_intact_and_are_not_decoded_again() {
    // HTTP APIs hand over rawPath percent-decoded: spaces, `%`, `#` and
    // non-ASCII arrive as they are (events/doors/README.md). Decoding again
    // would read `%41` as `A`: the decoy.
    let store =
        MemoryStore::with([employee("Zoë a%41#1", "Engineer"), employee("Zoë aA#1", "Decoy")]);
    let mut event = raw_event("sam-generated-get-employee.json");
    event["rawPath"] = json!("/employees/Zoë a%41#1");
    event["headers"]["Host"] = json!("bad host");
    let response = call("get-employee", &store, event).await.unwrap();
    assert_eq!(response["statusCode"], 200, "{response}");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"employee": "Zoë a%41#1", "jobTitle": "Engineer"}));
}
