//! What a real invocation leaves for operators, read from the functions'
//! output under `cargo lambda watch` with JSON logging (as the template's
//! `LoggingConfig` sets it): one JSON log line per request and one CloudWatch
//! Embedded Metric Format document.

use employee_api_tests::lambda_watch::{LocalApi, local_api};
use serde_json::{Value, json};

fn api() -> &'static LocalApi {
    local_api()
}

/// The JSON objects among the output lines that satisfy `matches`.
fn json_lines(log: &str, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
    log.lines()
        .filter_map(|line| line.find('{').and_then(|at| serde_json::from_str(&line[at..]).ok()))
        .filter(|value: &Value| matches(value))
        .collect()
}

fn field<'a>(line: &'a Value, name: &str) -> &'a Value {
    // tracing's JSON format nests event fields under "fields".
    if line["fields"].is_object() { &line["fields"][name] } else { &line[name] }
}

async fn wait_for<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    for _ in 0..50 {
        if let Some(found) = probe() {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("not found in the functions' output:\n{}", api().log_tail());
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn each_request_logs_one_json_line_with_its_id_route_status_latency_and_code() {
    let api = api();
    let http = employee_api_tests::http();
    let created = http
        .post(api.url("/employees"))
        .json(&json!({"employee": "obs-1", "jobTitle": "Secret Title 9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let missing = http.get(api.url("/employees/obs-missing")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    let request_line = |route: &'static str, status: u64| {
        move |line: &Value| {
            field(line, "message") == "request"
                && field(line, "route") == route
                && field(line, "status") == status
        }
    };
    let post =
        wait_for(|| json_lines(&api.log(), request_line("POST /employees", 201)).pop()).await;
    assert!(field(&post, "request_id").as_str().is_some_and(|id| id.len() >= 16), "{post}");
    assert!(field(&post, "latency_ms").as_f64().is_some_and(|ms| ms > 0.0), "{post}");
    assert_eq!(field(&post, "error_code"), "", "{post}");
    assert_eq!(field(&post, "dynamodb_calls"), 1, "{post}");
    assert_eq!(post["level"], "INFO", "{post}");

    let get =
        wait_for(|| json_lines(&api.log(), request_line("GET /employees/{employeeId}", 404)).pop())
            .await;
    assert_eq!(field(&get, "error_code"), "EmployeeDoesNotExist", "{get}");

    let log = api.log();
    assert!(!log.contains("Secret Title 9"), "a job title reached the output");
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn each_request_emits_embedded_metrics_by_route_and_status() {
    let api = api();
    let http = employee_api_tests::http();
    let created = http
        .post(api.url("/employees"))
        .json(&json!({"employee": "emf-1", "jobTitle": "Engineer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let removed = http.delete(api.url("/employees/emf-1")).send().await.unwrap();
    assert_eq!(removed.status(), 200);

    let is_emf = |doc: &Value| doc["_aws"]["CloudWatchMetrics"].is_array();
    let requests = wait_for(|| {
        json_lines(&api.log(), |doc| {
            is_emf(doc)
                && doc["Route"] == "DELETE /employees/{employeeId}"
                && doc["Status"] == "200"
        })
        .pop()
    })
    .await;
    let directive = &requests["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "EmployeeApi", "{requests}");
    assert_eq!(directive["Dimensions"], json!([["Function", "Route", "Status"]]), "{requests}");
    let names: Vec<&str> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["Name"].as_str())
        .collect();
    assert!(names.contains(&"Requests") && names.contains(&"Latency"), "{requests}");
    assert_eq!(requests["Function"], "remove-employee");
    assert_eq!(requests["Requests"], 1);
    assert!(requests["RequestId"].is_string());
    assert!(requests["_aws"]["Timestamp"].as_u64().is_some());

    let added = wait_for(|| {
        json_lines(&api.log(), |doc| is_emf(doc) && doc["EmployeesAdded"].is_number()).pop()
    })
    .await;
    assert_eq!(added["EmployeesAdded"], 1, "{added}");
    assert_eq!(added["Function"], "add-employee", "{added}");
    let removed = wait_for(|| {
        json_lines(&api.log(), |doc| is_emf(doc) && doc["EmployeesRemoved"].is_number()).pop()
    })
    .await;
    assert_eq!(removed["EmployeesRemoved"], 1, "{removed}");

    let dynamodb = wait_for(|| {
        json_lines(&api.log(), |doc| {
            is_emf(doc) && doc["DynamoDbLatency"].is_array() && doc["Route"] == "POST /employees"
        })
        .pop()
    })
    .await;
    let unit = dynamodb["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Name"] == "DynamoDbLatency")
        .map(|m| m["Unit"].clone());
    assert_eq!(unit, Some(json!("Milliseconds")), "{dynamodb}");
}
