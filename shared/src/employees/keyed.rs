//! Writes with an idempotency key: done once, answered the same every time.
//!
//! The answer is computed before the write and recorded with it in one
//! `TransactWriteItems` ([record `attribute_not_exists`, the employee write
//! with its condition]), so a record exists exactly when its write
//! happened. A retry, or a concurrent duplicate, finds the record — in the
//! transaction's cancellation reasons, without a read — and replays it; a
//! different request under the same key is [`Error::KeyReused`]. A final
//! error (409, 404, 412) wrote nothing, so its answer is recorded alone.
//! There is no "in progress" state to wait on: a duplicate that races the
//! first sees a transaction conflict, backs off, and then finds the record.
//!
//! What is recorded is the outcome ([`Answer`]), not a door's rendering of
//! it: each door renders the first answer and every replay the same way.

use std::time::Duration;

use super::{Error, Precondition, expect};
use crate::employee::{Employee, EmployeeId};
use crate::idempotency::{Answer, Idempotent, Keyed, Record, Refusal};
use crate::revision::{ETag, Version, Versioned};
use crate::store::{
    Expect, Read, RecordError, StoreGet, StoreRecord, StoreTransact, TransactError, Write,
};
use crate::{deadline, telemetry};

impl Refusal {
    /// The use case's error for the employee `id`, which `error.rs` maps to
    /// its status and code.
    pub fn error(self, id: &EmployeeId) -> Error {
        match self {
            Self::AlreadyExists => Error::AlreadyExists(id.clone()),
            Self::DoesNotExist => Error::DoesNotExist(id.clone()),
            Self::PreconditionFailed => Error::PreconditionFailed(id.clone()),
        }
    }
}

/// How many times a keyed write is tried when other transactions on the
/// same items are in flight, or when the item changed between the read and
/// the write of a `DELETE`, before it answers 503.
const ATTEMPTS: u32 = 6;

/// `POST`: creates `employee` once; never overwrites.
pub async fn create<S>(store: &S, employee: Employee, request: &Idempotent) -> Result<Keyed, Error>
where
    S: StoreTransact + StoreRecord,
{
    let version = Version::new();
    let done =
        Answer::Created(Versioned { employee: employee.clone(), etag: ETag::Version(version) });
    let write = Write::Put { employee, version, expect: Expect::Absent };
    match transact(store, request, &done, &write).await? {
        Some(keyed) => Ok(added(keyed)),
        None => finish(store, request, Refusal::AlreadyExists).await,
    }
}

/// `PUT`: creates (201) or replaces (200) `employee` once, if
/// `precondition` holds. Without a precondition there is no read: the
/// write is tried as a create, then as a replace, each conditioned on what
/// its answer says.
pub async fn put<S>(
    store: &S,
    employee: Employee,
    precondition: &Precondition,
    request: &Idempotent,
) -> Result<Keyed, Error>
where
    S: StoreGet + StoreTransact + StoreRecord,
{
    let id = employee.id.clone();
    let expected = match expect(store, &id, precondition).await {
        Ok(expected) => expected,
        Err(Error::PreconditionFailed(_)) => {
            return finish(store, request, Refusal::PreconditionFailed).await;
        }
        Err(other) => return Err(other),
    };
    let version = Version::new();
    let versioned = Versioned { employee: employee.clone(), etag: ETag::Version(version) };
    let tries = match expected {
        Expect::Anything => vec![
            (Expect::Absent, Answer::Created(versioned.clone())),
            (Expect::Present, Answer::Replaced(versioned)),
        ],
        Expect::Absent => vec![(Expect::Absent, Answer::Created(versioned))],
        other => vec![(other, Answer::Replaced(versioned))],
    };
    let unconditional = tries.len() > 1;
    for _ in 0..ATTEMPTS {
        for (expect, done) in &tries {
            let write = Write::Put { employee: employee.clone(), version, expect: expect.clone() };
            if let Some(keyed) = transact(store, request, done, &write).await? {
                return Ok(if matches!(done, Answer::Created(_)) { added(keyed) } else { keyed });
            }
        }
        if !unconditional {
            return finish(store, request, Refusal::PreconditionFailed).await;
        }
        // Created and deleted again between the two tries: start over.
    }
    Err(Error::Unavailable(format!("employee {id} kept changing during a keyed PUT")))
}

/// `DELETE`: removes the employee once and answers with what was removed,
/// to every retry. The answer needs the item, so it is read (consistently)
/// first; the delete is then conditioned on exactly that revision, and
/// read again if it changed in between.
pub async fn remove<S>(
    store: &S,
    id: &EmployeeId,
    precondition: &Precondition,
    request: &Idempotent,
) -> Result<Keyed, Error>
where
    S: StoreGet + StoreTransact + StoreRecord,
{
    for _ in 0..ATTEMPTS {
        let current = store.read(id, Read::Consistent).await?;
        if !precondition.holds(current.as_ref()) {
            return finish(store, request, Refusal::PreconditionFailed).await;
        }
        let Some(stored) = current else {
            return finish(store, request, Refusal::DoesNotExist).await;
        };
        let write = Write::Delete { id: id.clone(), expect: Expect::exactly(&stored) };
        let answer = Answer::Removed(stored.employee);
        if let Some(keyed) = transact(store, request, &answer, &write).await? {
            if !keyed.replayed {
                telemetry::employee_removed();
            }
            return Ok(keyed);
        }
    }
    Err(Error::Unavailable(format!("employee {id} kept changing during a keyed DELETE")))
}

fn added(keyed: Keyed) -> Keyed {
    if !keyed.replayed {
        telemetry::employee_added();
    }
    keyed
}

