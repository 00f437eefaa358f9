//! The use cases: what the API does, whichever door a request came through.
//! The API Gateway adapter (`apigw`) and the direct-invocation adapter
//! (`direct`) parse their input into domain values, call these, and turn the
//! typed result into their own answer.
//!
//! Each use case takes only the store capability it needs, so the in-memory
//! store serves the fast tests and the DynamoDB store serves Lambda.
//! Requests with an idempotency key go through [`keyed`] instead.

pub mod keyed;

use crate::employee::{Employee, EmployeeId};
use crate::revision::{ETag, Stored, Version, Versioned};
use crate::store::{
    Expect, ListQuery, Page, PutOutcome, Read, StoreDelete, StoreError, StoreGet, StoreList,
    StorePut,
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
    /// The request's precondition (`If-Match`, `If-None-Match`) was false
    /// of the stored employee; nothing was written.
    #[error("the precondition failed for employee {0}")]
    PreconditionFailed(EmployeeId),
    /// The idempotency key was used before with another request.
    #[error("the idempotency key was used with another request")]
    KeyReused,
    /// The employee exists in a form this API cannot read; nothing was
    /// written.
    #[error("employee {id} is stored in a form this API cannot read: {why}")]
    Unreadable { id: EmployeeId, why: String },
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
            // Conditions are mapped where they are set; one that reaches
            // here was not expected.
            StoreError::ConditionFailed => Self::Internal("unexpected condition failure".into()),
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
            StoreError::Unreadable { id, why } => Self::Unreadable { id, why },
            StoreError::Internal(detail) => Self::Internal(detail),
        }
    }
}

/// What a write requires of the employee as stored (RFC 9110 §13).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Precondition {
    #[default]
    None,
    /// `If-Match: *`: the employee exists.
    IfMatchAny,
    /// `If-Match` with tags: the employee's tag is one of these (strong
    /// comparison: the adapter keeps no weak tag).
    IfMatch(Vec<ETag>),
    /// `If-None-Match: *`: the employee does not exist (create only).
    IfNoneMatchAny,
}

impl Precondition {
    /// Whether `current` (`None`: absent) satisfies it.
    pub fn holds(&self, current: Option<&Stored>) -> bool {
        match self {
            Self::None => true,
            Self::IfMatchAny => current.is_some(),
            Self::IfMatch(tags) => current.is_some_and(|stored| tags.contains(&stored.etag())),
            Self::IfNoneMatchAny => current.is_none(),
        }
    }

    /// A canonical text of it, part of a keyed request's fingerprint.
    pub fn canonical(&self) -> String {
        match self {
            Self::None => String::new(),
            Self::IfMatchAny => "if-match *".to_owned(),
            Self::IfMatch(tags) => {
                let tags: Vec<String> = tags.iter().map(ETag::to_string).collect();
                format!("if-match {}", tags.join(","))
            }
            Self::IfNoneMatchAny => "if-none-match *".to_owned(),
        }
    }
}

/// The condition a write of employee `id` must carry for `precondition`.
/// Version tags become `Version IN (…)` with no read. A content tag (an
/// item without a version) is resolved by one consistent read to the job
/// title it stands for, and the write then requires that the item still
/// has no version and that title: the check is the write's condition, the
/// read only finds what to condition on. No tag that could match is 412.
pub(crate) async fn expect<S: StoreGet>(
    store: &S,
    id: &EmployeeId,
    precondition: &Precondition,
) -> Result<Expect, Error> {
    let tags = match precondition {
        Precondition::None => return Ok(Expect::Anything),
        Precondition::IfMatchAny => return Ok(Expect::Present),
        Precondition::IfNoneMatchAny => return Ok(Expect::Absent),
        Precondition::IfMatch(tags) => tags,
    };
    let versions: Vec<Version> = tags
        .iter()
        .filter_map(|tag| match tag {
            ETag::Version(version) => Some(*version),
            ETag::Content(_) => None,
        })
        .collect();
    let mut unversioned = None;
    if tags.iter().any(|tag| matches!(tag, ETag::Content(_))) {
        // An item this API cannot read has no tag it issued: nothing matches.
        let current = match store.read(id, Read::Consistent).await {
            Ok(current) => current,
            Err(StoreError::Unreadable { .. }) => None,
            Err(other) => return Err(other.into()),
        };
        if let Some(stored) = current.filter(|s| s.version.is_none() && tags.contains(&s.etag())) {
            unversioned = Some(stored.employee.job_title);
        }
    }
    if versions.is_empty() && unversioned.is_none() {
        return Err(Error::PreconditionFailed(id.clone()));
    }
    Ok(Expect::OneOf { versions, unversioned })
}

/// The employee with `id` (`GetItem`), with its version.
pub async fn get<S: StoreGet>(store: &S, id: &EmployeeId) -> Result<Stored, Error> {
    store.read(id, Read::Eventual).await?.ok_or_else(|| Error::DoesNotExist(id.clone()))
}

/// One page of employees, optionally of one job title. Items the API
/// cannot read are left out and counted (the `UnreadableItems` metric).
pub async fn list<S: StoreList>(store: &S, query: &ListQuery) -> Result<Page, Error> {
    let page = store.list(query).await?;
    telemetry::items_skipped(page.skipped);
    Ok(page)
}

/// Creates `employee`; never overwrites one that exists.
pub async fn create<S: StorePut>(store: &S, employee: Employee) -> Result<Versioned, Error> {
    let version = Version::new();
    match store.write(&employee, version, &Expect::Absent).await {
        Ok(_) => {
            telemetry::employee_added();
            Ok(Versioned { employee, etag: ETag::Version(version) })
        }
        Err(StoreError::ConditionFailed) => Err(Error::AlreadyExists(employee.id)),
        Err(other) => Err(other.into()),
    }
}

/// Creates or replaces `employee`, if `precondition` holds when it is written.
pub async fn put<S: StoreGet + StorePut>(
    store: &S,
    employee: Employee,
    precondition: &Precondition,
) -> Result<(PutOutcome, Versioned), Error> {
    let expect = expect(store, &employee.id, precondition).await?;
    let version = Version::new();
    match store.write(&employee, version, &expect).await {
        Ok(outcome) => {
            if outcome == PutOutcome::Created {
                telemetry::employee_added();
            }
            Ok((outcome, Versioned { employee, etag: ETag::Version(version) }))
        }
        Err(StoreError::ConditionFailed) => Err(Error::PreconditionFailed(employee.id)),
        Err(other) => Err(other.into()),
    }
}

/// Removes the employee with `id`, if `precondition` holds when it is
/// deleted, and returns what was stored.
pub async fn remove<S: StoreGet + StoreDelete>(
    store: &S,
    id: &EmployeeId,
    precondition: &Precondition,
) -> Result<Employee, Error> {
    let expect = expect(store, id, precondition).await?;
    match store.remove(id, &expect).await {
        Ok(Some(removed)) => {
            telemetry::employee_removed();
            Ok(removed.employee)
        }
        Ok(None) => Err(Error::DoesNotExist(id.clone())),
        Err(StoreError::ConditionFailed) => Err(Error::PreconditionFailed(id.clone())),
        Err(other) => Err(other.into()),
    }
}
