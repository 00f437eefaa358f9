//! `DELETE /employees/{employeeId}`.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

use crate::employee::EmployeeId;
use crate::http::ApiError;
use crate::http::request::Resource;
use crate::http::response::json;
use crate::store::StoreDelete;
use crate::telemetry;

pub async fn handle<S: StoreDelete>(store: &S, request: Request) -> Response<Body> {
    let result = respond(store, &request).await;
    super::finish(result)
}

async fn respond<S: StoreDelete>(store: &S, request: &Request) -> Result<Response<Body>, ApiError> {
    let resource = Resource::of(request)?;
    let Resource::Employee(id) = &resource else {
        return Err(resource.method_not_allowed(request));
    };
    if request.method() != Method::DELETE {
        return Err(resource.method_not_allowed(request));
    }
    let id = EmployeeId::parse(id.as_str())?;
    let removed =
        store.delete(&id).await?.ok_or_else(|| ApiError::EmployeeDoesNotExist(id.to_string()))?;
    telemetry::employee_removed();
    Ok(json(StatusCode::OK, &removed))
}

/// Direct invocation: `{"employee":"42"}` → the removed employee, or the
/// error `EmployeeDoesNotExist`.
pub async fn invoke<S: StoreDelete>(store: &S, input: Value) -> Result<Value, ApiError> {
    let id = super::employee_id(input)?;
    let removed =
        store.delete(&id).await?.ok_or_else(|| ApiError::EmployeeDoesNotExist(id.to_string()))?;
    telemetry::employee_removed();
    super::output(&removed)
}
