//! get-employee as the public examples shape it: the shared configuration
//! from `aws_config::load_from_env`, a client with the SDK's defaults, and
//! `lambda_http::run` on a multi-threaded Tokio runtime. Nothing here is
//! tuned: it is what the benchmark compares the real function with.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = aws_config::load_from_env().await;
    let client = Client::new(&config);
    let table = std::env::var("TABLE_NAME")?;
    run(service_fn(|request: Request| get_employee(&client, &table, request))).await
}

async fn get_employee(
    client: &Client,
    table: &str,
    request: Request,
) -> Result<Response<Body>, Error> {
    let id = request.path_parameters_ref().and_then(|p| p.first("employeeId")).unwrap_or_default();
    let item = client
        .get_item()
        .table_name(table)
        .key("EmployeeId", AttributeValue::S(id.to_owned()))
        .send()
        .await?
        .item;
    let (status, body) = match item.as_ref().and_then(|item| item.get("JobTitle")) {
        Some(AttributeValue::S(job_title)) => {
            (200, serde_json::json!({"employee": id, "jobTitle": job_title}))
        }
        _ => (404, serde_json::json!({"error": "EmployeeDoesNotExist"})),
    };
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string().into())?)
}
