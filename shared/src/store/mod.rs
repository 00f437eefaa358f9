//! Storage, one narrow capability per DynamoDB operation.
//!
//! Each use case takes only the traits it calls, so each function's binary
//! depends on, and its IAM role grants, exactly those operations:
//! get-employee `GetItem` + `Query`/`Scan`; add-employee `UpdateItem` (which
//! sets only what the API owns of an item: `JobTitle` and `Version`), and
//! for conditional and keyed writes `GetItem` and `TransactWriteItems` (with
//! the idempotency table's `PutItem`); remove-employee `DeleteItem`, and
//! likewise `GetItem` and `TransactWriteItems`.

pub mod dynamodb;
mod memory;
mod writes;

use std::future::Future;

pub use dynamodb::{CONNECT_TIMEOUT, DynamoDbStore, JOB_TITLE_INDEX};
pub use memory::{Fault, MemoryStore};
pub use writes::{Expect, RecordError, StoreRecord, StoreTransact, TransactError, Write};

use crate::employee::{Employee, EmployeeId, JobTitle};
use crate::revision::{Stored, Version};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional create found the id taken; nothing was written.
    #[error("employee {0} already exists")]
    AlreadyExists(EmployeeId),
    /// A write's condition ([`Expect`]) was false; nothing was written.
    #[error("the write's condition failed")]
    ConditionFailed,
    /// Throttled, timed out or unreachable after the bounded retries: the
    /// caller may try again later.
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    /// The item exists but is not one this API can serve (another writer
    /// stored it without a string `JobTitle`, or with a `Version` that is
    /// not one of ours): `why` says which.
    #[error("employee {id} is stored in a form this API cannot read: {why}")]
    Unreadable { id: EmployeeId, why: String },
    /// Anything else (a missing table, denied access).
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
    /// Where the next page starts; `None` on the last page. It moves past
    /// the items skipped as well.
    pub next: Option<PageKey>,
    /// Items of the page this API could not read (logged, and counted in
    /// the invocation's metrics), left out of `employees`.
    pub skipped: u32,
}

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Eventually consistent (half the cost): what `GET` serves.
    Eventual,
    /// Strongly consistent: what a write about to be conditioned on it reads.
    Consistent,
}

/// `GetItem`
pub trait StoreGet {
    /// The employee with its version, if it exists.
    fn read(
        &self,
        id: &EmployeeId,
        read: Read,
    ) -> impl Future<Output = Result<Option<Stored>, StoreError>> + Send;

    fn get(
        &self,
        id: &EmployeeId,
    ) -> impl Future<Output = Result<Option<Employee>, StoreError>> + Send
    where
        Self: Sync,
    {
        async move { Ok(self.read(id, Read::Eventual).await?.map(|stored| stored.employee)) }
    }
}

/// `UpdateItem` (`SET JobTitle, Version`)
pub trait StorePut {
    /// Stores `employee` at `version` if `expect` holds of the item stored
    /// ([`StoreError::ConditionFailed`] otherwise; nothing written): the
    /// item is created, or only its `JobTitle` and `Version` are replaced,
    /// so what other writers keep in it survives.
    fn write(
        &self,
        employee: &Employee,
        version: Version,
        expect: &Expect,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;

    /// Creates `employee` unless its id exists ([`StoreError::AlreadyExists`]);
    /// never overwrites.
    fn create(&self, employee: &Employee) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        Self: Sync,
    {
        async move {
            match self.write(employee, Version::new(), &Expect::Absent).await {
                Ok(_) => Ok(()),
                Err(StoreError::ConditionFailed) => {
                    Err(StoreError::AlreadyExists(employee.id.clone()))
                }
                Err(other) => Err(other),
            }
        }
    }

    /// Creates or replaces `employee`.
    fn put(
        &self,
        employee: &Employee,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send
    where
        Self: Sync,
    {
        self.write(employee, Version::new(), &Expect::Anything)
    }
}

/// `DeleteItem`
pub trait StoreDelete {
    /// Deletes the employee if `expect` holds ([`StoreError::ConditionFailed`]
    /// otherwise) and returns what was stored, or `None` if absent.
    fn remove(
        &self,
        id: &EmployeeId,
        expect: &Expect,
    ) -> impl Future<Output = Result<Option<Stored>, StoreError>> + Send;

    /// Deletes the employee and returns what was stored, or `None` if absent.
    fn delete(
        &self,
        id: &EmployeeId,
    ) -> impl Future<Output = Result<Option<Employee>, StoreError>> + Send
    where
        Self: Sync,
    {
        async move { Ok(self.remove(id, &Expect::Anything).await?.map(|stored| stored.employee)) }
    }
}

/// `Query` on the job-title index, or `Scan` when unfiltered.
pub trait StoreList {
    fn list(&self, query: &ListQuery) -> impl Future<Output = Result<Page, StoreError>> + Send;
}

/// A shared reference to a store is a store: a function can serve from a
/// store it does not own (the tests share one store between functions).
impl<S: StoreGet + Sync> StoreGet for &S {
    fn read(
        &self,
        id: &EmployeeId,
        read: Read,
    ) -> impl Future<Output = Result<Option<Stored>, StoreError>> + Send {
        S::read(self, id, read)
    }
}

impl<S: StorePut + Sync> StorePut for &S {
    fn write(
        &self,
        employee: &Employee,
        version: Version,
        expect: &Expect,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send {
        S::write(self, employee, version, expect)
    }
}

impl<S: StoreDelete + Sync> StoreDelete for &S {
    fn remove(
        &self,
        id: &EmployeeId,
        expect: &Expect,
    ) -> impl Future<Output = Result<Option<Stored>, StoreError>> + Send {
        S::remove(self, id, expect)
    }
}

impl<S: StoreList + Sync> StoreList for &S {
    fn list(&self, query: &ListQuery) -> impl Future<Output = Result<Page, StoreError>> + Send {
        S::list(self, query)
    }
}
