//! Every invocation answers before its deadline, whatever DynamoDB does:
//! each function runs as a process under a Runtime API that hands out
//! invocations with a deadline 2.5 s ahead, over DynamoDB Local behind a
//! proxy that delays every DynamoDB answer. The answer is a 503 with
//! `Retry-After` (direct: `ServiceUnavailable`) before the deadline, and a
//! keyed request retried once DynamoDB is back gets a correct answer: the
//! write done once, or its first answer replayed.

use std::time::Duration;

use employee_api_tests::dynamodb_local::{
    self, client, fresh_idempotency_table, fresh_table, put_items,
};
use employee_api_tests::events::http_event;
use employee_api_tests::fault_proxy::{Fault, FaultProxy};
use employee_api_tests::lambda_process::{LambdaProcess, debug_binary, lambda_environment};
use employee_api_tests::runtime_api::{Answer, RuntimeApi};
use serde_json::{Value, json};

/// How far ahead each invocation's deadline is.
const DEADLINE: Duration = Duration::from_millis(2500);

struct Function {
    api: RuntimeApi,
    _process: LambdaProcess,
}

async fn start(function: &str, table: &str, keys: &str, proxy: &FaultProxy) -> Function {
    let api = RuntimeApi::start().await.expect("the Runtime API listens");
    let mut env = lambda_environment(function, &api.address);
    env.extend(
        [
            ("TABLE_NAME", table.to_owned()),
            ("IDEMPOTENCY_TABLE_NAME", keys.to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let log = std::env::temp_dir().join(format!("deadline-{function}-{}.log", std::process::id()));
    let process = LambdaProcess::start(&debug_binary(function), &env, &log);
    Function { api, _process: process }
}

/// The answer, checked to have come back before the invocation's deadline.
async fn invoke(function: &Function, payload: &Value) -> Answer {
    let answer = function.api.invoke_within(payload, DEADLINE).await;
    assert!(
        answer.latency < DEADLINE,
        "answered {:?} after the event was handed out, past its {DEADLINE:?} deadline: {payload}",
        answer.latency
    );
    answer
}

fn response(answer: &Answer) -> (u64, Value, Value) {
    let output = answer.result.clone().unwrap_or_else(|e| panic!("a function error: {e}"));
    let body = output["body"].as_str().and_then(|b| serde_json::from_str(b).ok());
    (
        output["statusCode"].as_u64().unwrap_or(0),
        output["headers"].clone(),
        body.unwrap_or_default(),
    )
}

fn assert_unavailable(answer: &Answer, what: &str) {
    let (status, headers, body) = response(answer);
    assert_eq!(status, 503, "{what}: {body}");
    assert_eq!(body["error"], "ServiceUnavailable", "{what}");
    assert_eq!(headers["retry-after"], "1", "{what}: {headers}");
}

fn put(id: &str, title: &str, headers: &[(&str, &str)]) -> Value {
    let mut event = http_event("PUT", &format!("/employees/{id}"))
        .json_body(json!({"jobTitle": title}).to_string());
    for (name, value) in headers {
        event = event.header(name, value);
    }
    event.build()
}

fn delete(id: &str, key: &str) -> Value {
    http_event("DELETE", &format!("/employees/{id}")).header("idempotency-key", key).build()
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_table_gets_a_503_before_the_deadline_and_keyed_retries_come_out_right() {
    let client = client();
    let table = fresh_table(&client).await;
    let keys = fresh_idempotency_table(&client).await;
    // Unversioned, as another writer left them: their ETags are content tags.
    put_items(&client, &table, &[("42", "Engineer"), ("43", "Engineer"), ("44", "Engineer")]).await;
    let proxy = FaultProxy::start(dynamodb_local::endpoint());
    let get = start("get-employee", &table, &keys, &proxy).await;
    let add = start("add-employee", &table, &keys, &proxy).await;
    let remove = start("remove-employee", &table, &keys, &proxy).await;
    let read = invoke(&get, &http_event("GET", "/employees/42").build()).await;
    let (status, headers, _) = response(&read);
    assert_eq!(status, 200);
    let tag = headers["etag"].as_str().unwrap().to_owned();
    assert!(tag.starts_with("\"c"), "{tag}");

    // Every answer three seconds late: no call can finish in time.
    proxy.set(Fault::Slow(Duration::from_secs(3)));
    assert_unavailable(&invoke(&get, &http_event("GET", "/employees/42").build()).await, "GET");
    let create = http_event("POST", "/employees")
        .json_body(json!({"employee": "50", "jobTitle": "Engineer"}).to_string())
        .build();
    assert_unavailable(&invoke(&add, &create).await, "POST");
    let keyed_put = put("42", "Manager", &[("if-match", &tag), ("idempotency-key", "put-42")]);
    assert_unavailable(&invoke(&add, &keyed_put).await, "keyed PUT with If-Match");
    assert_unavailable(&invoke(&remove, &delete("43", "delete-43")).await, "keyed DELETE");
    let direct = invoke(&get, &json!({"employee": "42"})).await;
    let error = direct.result.expect_err("a function error");
    assert_eq!(error["errorType"], "ServiceUnavailable", "{error}");

    // Every answer 1.2 s late: a keyed PUT's read gets through, its
    // transaction is sent and lands after the invocation has answered 503.
    proxy.set(Fault::Slow(Duration::from_millis(1200)));
    let late = put("44", "Director", &[("if-match", &tag), ("idempotency-key", "put-44")]);
    assert_unavailable(&invoke(&add, &late).await, "keyed PUT whose write lands late");

    // DynamoDB is back, and everything sent has landed.
    proxy.set(Fault::None);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (status, _, body) = response(&invoke(&add, &keyed_put).await);
    assert_eq!((status, &body["jobTitle"]), (200, &json!("Manager")), "keyed PUT retried: {body}");
    let (status, headers, body) = response(&invoke(&add, &late).await);
    assert_eq!((status, &body["jobTitle"]), (200, &json!("Director")), "late PUT retried: {body}");
    assert_eq!(headers["idempotent-replayed"], "true", "the late write is replayed, not redone");
    let (status, _, body) = response(&invoke(&remove, &delete("43", "delete-43")).await);
    assert_eq!((status, &body["employee"]), (200, &json!("43")), "keyed DELETE retried: {body}");
    let items: Vec<(String, String)> = dynamodb_local::all_items(&client, &table)
        .await
        .iter()
        .map(|item| {
            (item["EmployeeId"].as_s().unwrap().clone(), item["JobTitle"].as_s().unwrap().clone())
        })
        .collect();
    assert!(items.contains(&("42".into(), "Manager".into())), "{items:?}");
    assert!(items.contains(&("44".into(), "Director".into())), "{items:?}");
    assert!(!items.iter().any(|(id, _)| id == "43"), "{items:?}");
}
