//! The `remove-employee` Lambda function. Configuration, the DynamoDB client, the
//! store and its connection are made once per container, during init; every
//! invocation reuses them.

use employee_api::config::Config;
use employee_api::functions::{RemoveEmployee, WriteRules};
use employee_api::store::DynamoDbStore;
use employee_api::{lambda, telemetry};
use lambda_runtime::Error;

fn main() -> Result<(), Error> {
    // One thread, or one per CPU when Lambda asks for concurrent invocations.
    lambda::tokio_runtime()?.block_on(serve())
}

async fn serve() -> Result<(), Error> {
    telemetry::init_logging();
    let config = Config::from_env()?;
    let store = DynamoDbStore::open(&config).await;
    lambda::run(RemoveEmployee(store, WriteRules::from(&config))).await
}
