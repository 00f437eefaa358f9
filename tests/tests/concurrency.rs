//! Many invocations in one process, as on Lambda Managed Instances: each
//! function runs as one process started with `AWS_LAMBDA_MAX_CONCURRENCY=8`
//! against a Runtime API that hands out invocations concurrently, over
//! DynamoDB Local behind the fault proxy. Every answer must be the right one
//! for its request id, every log line and metrics document must belong to
//! its own invocation (request id, trace id, route, status, DynamoDB calls),
//! and the process must really have had 8 invocations in flight at once — a
//! runtime that polls one at a time fails here.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use employee_api_tests::dynamodb_local::{self, client, fresh_table, put_items};
use employee_api_tests::events::http_event;
use employee_api_tests::fault_proxy::{Fault, FaultProxy};
use employee_api_tests::lambda_process::{
    Expected, LambdaProcess, debug_binary, lambda_environment, misattributed,
};
use employee_api_tests::runtime_api::{Answer, RuntimeApi};
use serde_json::{Value, json};

const CONCURRENCY: usize = 8;

/// An invocation and what it must get: its HTTP status (or, for a direct
/// invocation, 200 or its error's status), and what its records must say.
struct Case {
    payload: Value,
    expected: Expected,
}

fn http(method: &str, target: &str, body: Option<Value>, status: u16, calls: u32) -> Case {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut event = http_event(method, path).query(query);
    if let Some(body) = body {
        event = event.json_body(body.to_string());
    }
    let route = match (method, path.trim_start_matches("/employees")) {
        ("GET", "") => "GET /employees",
        ("POST", "") => "POST /employees",
        ("GET", _) => "GET /employees/{employeeId}",
        ("PUT", _) => "PUT /employees/{employeeId}",
        _ => "DELETE /employees/{employeeId}",
    };
    Case { payload: event.build(), expected: Expected { route, status, dynamodb_calls: calls } }
}

fn direct(input: Value, status: u16, calls: u32) -> Case {
    Case { payload: input, expected: Expected { route: "invoke", status, dynamodb_calls: calls } }
}

/// The status an answer carries: an HTTP response's, or a direct
/// invocation's (200 for an output, the error's status for a function error).
fn status_of(answer: &Answer) -> u16 {
    match &answer.result {
        Ok(output) if output["statusCode"].is_u64() => {
            output["statusCode"].as_u64().unwrap() as u16
        }
        Ok(_) => 200,
        Err(error) => match error["errorType"].as_str() {
            Some("EmployeeDoesNotExist") => 404,
            Some("EmployeeAlreadyExists") => 409,
            Some("ValidationError") => 400,
            Some("ServiceUnavailable") => 503,
            _ => 500,
        },
    }
}

struct Stack {
    api: Arc<RuntimeApi>,
    proxy: FaultProxy,
    process: LambdaProcess,
    /// Every invocation answered so far, with what its records must say.
    answered: std::sync::Mutex<Vec<(Answer, Expected)>>,
}

