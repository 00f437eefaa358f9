//! The `remove-employee` Lambda function. Configuration, the DynamoDB client, the
//! store and its connection are made once per container, during init; every
//! invocation reuses them.

use employee_api::functions::{RemoveEmployee, WriteRules};
use employee_api::lambda;
use employee_api::store::DynamoDbStore;

fn main() -> std::process::ExitCode {
    // Logging, then the configuration (a failure reported to Lambda's
    // /runtime/init/error), then the store, then the runtime loop.
    lambda::start(|config| async move {
        RemoveEmployee(DynamoDbStore::open(&config).await, WriteRules::from(&config))
    })
}
