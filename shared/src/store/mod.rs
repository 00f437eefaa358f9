//! Storage, one narrow capability per DynamoDB operation.
//!
//! Each use case takes only the traits it calls, so each function's binary
//! depends on, and its IAM role grants, exactly those operations:
//! get-employee `GetItem` + `Query`/`Scan`, add-employee `PutItem`,
//! remove-employee `DeleteItem`.

pub mod dynamodb;
mod memory;

use std::future::Future;

pub use dynamodb::{CONNECT_TIMEOUT, DynamoDbStore, JOB_TITLE_INDEX};
pub use memory::{Fault, MemoryStore};

use crate::employee::{Employee, EmployeeId, JobTitle};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional create found the id taken; nothing was written.
    #[error("employee {0} already exists")]
    AlreadyExists(EmployeeId),
    /// Throttled, timed out or unreachable after the bounded retries: the
    /// caller may try again later.
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    /// Anything else (a missing table, denied access, a malformed item).
    #[error("DynamoDB error: {0}")]
    Internal(String),
}

/// Whether a put created a new employee or replaced an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    Replaced,
}

/// The key a listing resumes after. Values come from the table (or from a
/// client's cursor), so they are kept as the raw strings DynamoDB expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    pub employee_id: String,
    pub job_title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub job_title: Option<JobTitle>,
    /// 1–100, checked by the HTTP adapter.
    pub limit: u32,
    pub after: Option<PageKey>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub employees: Vec<Employee>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageKey>,
}

/// `GetItem`
pub trait StoreGet {
    fn get(
        &self,
        id: &EmployeeId,
    ) -> impl Future<Output = Result<Option<Employee>, StoreError>> + Send;
}

/// `PutItem`
pub trait StorePut {
    /// Creates `employee` unless its id exists ([`StoreError::AlreadyExists`]);
    /// never overwrites.
    fn create(&self, employee: &Employee) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates or replaces `employee`.
    fn put(
        &self,
        employee: &Employee,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}

/// `DeleteItem`
pub trait StoreDelete {
    /// Deletes the employee and returns what was stored, or `None` if absent.
    fn delete(
        &self,
        id: &EmployeeId,
    ) -> impl Future<Output = Result<Option<Employee>, StoreError>> + Send;
}

/// `Query` on the job-title index, or `Scan` when unfiltered.
pub trait StoreList {
    fn list(&self, query: &ListQuery) -> impl Future<Output = Result<Page, StoreError>> + Send;
}

/// A shared reference to a store is a store: a function can serve from a
/// store it does not own (the tests share one store between functions).
impl<S: StoreGet + Sync> StoreGet for &S {
    fn get(
        &self,
        id: &EmployeeId,
    ) -> impl Future<Output = Result<Option<Employee>, StoreError>> + Send {
        S::get(self, id)
    }
}

impl<S: StorePut + Sync> StorePut for &S {
    fn create(&self, employee: &Employee) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::create(self, employee)
    }

    fn put(
        &self,
        employee: &Employee,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send {
        S::put(self, employee)
    }
}

impl<S: StoreDelete + Sync> StoreDelete for &S {
    fn delete(
        &self,
        id: &EmployeeId,
    ) -> impl Future<Output = Result<Option<Employee>, StoreError>> + Send {
        S::delete(self, id)
    }
}

impl<S: StoreList + Sync> StoreList for &S {
    fn list(&self, query: &ListQuery) -> impl Future<Output = Result<Page, StoreError>> + Send {
        S::list(self, query)
    }
}
