//! The `add-employee` Lambda function. Configuration, the DynamoDB client, the
//! store and its connection are made once per container, during init; every
//! invocation reuses them.

use employee_api::config::Config;
use employee_api::functions::AddEmployee;
use employee_api::lambda;
use employee_api::store::DynamoDbStore;
use lambda_runtime::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let store = DynamoDbStore::open(&config).await;
    lambda::run(AddEmployee(store)).await
}
