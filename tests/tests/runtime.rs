//! The functions as Lambda runs them: each binary a fresh process with
//! Lambda's environment, polling a Runtime API. What Lambda itself sees of a
//! failed init (`/runtime/init/error`) and of payloads the runtime cannot
//! hand to serde_json's text and number readers.

use std::time::Duration;

use employee_api_tests::dynamodb_local::{self, client, fresh_table, put_items};
use employee_api_tests::invoke::FUNCTIONS;
use employee_api_tests::lambda_process::{LambdaProcess, debug_binary, lambda_environment};
use employee_api_tests::runtime_api::{FUNCTION_TIMEOUT, RuntimeApi};
use serde_json::{Value, json};

fn log_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("employee-api-runtime-{}-{name}.log", std::process::id()))
}

/// A case: its name, the variables set, the `errorType` and the sentence.
type ConfigCase =
    (&'static str, &'static [(&'static str, &'static str)], &'static str, &'static str);

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_error_is_logged_as_a_sentence_and_reported_to_init_error() {
    let cases: [ConfigCase; 3] = [
        ("no-table", &[], "Configuration.MissingTableName", "TABLE_NAME is not set"),
        (
            "blank-table",
            &[("TABLE_NAME", "  ")],
            "Configuration.MissingTableName",
            "TABLE_NAME is not set",
        ),
        (
            "bad-retention",
            &[("TABLE_NAME", "Employees"), ("IDEMPOTENCY_RETENTION_HOURS", "0")],
            "Configuration.InvalidIdempotencyRetention",
            "IDEMPOTENCY_RETENTION_HOURS must be a whole number",
        ),
    ];
    for function in FUNCTIONS {
        for (name, variables, error_type, sentence) in cases {
            let what = format!("{function} {name}");
            let api = RuntimeApi::start().await.expect("the Runtime API listens");
            let mut env = lambda_environment(function, &api.address);
            env.extend(variables.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            let log = log_path(&format!("{function}-{name}"));
            let mut process = LambdaProcess::start(&debug_binary(function), &env, &log);
            let status =
                tokio::task::block_in_place(|| process.wait_for_exit(Duration::from_secs(20)));
            let status = status.unwrap_or_else(|| panic!("{what}: the process did not exit"));
            assert!(!status.success(), "{what}: exited with {status}");
            let reported = api.init_errors();
            assert_eq!(reported.len(), 1, "{what}: {reported:?}");
            let diagnostic: Value = serde_json::from_str(&reported[0]).unwrap();
            assert_eq!(diagnostic["errorType"], error_type, "{what}");
            let message = diagnostic["errorMessage"].as_str().unwrap_or_default();
            assert!(message.starts_with(sentence), "{what}: {message}");
            let output = process.output();
            assert!(output.contains(sentence), "{what}: {output}");
            assert!(!output.contains("Error: "), "{what}: a Debug form leaked: {output}");
        }
    }
}

/// JSON that is valid but that serde_json refuses to read into text or a
/// number where a field is read: a lone surrogate escape, a number beyond
/// `f64`. The function answers with its own code, never the runtime's type name.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_serde_json_refuses_gets_a_validation_error_through_either_door() {
    let client = client();
    let table = fresh_table(&client).await;
    put_items(&client, &table, &[("42", "Engineer")]).await;
    let direct = [r#"{"employee":"\ud800"}"#, r#"{"employee":"42","jobTitle":1e999}"#, "1e999"];
    let http = [
        r#"{"version":"2.0","rawPath":"/employees/\ud800","requestContext":{"http":{"method":"GET"}}}"#,
        r#"{"version":"2.0","rawPath":"/employees","body":"{\"employee\":\"\ud83d\",\"jobTitle\":\"x\"}","requestContext":{"http":{"method":"POST"}}}"#,
        r#"{"version":"2.0","rawPath":"/employees","body":"{}","isBase64Encoded":1e999,"requestContext":{"http":{"method":"POST"}}}"#,
    ];
    for function in FUNCTIONS {
        let api = RuntimeApi::start().await.expect("the Runtime API listens");
        let mut env = lambda_environment(function, &api.address);
        env.push(("TABLE_NAME".into(), table.clone()));
        env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamodb_local::endpoint().to_owned()));
        let log = log_path(&format!("{function}-unreadable"));
        let process = LambdaProcess::start(&debug_binary(function), &env, &log);
        for payload in direct {
            let answer = api.invoke_raw(payload.as_bytes().to_vec(), FUNCTION_TIMEOUT).await;
            let error = answer.result.expect_err(payload);
            assert_eq!(error["errorType"], "ValidationError", "{function} {payload}: {error}");
        }
        for payload in http {
            let answer = api.invoke_raw(payload.as_bytes().to_vec(), FUNCTION_TIMEOUT).await;
            let response = answer.result.unwrap_or_else(|e| panic!("{function} {payload}: {e}"));
            assert_eq!(response["statusCode"], 400, "{function} {payload}: {response}");
            let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
            assert_eq!(body["error"], "ValidationError", "{function} {payload}");
        }
        drop(process);
    }
    assert_eq!(dynamodb_local::all_items(&client, &table).await.len(), 1);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_logs_and_counts_the_items_it_skips() {
    let client = client();
    let table = dynamodb_local::fresh_sample_table(&client).await;
    put_items(&client, &table, &[("1", "Engineer"), ("3", "Engineer")]).await;
    client
        .put_item()
        .table_name(&table)
        .item("EmployeeId", aws_sdk_dynamodb::types::AttributeValue::S("2".into()))
        .item("JobTitle", aws_sdk_dynamodb::types::AttributeValue::N("7".into()))
        .send()
        .await
        .unwrap();
    let api = RuntimeApi::start().await.expect("the Runtime API listens");
    let mut env = lambda_environment("get-employee", &api.address);
    env.push(("TABLE_NAME".into(), table.clone()));
    env.push(("JOB_TITLE_INDEX".into(), String::new()));
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamodb_local::endpoint().to_owned()));
    let process = LambdaProcess::start(&debug_binary("get-employee"), &env, &log_path("skipped"));
    let event = employee_api_tests::events::http_event("GET", "/employees").build();
    let answer = api.invoke(&event).await;
    let response = answer.result.expect("an HTTP answer");
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["employees"].as_array().unwrap().len(), 2, "{body}");
    // The lines are written before the answer is sent.
    let lines: Vec<Value> = process
        .output()
        .lines()
        .filter_map(|line| line.find('{').and_then(|at| serde_json::from_str(&line[at..]).ok()))
        .collect();
    let request = lines.iter().find(|l| l["message"] == "request").expect("a request line");
    assert_eq!(request["unreadable_items"], 1, "{request}");
    let warning = lines.iter().find(|l| l["message"] == "skipped an item this API cannot read");
    let warning = warning.expect("a line for the skipped item");
    assert_eq!(
        (&warning["employee"], &warning["reason"]),
        (&json!("2"), &json!("JobTitle is a number, not a string"))
    );
    let metrics = lines.iter().find(|l| l["_aws"].is_object()).expect("a metrics document");
    assert_eq!(metrics["UnreadableItems"], 1, "{metrics}");
    let declared = metrics["_aws"]["CloudWatchMetrics"].to_string();
    assert!(declared.contains("UnreadableItems"), "{declared}");
}
