//! One handler per Lambda function. Each is generic over only the store
//! capabilities it uses, so the in-memory store serves the fast tests and the
//! DynamoDB store serves Lambda.

pub mod add_employee;
pub mod get_employee;
pub mod remove_employee;

use lambda_http::{Body, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::employee::{Employee, EmployeeId};
use crate::http::ApiError;

/// The state machine's input naming one employee: `{"employee":"42"}`.
/// Other fields are ignored, as the state machine ignored them: a workflow's
/// state often carries more than one step needs.
#[derive(Deserialize)]
struct EmployeeRef {
    employee: String,
}

/// Reads a direct invocation's input.
fn direct_input<T: DeserializeOwned>(input: Value) -> Result<T, ApiError> {
    serde_json::from_value(input)
        .map_err(|e| ApiError::Validation(format!("the invocation input is not valid: {e}")))
}

fn employee_id(input: Value) -> Result<EmployeeId, ApiError> {
    let EmployeeRef { employee } = direct_input(input)?;
    Ok(EmployeeId::parse(employee)?)
}

/// The state machine's output: `{"employee":"42","jobTitle":"…"}`.
fn output(employee: &Employee) -> Result<Value, ApiError> {
    serde_json::to_value(employee).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Turns a handler's result into the response.
fn finish(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(ApiError::into_response)
}
