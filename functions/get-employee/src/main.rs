//! The `get-employee` Lambda function. Configuration, the DynamoDB client, the
//! store and its connection are made once per container, during init; every
//! invocation reuses them.

use employee_api::config::Config;
use employee_api::routes::get_employee;
use employee_api::{lambda, telemetry};
use lambda_http::Error;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    telemetry::init("get-employee");
    let config = Config::from_env()?;
    let store = config.open_store().await;
    lambda::run(
        |request| get_employee::handle(&store, request),
        |input| get_employee::invoke(&store, input),
    )
    .await
}
