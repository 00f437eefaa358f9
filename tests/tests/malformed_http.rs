//! The malformed-request catalogue over HTTP, through `cargo lambda watch`
//! and its router, on DynamoDB Local (cases the router cannot deliver —
//! unrouted methods and paths, dot segments, base64 event bodies — run in
//! `malformed_events.rs` only). This binary has the API and its table to
//! itself, so "the table is unchanged" means exactly that.

use employee_api_tests::dynamodb_local::{all_items, client, put_items};
use employee_api_tests::lambda_watch::local_api;
use employee_api_tests::malformed::{self, SEED};
use serde_json::Value;

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn every_malformed_request_over_http_gets_its_status_and_code_and_changes_nothing() {
    let api = local_api();
    let client = client();
    put_items(&client, &api.table, SEED).await;
    let before = all_items(&client, &api.table).await;
    let http = employee_api_tests::http();

    let cases: Vec<_> = malformed::cases().into_iter().filter(|c| c.over_http).collect();
    assert!(cases.len() >= 100, "only {} cases run over HTTP", cases.len());
    let mut failures = Vec::new();
    let mut server_errors = 0;
    for case in &cases {
        let mut url = api.url(&case.path);
        if !case.query.is_empty() {
            url = format!("{url}?{}", case.query);
        }
        let mut request = http.request(case.method.parse().unwrap(), url);
        if let Some(content_type) = &case.content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = &case.body {
            request = request.body(body.clone());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                failures.push(format!("{}: request failed: {e}", case.name));
                continue;
            }
        };
        let status = response.status().as_u16();
        server_errors += usize::from(status >= 500);
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let code = body["error"].as_str().unwrap_or("");
        if status != case.status || code != case.code {
            let shown: String = text.chars().take(200).collect();
            failures.push(format!(
                "{}: expected {} {}, got {status} {shown}",
                case.name, case.status, case.code
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}\n--- cargo lambda watch log:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n"),
        api.log_tail()
    );
    assert_eq!(server_errors, 0);
    assert_eq!(
        all_items(&client, &api.table).await,
        before,
        "a malformed request changed the table"
    );
}
