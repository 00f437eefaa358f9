//! The use cases: what the API does, whichever door a request came through.
//! The API Gateway adapter (`apigw`) and the direct-invocation adapter
//! (`direct`) parse their input into domain values, call these, and turn the
//! typed result into their own answer.
//!
//! Each use case takes only the store capability it needs, so the in-memory
//! store serves the fast tests and the DynamoDB store serves Lambda.

use crate::employee::{Employee, EmployeeId};
use crate::store::{
    ListQuery, Page, PutOutcome, StoreDelete, StoreError, StoreGet, StoreList, StorePut,
};
use crate::telemetry;

/// Why a use case did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("employee {0} does not exist")]
    DoesNotExist(EmployeeId),
    /// A create found the id taken; nothing was written.
    #[error("employee {0} already exists")]
    AlreadyExists(EmployeeId),
    /// The table was throttled, timed out or unreachable after the bounded
    /// retries: the caller may try again later.
    #[error("the employee table is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::AlreadyExists(id) => Self::AlreadyExists(id),
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
            StoreError::Internal(detail) => Self::Internal(detail),
        }
    }
}

/// The employee with `id` (`GetItem`).
pub async fn get<S: StoreGet>(store: &S, id: &EmployeeId) -> Result<Employee, Error> {
    store.get(id).await?.ok_or_else(|| Error::DoesNotExist(id.clone()))
}

/// One page of employees, optionally of one job title.
pub async fn list<S: StoreList>(store: &S, query: &ListQuery) -> Result<Page, Error> {
    Ok(store.list(query).await?)
}

/// Creates `employee`; never overwrites one that exists.
pub async fn create<S: StorePut>(store: &S, employee: Employee) -> Result<Employee, Error> {
    store.create(&employee).await?;
    telemetry::employee_added();
    Ok(employee)
}

/// Creates or replaces `employee`.
pub async fn put<S: StorePut>(
    store: &S,
    employee: Employee,
) -> Result<(PutOutcome, Employee), Error> {
    let outcome = store.put(&employee).await?;
    if outcome == PutOutcome::Created {
        telemetry::employee_added();
    }
    Ok((outcome, employee))
}

/// Removes the employee with `id` and returns what was stored.
pub async fn remove<S: StoreDelete>(store: &S, id: &EmployeeId) -> Result<Employee, Error> {
    let removed = store.delete(id).await?.ok_or_else(|| Error::DoesNotExist(id.clone()))?;
    telemetry::employee_removed();
    Ok(removed)
}
