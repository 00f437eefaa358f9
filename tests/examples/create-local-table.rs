//! Creates the employee table on a local DynamoDB engine, with the schema of
//! template.yaml, and adds one example employee (without a version, as the
//! original sample wrote its items); and, when named, the idempotency table.
//! Used by `scripts/dev.sh`.
//!
//! Usage: create-local-table <endpoint> <table> [<idempotency table>]

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use employee_api::store::dynamodb::client_config;
use employee_api_tests::dynamodb_local::{create_idempotency_table, create_table, settings_for};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (endpoint, table, idempotency_table) = match args.as_slice() {
        [endpoint, table] => (endpoint, table, None),
        [endpoint, table, keys] => (endpoint, table, Some(keys)),
        _ => {
            eprintln!("usage: create-local-table <endpoint> <table> [<idempotency table>]");
            std::process::exit(2);
        }
    };
    let client = Client::from_conf(client_config(&settings_for(endpoint)).build());
    create_table(&client, table, true).await;
    client
        .put_item()
        .table_name(table)
        .item("EmployeeId", AttributeValue::S("42".into()))
        .item("JobTitle", AttributeValue::S("Engineer".into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot add the example employee: {e:?}"));
    println!("created table {table} on {endpoint} with employee 42 (Engineer)");
    if let Some(keys) = idempotency_table {
        create_idempotency_table(&client, keys).await;
        println!("created idempotency table {keys} on {endpoint}");
    }
}
