//! Dependency faults: the functions (under `cargo lambda watch`) reach
//! DynamoDB Local through a fault-injecting proxy. For every fault and every
//! route the answer is a 503 `ServiceUnavailable` with `Retry-After`, well
//! inside the function timeout, after a bounded number of attempts; no write
//! is duplicated or half-applied; and once the fault clears, the next request
//! succeeds.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use employee_api::store::dynamodb::DYNAMODB_MAX_ATTEMPTS;
use employee_api_tests::dynamodb_local::{self, all_items, client, put_items};
use employee_api_tests::fault_proxy::{Fault, FaultProxy};
use employee_api_tests::lambda_watch::LocalApi;
use serde_json::{Value, json};

/// The function timeout of template.yaml: every answer must come before it.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

struct Stack {
    proxy: FaultProxy,
    api: LocalApi,
}

fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let proxy = FaultProxy::start(dynamodb_local::endpoint());
        let api = LocalApi::start(&proxy.endpoint());
        Stack { proxy, api }
    })
}

/// One request of each route, sent together; returns (route, status,
/// Retry-After, error code, elapsed).
async fn every_route(
    api: &LocalApi,
    tag: &str,
) -> Vec<(String, u16, Option<String>, String, Duration)> {
    let http = employee_api_tests::http();
    let requests = vec![
        ("GET one", http.get(api.url(&format!("/employees/{tag}-existing")))),
        ("GET list", http.get(api.url("/employees?limit=5"))),
        (
            "POST",
            http.post(api.url("/employees"))
                .json(&json!({"employee": format!("{tag}-new"), "jobTitle": "New"})),
        ),
        (
            "PUT",
            http.put(api.url(&format!("/employees/{tag}-put"))).json(&json!({"jobTitle": "Put"})),
        ),
        ("DELETE", http.delete(api.url(&format!("/employees/{tag}-existing")))),
    ];
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(route, request)| {
            tokio::spawn(async move {
                let started = Instant::now();
                let response = request.timeout(Duration::from_secs(30)).send().await.unwrap();
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap_or_default().to_owned());
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let code = body["error"].as_str().unwrap_or_default().to_owned();
                // The client learns that the table is unavailable, not why.
                let message = body["message"].as_str().unwrap_or_default();
                for detail in ["Dispatch", "Timeout", "127.0.0.1", "Exception", "hyper", "HTTP 5"] {
                    assert!(!message.contains(detail), "{route}: {message}");
                }
                (route.to_owned(), status, retry_after, code, started.elapsed())
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

fn title_of(
    items: &[std::collections::HashMap<String, AttributeValue>],
    id: &str,
) -> Option<String> {
    items.iter().find(|i| i["EmployeeId"] == AttributeValue::S(id.to_owned())).map(|i| {
        match &i["JobTitle"] {
            AttributeValue::S(title) => title.clone(),
            other => panic!("JobTitle is not a string: {other:?}"),
        }
    })
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn every_dependency_fault_is_a_bounded_503_and_leaves_no_half_write() {
    let Stack { proxy, api } = stack();
    let client = client();
    let faults = [
        ("refuse", Fault::RefuseConnections, false),
        ("silent", Fault::NeverAnswer, false),
        ("slow", Fault::Slow(Duration::from_secs(3)), true),
        ("http500", Fault::InternalServerError, false),
        ("throttled", Fault::Throttling, false),
        ("throughput", Fault::ProvisionedThroughputExceeded, false),
        ("cut", Fault::CutResponse, true),
    ];
    for (tag, fault, reaches_dynamodb) in faults {
        proxy.set(Fault::None);
        put_items(&client, &api.table, &[(&format!("{tag}-existing"), "Existing")]).await;
        let before = all_items(&client, &api.table).await;
        proxy.take_request_count();

        proxy.set(fault);
        let results = every_route(api, tag).await;
        let attempts = proxy.take_request_count();
        proxy.set(Fault::None);

        for (route, status, retry_after, code, elapsed) in &results {
            assert_eq!(
                (*status, code.as_str()),
                (503, "ServiceUnavailable"),
                "{tag} {route}: {results:?}\n{}",
                api.log_tail()
            );
            assert_eq!(retry_after.as_deref(), Some("1"), "{tag} {route}");
            assert!(*elapsed < FUNCTION_TIMEOUT, "{tag} {route} took {elapsed:?}");
        }
        let slowest = results.iter().map(|r| r.4).max().unwrap_or_default();
        println!("{tag:>10}: 5 routes -> 503 in at most {slowest:?}, {attempts} DynamoDB attempts");
        let max_attempts = results.len() * DYNAMODB_MAX_ATTEMPTS as usize;
        assert!(
            attempts <= max_attempts,
            "{tag}: {attempts} attempts for {} requests",
            results.len()
        );

        if reaches_dynamodb {
            // Forwarded requests may still land after the client gave up.
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
        let after = all_items(&client, &api.table).await;
        if reaches_dynamodb {
            // A write DynamoDB applied is applied whole, once: each id holds
            // nothing or exactly what was sent.
            let existing = title_of(&after, &format!("{tag}-existing"));
            assert!(existing.is_none() || existing.as_deref() == Some("Existing"), "{tag}");
            let new = title_of(&after, &format!("{tag}-new"));
            assert!(new.is_none() || new.as_deref() == Some("New"), "{tag}: {new:?}");
            let put = title_of(&after, &format!("{tag}-put"));
            assert!(put.is_none() || put.as_deref() == Some("Put"), "{tag}: {put:?}");
            let untouched = |items: &[std::collections::HashMap<String, AttributeValue>]| {
                items
                    .iter()
                    .filter(|i| match &i["EmployeeId"] {
                        AttributeValue::S(id) => !id.starts_with(&format!("{tag}-")),
                        _ => true,
                    })
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(untouched(&after), untouched(&before), "{tag}: other items changed");
        } else {
            assert_eq!(after, before, "{tag}: a request that never reached DynamoDB changed it");
        }

        // The fault cleared: the next requests succeed.
        let http = employee_api_tests::http();
        let listed = http.get(api.url("/employees?limit=1")).send().await.unwrap();
        assert_eq!(listed.status().as_u16(), 200, "{tag}: after recovery");
        let created = http
            .post(api.url("/employees"))
            .json(&json!({"employee": format!("{tag}-after"), "jobTitle": "After"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), 201, "{tag}: after recovery");
    }
}
