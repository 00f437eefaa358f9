//! The API Gateway adapter: one function per route, each reading what its
//! route takes from the request (id, body, query), calling the use case and
//! writing its typed result as the HTTP answer.

pub mod conditional;
pub mod cursor;
pub mod request;
pub mod response;

use serde::{Deserialize, Serialize};

pub use request::HttpRequest;
pub use response::HttpResponse;

use crate::employee::{Employee, EmployeeId, JobTitle};
use crate::employees::{self, keyed};
use crate::error::ApiError;
use crate::idempotency::Idempotent;
use crate::route::{RouteKey, http_id};
use crate::store::{
    ListQuery, PutOutcome, StoreDelete, StoreGet, StoreList, StorePut, StoreRecord, StoreTransact,
};

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

/// `GET /employees/{employeeId}`, with the employee's `ETag`.
pub async fn get<S: StoreGet>(store: &S, id: &EmployeeId) -> Result<HttpResponse, ApiError> {
    let stored = employees::get(store, id).await?;
    Ok(HttpResponse::json(200, &stored.employee).with_etag(&stored.etag()))
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

/// `POST /employees`: 201 with `Location` and `ETag`; with an
/// `Idempotency-Key`, done once and answered the same to every retry.
pub async fn create<S: StorePut + StoreTransact + StoreRecord>(
    store: &S,
    request: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let body: NewEmployee = request.json_body()?;
    let id = http_id(EmployeeId::parse(body.employee)?)?;
    let employee = Employee::new(id, JobTitle::parse(body.job_title)?);
    let base = request.base();
    if let Some(key) = request.idempotency_key()? {
        let parts = [employee.id.as_str(), employee.job_title.as_str()];
        let idempotent = Idempotent::new(RouteKey::CreateEmployee.name(), &key, &parts);
        let id = employee.id.clone();
        let keyed = keyed::create(store, employee, &idempotent).await?;
        return Ok(HttpResponse::keyed(keyed, &base, &id));
    }
    let created = employees::create(store, employee).await?;
    let response = HttpResponse::created(&base, &created.employee.id, &created.employee);
    Ok(response.with_etag(&created.etag))
}

/// `PUT /employees/{employeeId}`: 201 created or 200 replaced, with the new
/// `ETag`; `If-Match` / `If-None-Match: *` make it conditional (412), and
/// `required` makes a precondition mandatory (428).
pub async fn put<S: StoreGet + StorePut + StoreTransact + StoreRecord>(
    store: &S,
    id: EmployeeId,
    request: &HttpRequest,
    required: bool,
) -> Result<HttpResponse, ApiError> {
    let body: EmployeeUpdate = request.json_body()?;
    if body.employee.as_deref().is_some_and(|e| e != id.as_str()) {
        return Err(ApiError::Validation(
            "employee in the body must match the employee id in the path".to_owned(),
        ));
    }
    let employee = Employee::new(id, JobTitle::parse(body.job_title)?);
    let precondition = conditional::precondition(request, true, required)?;
    let base = request.base();
    if let Some(key) = request.idempotency_key()? {
        let canonical = precondition.canonical();
        let parts = [employee.id.as_str(), employee.job_title.as_str(), canonical.as_str()];
        let idempotent = Idempotent::new(RouteKey::PutEmployee.name(), &key, &parts);
        let id = employee.id.clone();
        let keyed = keyed::put(store, employee, &precondition, &idempotent).await?;
        return Ok(HttpResponse::keyed(keyed, &base, &id));
    }
    let (outcome, written) = employees::put(store, employee, &precondition).await?;
    let response = match outcome {
        PutOutcome::Created => {
            HttpResponse::created(&base, &written.employee.id, &written.employee)
        }
        PutOutcome::Replaced => HttpResponse::json(200, &written.employee),
    };
    Ok(response.with_etag(&written.etag))
}

/// `DELETE /employees/{employeeId}`: the removed employee; `If-Match` makes
/// it conditional (412), `required` mandatory (428). With an
/// `Idempotency-Key`, a retry gets the same 200 and body.
pub async fn remove<S: StoreGet + StoreDelete + StoreTransact + StoreRecord>(
    store: &S,
    id: &EmployeeId,
    request: &HttpRequest,
    required: bool,
) -> Result<HttpResponse, ApiError> {
    let precondition = conditional::precondition(request, false, required)?;
    if let Some(key) = request.idempotency_key()? {
        let canonical = precondition.canonical();
        let parts = [id.as_str(), canonical.as_str()];
        let idempotent = Idempotent::new(RouteKey::RemoveEmployee.name(), &key, &parts);
        let keyed = keyed::remove(store, id, &precondition, &idempotent).await?;
        return Ok(HttpResponse::keyed(keyed, "", id));
    }
    let removed = employees::remove(store, id, &precondition).await?;
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
