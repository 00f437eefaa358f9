//! The API Gateway adapter: one function per route, each reading what its
//! route takes from the request (id, body, query), calling the use case and
//! writing its typed result as the HTTP answer.

pub mod cursor;
pub mod request;
pub mod response;

use serde::{Deserialize, Serialize};

pub use request::HttpRequest;
pub use response::HttpResponse;

use crate::employee::{Employee, EmployeeId, JobTitle};
use crate::employees;
use crate::error::ApiError;
use crate::store::{ListQuery, PutOutcome, StoreDelete, StoreGet, StoreList, StorePut};

pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 100;

/// `POST /employees` body: the state machine's input names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEmployee {
    employee: String,
    #[serde(rename = "jobTitle")]
    job_title: String,
}

/// `PUT /employees/{employeeId}` body. `employee` may be repeated (so a
/// client can send back what it read) but must then match the path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmployeeUpdate {
    /// Absent, or a string: `null` is refused like any other wrong type.
    #[serde(default, deserialize_with = "present_string")]
    employee: Option<String>,
    #[serde(rename = "jobTitle")]
    job_title: String,
}

fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// `GET /employees` query parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParameters {
    #[serde(rename = "jobTitle")]
    job_title: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Serialize)]
struct EmployeePage<'a> {
    employees: &'a [Employee],
    /// `null` on the last page.
    #[serde(rename = "nextCursor")]
    next_cursor: Option<String>,
}

/// `GET /employees/{employeeId}`
pub async fn get<S: StoreGet>(store: &S, id: &EmployeeId) -> Result<HttpResponse, ApiError> {
    let employee = employees::get(store, id).await?;
    Ok(HttpResponse::json(200, &employee))
}

/// `GET /employees`
pub async fn list<S: StoreList>(
    store: &S,
    request: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = list_query(request.query()?)?;
    let page = employees::list(store, &query).await?;
    let body = EmployeePage {
        employees: &page.employees,
        next_cursor: page.next.as_ref().map(cursor::encode),
    };
    Ok(HttpResponse::json(200, &body))
}

/// `POST /employees`
pub async fn create<S: StorePut>(
    store: &S,
    request: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let body: NewEmployee = request.json_body()?;
    let employee =
        Employee::new(EmployeeId::parse(body.employee)?, JobTitle::parse(body.job_title)?);
    let created = employees::create(store, employee).await?;
    Ok(HttpResponse::created(&created.id, &created))
}

/// `PUT /employees/{employeeId}`: 201 created or 200 replaced.
pub async fn put<S: StorePut>(
    store: &S,
    id: EmployeeId,
    request: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let body: EmployeeUpdate = request.json_body()?;
    if body.employee.as_deref().is_some_and(|e| e != id.as_str()) {
        return Err(ApiError::Validation(
            "employee in the body must match the employee id in the path".to_owned(),
        ));
    }
    let employee = Employee::new(id, JobTitle::parse(body.job_title)?);
    Ok(match employees::put(store, employee).await? {
        (PutOutcome::Created, employee) => HttpResponse::created(&employee.id, &employee),
        (PutOutcome::Replaced, employee) => HttpResponse::json(200, &employee),
    })
}

/// `DELETE /employees/{employeeId}`: the removed employee.
pub async fn remove<S: StoreDelete>(store: &S, id: &EmployeeId) -> Result<HttpResponse, ApiError> {
    let removed = employees::remove(store, id).await?;
    Ok(HttpResponse::json(200, &removed))
}

fn list_query(parameters: ListParameters) -> Result<ListQuery, ApiError> {
    let job_title = parameters.job_title.map(JobTitle::parse).transpose()?;
    let limit = parameters.limit.as_deref().map(parse_limit).transpose()?;
    let after = parameters
        .cursor
        .map(|c| cursor::decode(&c, job_title.as_ref().map(JobTitle::as_str)))
        .transpose()?;
    Ok(ListQuery { job_title, limit: limit.unwrap_or(DEFAULT_PAGE_SIZE), after })
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