/// The write and its record in one transaction: the answer (first or
/// replayed), or `None` when the employee write's condition failed.
async fn transact<S: StoreTransact>(
    store: &S,
    request: &Idempotent,
    answer: &Answer,
    write: &Write,
) -> Result<Option<Keyed>, Error> {
    let record = request.record(answer.clone());
    for attempt in 0..ATTEMPTS {
        match store.transact(&record, write).await {
            Ok(()) => return Ok(Some(Keyed { answer: answer.clone(), replayed: false })),
            Err(TransactError::Recorded(existing)) => return replay(request, existing).map(Some),
            Err(TransactError::ConditionFailed) => return Ok(None),
            Err(TransactError::Conflict) => back_off(attempt).await?,
            Err(TransactError::Store(err)) => return Err(err.into()),
        }
    }
    Err(Error::Unavailable("transaction conflicts did not clear".to_owned()))
}

/// Records a final error (nothing was written), or replays the record a
/// concurrent duplicate made first.
async fn finish<S: StoreRecord>(
    store: &S,
    request: &Idempotent,
    refusal: Refusal,
) -> Result<Keyed, Error> {
    let answer = Answer::Refused(refusal);
    match store.record(&request.record(answer.clone())).await {
        Ok(()) => Ok(Keyed { answer, replayed: false }),
        Err(RecordError::Recorded(existing)) => replay(request, existing),
        Err(RecordError::Store(err)) => Err(err.into()),
    }
}

fn replay(request: &Idempotent, record: Record) -> Result<Keyed, Error> {
    if record.fingerprint == request.fingerprint {
        Ok(Keyed { answer: record.answer, replayed: true })
    } else {
        Err(Error::KeyReused)
    }
}

/// Full jitter from 10 ms, doubling: the transaction in the way commits
/// in milliseconds. Never past the invocation's deadline.
async fn back_off(attempt: u32) -> Result<(), Error> {
    let cap = 10u64 << attempt.min(5);
    let delay = Duration::from_millis(fastrand::u64(1..=cap));
    deadline::sleep(delay).await.map_err(|expired| Error::Unavailable(expired.to_string()))
}

/// The in-memory store keeps the DynamoDB store's contract for keyed writes
/// (the same behaviours run on DynamoDB Local in `tests/`).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::employee::JobTitle;
    use crate::idempotency::IdempotencyKey;
    use crate::store::{MemoryStore, StoreDelete};

    fn employee(id: &str, title: &str) -> Employee {
        Employee::new(EmployeeId::parse(id).unwrap(), JobTitle::parse(title).unwrap())
    }

    fn keyed(key: &str, parts: &[&str]) -> Idempotent {
        Idempotent::new("test", &IdempotencyKey::parse(key).unwrap(), parts)
    }

    fn title(answer: &Answer) -> &str {
        match answer {
            Answer::Created(v) | Answer::Replaced(v) => v.employee.job_title.as_str(),
            Answer::Removed(e) => e.job_title.as_str(),
            Answer::Refused(_) => "",
        }
    }

    #[tokio::test]
    async fn a_keyed_create_is_done_once_and_replayed() {
        let store = MemoryStore::new();
        let request = keyed("k", &["1", "A"]);
        let first = create(&store, employee("1", "A"), &request).await.unwrap();
        assert!(!first.replayed);
        assert!(matches!(first.answer, Answer::Created(_)));
        let again = create(&store, employee("1", "A"), &request).await.unwrap();
        assert_eq!((again.replayed, again.answer), (true, first.answer));
        let other = keyed("k", &["1", "B"]);
        let reused = create(&store, employee("1", "B"), &other).await;
        assert_eq!(reused, Err(Error::KeyReused));
        assert_eq!(store.snapshot(), [("1".to_owned(), "A".to_owned())]);
    }

    #[tokio::test]
    async fn a_final_error_is_recorded_and_a_keyed_put_and_delete_replay() {
        let store = MemoryStore::with([employee("1", "A")]);
        let taken = keyed("t", &["1", "B"]);
        let conflict = create(&store, employee("1", "B"), &taken).await.unwrap();
        assert_eq!(conflict.answer, Answer::Refused(Refusal::AlreadyExists));
        store.delete(&EmployeeId::parse("1").unwrap()).await.unwrap();
        let replayed = create(&store, employee("1", "B"), &taken).await.unwrap();
        assert_eq!((replayed.replayed, replayed.answer), (true, conflict.answer));

        let none = Precondition::None;
        let put_request = keyed("p", &["2", "C"]);
        let created = put(&store, employee("2", "C"), &none, &put_request).await.unwrap();
        assert!(matches!(created.answer, Answer::Created(_)));
        let replaced =
            put(&store, employee("2", "D"), &none, &keyed("q", &["2", "D"])).await.unwrap();
        assert!(matches!(replaced.answer, Answer::Replaced(_)));
        let id = EmployeeId::parse("2").unwrap();
        let delete = keyed("d", &["2"]);
        let removed = remove(&store, &id, &none, &delete).await.unwrap();
        let again = remove(&store, &id, &none, &delete).await.unwrap();
        assert_eq!((title(&removed.answer), again.replayed), ("D", true));
        assert_eq!(again.answer, removed.answer);
        let missing = remove(&store, &id, &none, &keyed("e", &["2"])).await.unwrap();
        assert_eq!(missing.answer, Answer::Refused(Refusal::DoesNotExist));
        assert_eq!(Refusal::DoesNotExist.error(&id), Error::DoesNotExist(id));
    }
}
