//! The `remove-employee` Lambda function. Configuration, the DynamoDB client and
//! the store are built once per container; every request reuses them.

use employee_api::config::Config;
use employee_api::routes::remove_employee;
use lambda_http::{Error, Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let store = config.store().await;
    let store = &store;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(remove_employee::handle(store, request).await)
    }))
    .await
}
