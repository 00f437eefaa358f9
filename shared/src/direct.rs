//! The direct-invocation adapter, with the original state machines'
//! contract: input `{"employee":"42"}` (and `"jobTitle"` to add), output
//! `{"employee":"42","jobTitle":"…"}`, or a function error whose
//! `errorType` is the state machine's error name (`EmployeeDoesNotExist`,
//! `EmployeeAlreadyExists`).
//!
//! An optional `idempotencyKey` (not in the state machines' contract, so
//! inputs without it behave as before) gives add and remove the guarantees
//! of the HTTP `Idempotency-Key`: done once, and every retry with the key
//! gets the first output or error again.

use crate::employee::{Employee, EmployeeId, JobTitle};
use crate::employees::{self, Precondition, keyed};
use crate::error::ApiError;
use crate::idempotency::{Answer, IdempotencyKey, Idempotent};
use crate::payload::DirectInput;
use crate::store::{StoreDelete, StoreGet, StorePut, StoreRecord, StoreTransact};

/// The key space of direct invocations, per function.
const ADD_SCOPE: &str = "add-employee invoke";
const REMOVE_SCOPE: &str = "remove-employee invoke";

fn invalid(reason: String) -> ApiError {
    ApiError::Validation(format!("the invocation input is not valid: {reason}"))
}

fn employee_id(input: &DirectInput) -> Result<EmployeeId, ApiError> {
    let employee = input.employee().map_err(invalid)?;
    Ok(EmployeeId::parse(employee)?)
}

fn idempotency_key(input: &DirectInput) -> Result<Option<IdempotencyKey>, ApiError> {
    match input.idempotency_key().map_err(invalid)? {
        None => Ok(None),
        Some(key) => Ok(Some(IdempotencyKey::parse(key)?)),
    }
}

/// The "get" state machine: the employee, or `EmployeeDoesNotExist`.
pub async fn get<S: StoreGet>(store: &S, input: &DirectInput) -> Result<Employee, ApiError> {
    Ok(employees::get(store, &employee_id(input)?).await?.employee)
}

/// The "add" state machine: the stored employee, or `EmployeeAlreadyExists`
/// (never overwrites).
pub async fn create<S>(store: &S, input: &DirectInput) -> Result<Employee, ApiError>
where
    S: StorePut + StoreTransact + StoreRecord,
{
    let id = employee_id(input)?;
    let job_title = input.job_title().map_err(invalid)?;
    let employee = Employee::new(id.clone(), JobTitle::parse(job_title)?);
    let Some(key) = idempotency_key(input)? else {
        return Ok(employees::create(store, employee).await?.employee);
    };
    let idempotent = Idempotent::new(ADD_SCOPE, &key, &[id.as_str(), employee.job_title.as_str()]);
    let keyed = keyed::create(store, employee, &idempotent).await?;
    output(keyed.answer, &id)
}

/// The "remove" state machine: the removed employee, or
/// `EmployeeDoesNotExist`.
pub async fn remove<S>(store: &S, input: &DirectInput) -> Result<Employee, ApiError>
where
    S: StoreGet + StoreDelete + StoreTransact + StoreRecord,
{
    let id = employee_id(input)?;
    let Some(key) = idempotency_key(input)? else {
        return Ok(employees::remove(store, &id, &Precondition::None).await?);
    };
    let idempotent = Idempotent::new(REMOVE_SCOPE, &key, &[id.as_str()]);
    let none = Precondition::None;
    let keyed = keyed::remove(store, &id, &none, &idempotent).await?;
    output(keyed.answer, &id)
}

/// A keyed request's answer as the state machine's output or error.
fn output(answer: Answer, id: &EmployeeId) -> Result<Employee, ApiError> {
    match answer {
        Answer::Created(versioned) | Answer::Replaced(versioned) => Ok(versioned.employee),
        Answer::Removed(employee) => Ok(employee),
        Answer::Refused(refusal) => Err(refusal.error(id).into()),
    }
}
