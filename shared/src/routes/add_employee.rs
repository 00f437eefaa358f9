//! `POST /employees` (create, never overwrite) and
//! `PUT /employees/{employeeId}` (create or replace).

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Deserialize;
use serde_json::Value;

use crate::employee::{Employee, EmployeeId, JobTitle};
use crate::http::ApiError;
use crate::http::request::{Resource, json_body};
use crate::http::response::json;
use crate::store::{PutOutcome, StorePut};
use crate::telemetry;

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

pub async fn handle<S: StorePut>(store: &S, request: Request) -> Response<Body> {
    let result = respond(store, &request).await;
    super::finish(result)
}

async fn respond<S: StorePut>(store: &S, request: &Request) -> Result<Response<Body>, ApiError> {
    let resource = Resource::of(request)?;
    match (request.method(), &resource) {
        (&Method::POST, Resource::Collection) => {
            let body: NewEmployee = json_body(request)?;
            let employee =
                Employee::new(EmployeeId::parse(body.employee)?, JobTitle::parse(body.job_title)?);
            store.create(&employee).await?;
            telemetry::employee_added();
            Ok(created(&employee))
        }
        (&Method::PUT, Resource::Employee(id)) => {
            let id = EmployeeId::parse(id.as_str())?;
            let body: EmployeeUpdate = json_body(request)?;
            if body.employee.as_deref().is_some_and(|e| e != id.as_str()) {
                return Err(ApiError::Validation(
                    "employee in the body must match the employee id in the path".to_owned(),
                ));
            }
            let employee = Employee::new(id, JobTitle::parse(body.job_title)?);
            Ok(match store.put(&employee).await? {
                PutOutcome::Created => {
                    telemetry::employee_added();
                    created(&employee)
                }
                PutOutcome::Replaced => json(StatusCode::OK, &employee),
            })
        }
        _ => Err(resource.method_not_allowed(request)),
    }
}

/// The "add" state machine's input. Other fields are ignored (see
/// `EmployeeRef`).
#[derive(Deserialize)]
struct AddInput {
    employee: String,
    #[serde(rename = "jobTitle")]
    job_title: String,
}

/// Direct invocation: `{"employee":"42","jobTitle":"…"}` → the stored
/// employee, or the error `EmployeeAlreadyExists` (never overwrites).
pub async fn invoke<S: StorePut>(store: &S, input: Value) -> Result<Value, ApiError> {
    let input: AddInput = super::direct_input(input)?;
    let employee =
        Employee::new(EmployeeId::parse(input.employee)?, JobTitle::parse(input.job_title)?);
    store.create(&employee).await?;
    telemetry::employee_added();
    super::output(&employee)
}

/// Characters escaped in the `Location` path segment: everything that is not
/// unreserved or a sub-delimiter in RFC 3986's `pchar`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

pub fn location_of(id: &EmployeeId) -> String {
    format!("/employees/{}", utf8_percent_encode(id.as_str(), SEGMENT))
}

fn created(employee: &Employee) -> Response<Body> {
    let mut response = json(StatusCode::CREATED, employee);
    if let Ok(location) = HeaderValue::from_str(&location_of(&employee.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_escapes_what_a_path_segment_cannot_hold() {
        let id = |s: &str| EmployeeId::parse(s).unwrap();
        assert_eq!(location_of(&id("42")), "/employees/42");
        assert_eq!(location_of(&id("Zoë A")), "/employees/Zo%C3%AB%20A");
        assert_eq!(location_of(&id("a?b#c%d")), "/employees/a%3Fb%23c%25d");
    }
}
