//! The direct-invocation adapter, with the original state machines'
//! contract: input `{"employee":"42"}` (and `"jobTitle"` to add), output
//! `{"employee":"42","jobTitle":"…"}`, or a function error whose
//! `errorType` is the state machine's error name (`EmployeeDoesNotExist`,
//! `EmployeeAlreadyExists`).

use crate::employee::{Employee, EmployeeId, JobTitle};
use crate::employees;
use crate::error::ApiError;
use crate::payload::DirectInput;
use crate::store::{StoreDelete, StoreGet, StorePut};

fn invalid(reason: String) -> ApiError {
    ApiError::Validation(format!("the invocation input is not valid: {reason}"))
}

fn employee_id(input: &DirectInput) -> Result<EmployeeId, ApiError> {
    let employee = input.field("employee", &input.employee).map_err(invalid)?;
    Ok(EmployeeId::parse(employee)?)
}

/// The "get" state machine: the employee, or `EmployeeDoesNotExist`.
pub async fn get<S: StoreGet>(store: &S, input: &DirectInput) -> Result<Employee, ApiError> {
    Ok(employees::get(store, &employee_id(input)?).await?)
}

/// The "add" state machine: the stored employee, or `EmployeeAlreadyExists`
/// (never overwrites).
pub async fn create<S: StorePut>(store: &S, input: &DirectInput) -> Result<Employee, ApiError> {
    let id = employee_id(input)?;
    let job_title = input.field("jobTitle", &input.job_title).map_err(invalid)?;
    let employee = Employee::new(id, JobTitle::parse(job_title)?);
    Ok(employees::create(store, employee).await?)
}

/// The "remove" state machine: the removed employee, or
/// `EmployeeDoesNotExist`.
pub async fn remove<S: StoreDelete>(store: &S, input: &DirectInput) -> Result<Employee, ApiError> {
    Ok(employees::remove(store, &employee_id(input)?).await?)
}
