//! Conditional writes, and keyed writes recorded with their answer.
//!
//! Every precondition is a condition of the write itself, evaluated by
//! DynamoDB on the item as it is when the write lands, never a read
//! followed by a check. A keyed write and its idempotency record go in one
//! `TransactWriteItems`: either both are stored or neither is.

use std::future::Future;

use super::StoreError;
use crate::employee::{Employee, EmployeeId, JobTitle};
use crate::idempotency::Record;
use crate::revision::{Stored, Version};

/// What a write requires of the item it replaces or deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Unconditional.
    Anything,
    /// No item has the id (`attribute_not_exists(EmployeeId)`).
    Absent,
    /// An item has the id (`attribute_exists(EmployeeId)`).
    Present,
    /// The item is at one of `versions` (`Version IN (…)`), or, with
    /// `unversioned`, has no version and that job title.
    OneOf { versions: Vec<Version>, unversioned: Option<JobTitle> },
}

impl Expect {
    /// Exactly the revision `stored` is.
    pub fn exactly(stored: &Stored) -> Self {
        match stored.version {
            Some(version) => Self::OneOf { versions: vec![version], unversioned: None },
            None => Self::OneOf {
                versions: Vec::new(),
                unversioned: Some(stored.employee.job_title.clone()),
            },
        }
    }

    /// Whether the item `current` (`None`: absent) satisfies this.
    pub fn holds(&self, current: Option<&Stored>) -> bool {
        match (self, current) {
            (Self::Anything, _) => true,
            (Self::Absent, current) => current.is_none(),
            (Self::Present, current) => current.is_some(),
            (Self::OneOf { .. }, None) => false,
            (Self::OneOf { versions, unversioned }, Some(stored)) => match stored.version {
                Some(version) => versions.contains(&version),
                None => unversioned.as_ref() == Some(&stored.employee.job_title),
            },
        }
    }
}

/// The employee write of a keyed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put { employee: Employee, version: Version, expect: Expect },
    Delete { id: EmployeeId, expect: Expect },
}

/// Why a keyed write did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactError {
    /// The key already has a record (an earlier or concurrent request with
    /// it finished first): here it is.
    Recorded(Record),
    /// The employee write's condition failed; nothing was written.
    ConditionFailed,
    /// Another transaction on the same items was in flight: try again.
    Conflict,
    Store(StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The key already has a record: here it is.
    Recorded(Record),
    Store(StoreError),
}

/// `PutItem` on the idempotency table: records an answer that wrote
/// nothing (a final error such as 404, 409 or 412), unless the key has one.
pub trait StoreRecord {
    fn record(&self, record: &Record) -> impl Future<Output = Result<(), RecordError>> + Send;
}

/// `TransactWriteItems`: the employee write and the record of its answer,
/// together, unless the key has a record already.
pub trait StoreTransact {
    fn transact(
        &self,
        record: &Record,
        write: &Write,
    ) -> impl Future<Output = Result<(), TransactError>> + Send;
}

impl<S: StoreRecord + Sync> StoreRecord for &S {
    fn record(&self, record: &Record) -> impl Future<Output = Result<(), RecordError>> + Send {
        S::record(self, record)
    }
}

impl<S: StoreTransact + Sync> StoreTransact for &S {
    fn transact(
        &self,
        record: &Record,
        write: &Write,
    ) -> impl Future<Output = Result<(), TransactError>> + Send {
        S::transact(self, record, write)
    }
}
