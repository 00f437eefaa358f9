//! The `get-employee` Lambda function. Configuration, the DynamoDB client, the
//! store and its connection are made once per container, during init; every
//! invocation reuses them.

use employee_api::functions::GetEmployee;
use employee_api::lambda;
use employee_api::store::DynamoDbStore;

fn main() -> std::process::ExitCode {
    // Logging, then the configuration (a failure reported to Lambda's
    // /runtime/init/error), then the store, then the runtime loop.
    lambda::start(|config| async move { GetEmployee(DynamoDbStore::open(&config).await) })
}
