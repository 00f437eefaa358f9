//! One handler per Lambda function. Each is generic over only the store
//! capabilities it uses, so the in-memory store serves the fast tests and the
//! DynamoDB store serves Lambda.

pub mod add_employee;
pub mod get_employee;
pub mod remove_employee;

use lambda_http::{Body, Request, Response};

use crate::http::ApiError;

/// Turns a handler's result into the response, logging one line per request
/// (method, status, error code; never bodies or job titles).
fn finish(request: &Request, result: Result<Response<Body>, ApiError>) -> Response<Body> {
    let response = result.unwrap_or_else(ApiError::into_response);
    tracing::info!(method = %request.method(), status = response.status().as_u16(), "request handled");
    response
}
