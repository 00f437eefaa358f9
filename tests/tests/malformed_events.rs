//! Every case of the malformed-request catalogue through the functions' real
//! entry point, as API Gateway and a function URL deliver it (decoded and
//! encoded paths), against DynamoDB Local: the exact status and code, never
//! a 5xx, and the table unchanged to the byte.

use employee_api::store::DynamoDbStore;
use employee_api_tests::dynamodb_local::{self, all_items, client, fresh_table, put_items};
use employee_api_tests::events::Door;
use employee_api_tests::invoke::invoke;
use employee_api_tests::malformed::{self, SEED};
use serde_json::Value;

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn every_malformed_request_gets_its_status_and_code_and_changes_nothing() {
    let client = client();
    let table = fresh_table(&client).await;
    put_items(&client, &table, SEED).await;
    let before = all_items(&client, &table).await;
    let store = DynamoDbStore::from_config(&dynamodb_local::config(&table));

    let cases = malformed::cases();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let mut failures = Vec::new();
    // API Gateway cannot deliver some of these as sent (a path that is not
    // UTF-8 once decoded; a decoded `?`, where it cuts the path): those run
    // through the function URL only, which delivers every path as sent.
    let doors = [Door::ApiGateway, Door::FunctionUrl];
    let mut runs = 0;
    for (case, door) in cases.iter().flat_map(|c| doors.map(|d| (c, d))) {
        if !door.delivers(&case.path) {
            continue;
        }
        runs += 1;
        let result = invoke(case.function(), &store, &malformed::event(case, door)).await;
        let response = match result {
            Ok(response) => response,
            Err(diagnostic) => {
                failures.push(format!("{} via {door:?}: function error {diagnostic:?}", case.name));
                continue;
            }
        };
        let status = response["statusCode"].as_u64().unwrap_or(0);
        let body: Value = response["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        let code = body["error"].as_str().unwrap_or("");
        if status != u64::from(case.status) || code != case.code {
            failures.push(format!(
                "{} via {door:?}: expected {} {}, got {status} {body}",
                case.name, case.status, case.code
            ));
        }
    }
    assert!(runs > cases.len() * 3 / 2, "only {runs} runs of {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(all_items(&client, &table).await, before, "a malformed request changed the table");
}

#[test]
fn case_names_are_unique() {
    let cases = malformed::cases();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len());
}