async fn start(function: &str, table: &str) -> Stack {
    let api = Arc::new(RuntimeApi::start().await.expect("the Runtime API listens"));
    let proxy = FaultProxy::start(dynamodb_local::endpoint());
    let mut env = lambda_environment(function, &api.address);
    env.extend(
        [
            ("AWS_LAMBDA_MAX_CONCURRENCY", CONCURRENCY.to_string()),
            ("TABLE_NAME", table.to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let log =
        std::env::temp_dir().join(format!("concurrency-{function}-{}.log", std::process::id()));
    let process = LambdaProcess::start(&debug_binary(function), &env, &log);
    Stack { api, proxy, process, answered: std::sync::Mutex::new(Vec::new()) }
}

/// Sends every case at once and returns each answer with its expectation.
async fn invoke_all(api: &Arc<RuntimeApi>, cases: Vec<Case>) -> Vec<(Answer, Case)> {
    let tasks: Vec<_> = cases
        .into_iter()
        .map(|case| {
            let api = Arc::clone(api);
            tokio::spawn(async move { (api.invoke(&case.payload).await, case) })
        })
        .collect();
    let mut answered = Vec::new();
    for task in tasks {
        answered.push(task.await.expect("an invocation task"));
    }
    answered
}

/// Asserts the answers, the records and the peak concurrency of one phase.
fn check(stack: &Stack, answered: &[(Answer, Case)], check_body: impl Fn(&Answer, &Case) -> bool) {
    let wrong: Vec<String> = answered
        .iter()
        .filter(|(answer, case)| {
            status_of(answer) != case.expected.status || !check_body(answer, case)
        })
        .map(|(answer, case)| {
            format!("{}: expected {:?}, got {:?}", case.payload, case.expected, answer.result)
        })
        .collect();
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
    // Every record in the output so far must belong to an invocation
    // answered so far, this phase's or an earlier one's.
    let mut all = stack.answered.lock().unwrap();
    all.extend(answered.iter().map(|(a, c)| (a.clone(), c.expected.clone())));
    let (problems, _) = misattributed(&all, &stack.process.output());
    assert!(problems.is_empty(), "{} misattributed:\n{}", problems.len(), problems.join("\n"));
}

fn log_path(stack: &Stack) -> PathBuf {
    stack.process.log.clone()
}

/// Runs `cases` with every DynamoDB answer slowed down, so invocations
/// overlap, and asserts that the process had `CONCURRENCY` in flight.
async fn slow_phase(stack: &Stack, cases: Vec<Case>, check_body: impl Fn(&Answer, &Case) -> bool) {
    stack.proxy.set(Fault::Slow(Duration::from_millis(40)));
    stack.api.reset_peak();
    let answered = invoke_all(&stack.api, cases).await;
    stack.proxy.set(Fault::None);
    assert!(stack.api.init_errors().is_empty(), "init failed: {:?}", stack.api.init_errors());
    assert_eq!(
        stack.api.peak_in_flight(),
        CONCURRENCY,
        "the process never had {CONCURRENCY} invocations in flight at once (log: {})",
        log_path(stack).display()
    );
    check(stack, &answered, check_body);
}

/// Runs `cases` while DynamoDB throttles every request: each invocation
/// answers 503 after its own bounded retries, and the retries its line
/// reports add up to the attempts the proxy saw.
async fn throttled_phase(stack: &Stack, cases: Vec<Case>) {
    stack.proxy.set(Fault::Throttling);
    stack.proxy.take_request_count();
    let answered = invoke_all(&stack.api, cases).await;
    stack.proxy.set(Fault::None);
    check(stack, &answered, |_, _| true);
    let pairs: Vec<(Answer, Expected)> =
        answered.iter().map(|(a, c)| (a.clone(), c.expected.clone())).collect();
    // The attempts this phase's lines account for (the earlier phases'
    // records show up as not answered here, which `check` already cleared).
    let (_, attempts) = misattributed(&pairs, &stack.process.output());
    assert_eq!(attempts, stack.proxy.take_request_count() as u64, "DynamoDB attempts");
}

fn body(answer: &Answer) -> Value {
    match &answer.result {
        Ok(output) if output["body"].is_string() => {
            serde_json::from_str(output["body"].as_str().unwrap()).unwrap_or(Value::Null)
        }
        Ok(output) => output.clone(),
        Err(error) => error.clone(),
    }
}

fn employee(id: &str, title: &str) -> Value {
    json!({"employee": id, "jobTitle": title})
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_employee_serves_concurrent_invocations_each_recorded_as_its_own() {
    let db = client();
    let table = fresh_table(&db).await;
    let seeded: Vec<(String, String)> =
        (0..40).map(|i| (format!("g-{i}"), format!("Title {}", i % 4))).collect();
    let items: Vec<(&str, &str)> = seeded.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    put_items(&db, &table, &items).await;
    let stack = start("get-employee", &table).await;

    let mut cases = Vec::new();
    for round in 0..6 {
        for (id, _) in &seeded {
            match round % 3 {
                0 => cases.push(http("GET", &format!("/employees/{id}"), None, 200, 1)),
                1 => cases.push(direct(json!({"employee": id}), 200, 1)),
                _ => cases.push(http("GET", &format!("/employees/{id}-missing"), None, 404, 1)),
            }
        }
        cases.push(http("GET", "/employees?jobTitle=Title%202&limit=100", None, 200, 1));
        cases.push(http("GET", "/employees/%20padded", None, 400, 0));
        cases.push(direct(json!({"employee": 42}), 400, 0));
    }
    let titles: std::collections::HashMap<String, String> = seeded.into_iter().collect();
    slow_phase(&stack, cases, |answer, case| {
        let body = body(answer);
        match case.expected.status {
            200 if case.expected.route == "GET /employees" => {
                body["employees"].as_array().is_some_and(|e| e.len() == 10)
            }
            200 => {
                let id = body["employee"].as_str().unwrap_or_default();
                body["jobTitle"].as_str() == titles.get(id).map(String::as_str)
                    && (case.payload["employee"] == id
                        || case.payload["rawPath"] == format!("/employees/{id}"))
            }
            _ => true,
        }
    })
    .await;

    let throttled = (0..16)
        .map(|i| http("GET", &format!("/employees/g-{i}"), None, 503, 1))
        .chain((0..8).map(|i| direct(json!({"employee": format!("g-{i}")}), 503, 1)))
        .collect();
    throttled_phase(&stack, throttled).await;
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_employee_serves_concurrent_invocations_each_recorded_as_its_own() {
    let db = client();
    let table = fresh_table(&db).await;
    let existing: Vec<String> = (0..30).map(|i| format!("a-{i}")).collect();
    let items: Vec<(&str, &str)> = existing.iter().map(|id| (id.as_str(), "Old")).collect();
    put_items(&db, &table, &items).await;
    let stack = start("add-employee", &table).await;

    let mut cases = Vec::new();
    for i in 0..60 {
        let new = format!("n-{i}");
        cases.push(http("POST", "/employees", Some(employee(&new, "New")), 201, 1));
        cases.push(http(
            "PUT",
            &format!("/employees/p-{i}"),
            Some(json!({"jobTitle": "Put"})),
            201,
            1,
        ));
        cases.push(direct(employee(&format!("d-{i}"), "Direct"), 200, 1));
    }
    for id in &existing {
        cases.push(http("POST", "/employees", Some(employee(id, "Impostor")), 409, 1));
        cases.push(http(
            "PUT",
            &format!("/employees/{id}"),
            Some(json!({"jobTitle": "Replaced"})),
            200,
            1,
        ));
    }
    cases.push(http("POST", "/employees", Some(json!({"employee": "x"})), 400, 0));
    slow_phase(&stack, cases, |answer, case| {
        let body = body(answer);
        match case.expected.status {
            201 | 200 if case.expected.route != "invoke" => {
                let sent: Value =
                    serde_json::from_str(case.payload["body"].as_str().unwrap()).unwrap();
                body["jobTitle"] == sent["jobTitle"]
            }
            200 => body == case.payload,
            _ => true,
        }
    })
    .await;
    let stored = dynamodb_local::all_items(&db, &table).await;
    assert_eq!(stored.len(), 30 + 3 * 60, "every create landed once");

    let throttled = (0..20)
        .map(|i| http("POST", "/employees", Some(employee(&format!("t-{i}"), "T")), 503, 1))
        .collect();
    throttled_phase(&stack, throttled).await;
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_employee_serves_concurrent_invocations_each_recorded_as_its_own() {
    let db = client();
    let table = fresh_table(&db).await;
    let existing: Vec<(String, String)> =
        (0..120).map(|i| (format!("r-{i}"), format!("Role {i}"))).collect();
    let items: Vec<(&str, &str)> = existing.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    put_items(&db, &table, &items).await;
    let stack = start("remove-employee", &table).await;

    let mut cases = Vec::new();
    for (i, (id, _)) in existing.iter().enumerate() {
        if i % 2 == 0 {
            cases.push(http("DELETE", &format!("/employees/{id}"), None, 200, 1));
        } else {
            cases.push(direct(json!({"employee": id}), 200, 1));
        }
        cases.push(http("DELETE", &format!("/employees/{id}-missing"), None, 404, 1));
    }
    let titles: std::collections::HashMap<String, String> = existing.into_iter().collect();
    slow_phase(&stack, cases, |answer, case| {
        let body = body(answer);
        case.expected.status != 200
            || body["jobTitle"].as_str()
                == titles.get(body["employee"].as_str().unwrap_or_default()).map(String::as_str)
    })
    .await;
    assert!(dynamodb_local::all_items(&db, &table).await.is_empty(), "every employee removed once");

    let throttled =
        (0..20).map(|i| http("DELETE", &format!("/employees/gone-{i}"), None, 503, 1)).collect();
    throttled_phase(&stack, throttled).await;
}
