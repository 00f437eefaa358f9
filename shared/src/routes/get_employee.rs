//! `GET /employees/{employeeId}` and `GET /employees`.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::Value;

use crate::employee::{Employee, EmployeeId, JobTitle};
use crate::http::request::{Resource, query_params};
use crate::http::response::json;
use crate::http::{ApiError, cursor};
use crate::store::{ListQuery, StoreGet, StoreList};

pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 100;

pub async fn handle<S: StoreGet + StoreList>(store: &S, request: Request) -> Response<Body> {
    let result = respond(store, &request).await;
    super::finish(result)
}

async fn respond<S: StoreGet + StoreList>(
    store: &S,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let resource = Resource::of(request)?;
    if request.method() != Method::GET {
        return Err(resource.method_not_allowed(request));
    }
    match resource {
        Resource::Employee(id) => {
            let id = EmployeeId::parse(id)?;
            let employee = store
                .get(&id)
                .await?
                .ok_or_else(|| ApiError::EmployeeDoesNotExist(id.to_string()))?;
            Ok(json(StatusCode::OK, &employee))
        }
        Resource::Collection => {
            let query = list_query(request)?;
            let page = store.list(&query).await?;
            let body = EmployeePage {
                employees: &page.employees,
                next_cursor: page.next.as_ref().map(cursor::encode),
            };
            Ok(json(StatusCode::OK, &body))
        }
    }
}

/// Direct invocation with the "get" state machine's contract:
/// `{"employee":"42"}` → `{"employee":"42","jobTitle":"…"}`, or the error
/// `EmployeeDoesNotExist`.
pub async fn invoke<S: StoreGet>(store: &S, input: Value) -> Result<Value, ApiError> {
    let id = super::employee_id(input)?;
    let employee =
        store.get(&id).await?.ok_or_else(|| ApiError::EmployeeDoesNotExist(id.to_string()))?;
    super::output(&employee)
}

#[derive(Serialize)]
struct EmployeePage<'a> {
    employees: &'a [Employee],
    /// `null` on the last page.
    #[serde(rename = "nextCursor")]
    next_cursor: Option<String>,
}

fn list_query(request: &Request) -> Result<ListQuery, ApiError> {
    let mut job_title = None;
    let mut limit = DEFAULT_PAGE_SIZE;
    let mut cursor_param = None;
    for (name, value) in query_params(request, &["jobTitle", "limit", "cursor"])? {
        match name {
            "jobTitle" => job_title = Some(JobTitle::parse(value)?),
            "limit" => limit = parse_limit(value)?,
            _ => cursor_param = Some(value),
        }
    }
    let after = cursor_param
        .map(|c| cursor::decode(c, job_title.as_ref().map(JobTitle::as_str)))
        .transpose()?;
    Ok(ListQuery { job_title, limit, after })
}

fn parse_limit(value: &str) -> Result<u32, ApiError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_PAGE_SIZE).contains(n) && value.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::Validation(format!("limit must be an integer from 1 to {MAX_PAGE_SIZE}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_accepts_1_to_100_in_plain_digits() {
        assert_eq!(parse_limit("1").unwrap(), 1);
        assert_eq!(parse_limit("100").unwrap(), 100);
        assert_eq!(parse_limit("007").unwrap(), 7);
        for bad in ["0", "101", "-1", "+5", "1.5", "", " 5", "ten", "99999999999999999999"] {
            assert!(parse_limit(bad).is_err(), "{bad:?}");
        }
    }
}
