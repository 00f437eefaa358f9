//! An in-memory store for fast handler tests. It follows the DynamoDB store's
//! contract (conditional writes, put outcome, delete returning the old item,
//! pages in key order, keyed writes atomic with their record) but is never
//! the only test of a behaviour: the same behaviours are tested against
//! DynamoDB Local in `tests/`. Records never expire here.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{
    Expect, ListQuery, Page, PageKey, PutOutcome, Read, RecordError, StoreDelete, StoreError,
    StoreGet, StoreList, StorePut, StoreRecord, StoreTransact, TransactError, Write,
};
use crate::employee::{Employee, EmployeeId};
use crate::idempotency::Record;
use crate::revision::{Stored, Version};

/// A failure the store answers every call with, to test error paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Unavailable,
    Internal,
}

/// An item: its job title and, unless another client wrote it, its version.
type Item = (String, Option<u64>);

#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<BTreeMap<String, Item>>,
    records: Mutex<HashMap<String, Record>>,
    fault: Mutex<Option<Fault>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(employees: impl IntoIterator<Item = Employee>) -> Self {
        let store = Self::new();
        store.lock().extend(
            employees
                .into_iter()
                .map(|e| (e.id.as_str().to_owned(), (e.job_title.to_string(), None))),
        );
        store
    }

    /// Makes every following call fail with `fault` (or succeed again with `None`).
    pub fn set_fault(&self, fault: Option<Fault>) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    /// Everything stored, in id order.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        self.lock().iter().map(|(k, (title, _))| (k.clone(), title.clone())).collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Item>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn records(&self) -> MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_fault(&self) -> Result<(), StoreError> {
        match *self.fault.lock().unwrap_or_else(|p| p.into_inner()) {
            None => Ok(()),
            Some(Fault::Unavailable) => {
                Err(StoreError::Unavailable("injected fault: throttled".to_owned()))
            }
            Some(Fault::Internal) => Err(StoreError::Internal("injected fault".to_owned())),
        }
    }
}

fn stored(id: &str, (title, version): &Item) -> Stored {
    Stored {
        employee: Employee::from_stored(id, title),
        version: version.map(Version::from_stored),
    }
}

/// The conditional put, on the locked items.
fn put(
    items: &mut BTreeMap<String, Item>,
    e: &Employee,
    version: Version,
    expect: &Expect,
) -> Result<PutOutcome, StoreError> {
    let id = e.id.as_str();
    if !expect.holds(items.get(id).map(|item| stored(id, item)).as_ref()) {
        return Err(StoreError::ConditionFailed);
    }
    let previous = items.insert(id.to_owned(), (e.job_title.to_string(), Some(version.get())));
    Ok(if previous.is_some() { PutOutcome::Replaced } else { PutOutcome::Created })
}

/// The conditional delete, on the locked items.
fn delete(
    items: &mut BTreeMap<String, Item>,
    id: &EmployeeId,
    expect: &Expect,
) -> Result<Option<Stored>, StoreError> {
    let id = id.as_str();
    let current = items.get(id).map(|item| stored(id, item));
    if !expect.holds(current.as_ref()) {
        return Err(StoreError::ConditionFailed);
    }
    items.remove(id);
    Ok(current)
}

impl StoreGet for MemoryStore {
    async fn read(&self, id: &EmployeeId, _: Read) -> Result<Option<Stored>, StoreError> {
        self.check_fault()?;
        Ok(self.lock().get(id.as_str()).map(|item| stored(id.as_str(), item)))
    }
}

impl StorePut for MemoryStore {
    async fn write(
        &self,
        e: &Employee,
        version: Version,
        expect: &Expect,
    ) -> Result<PutOutcome, StoreError> {
        self.check_fault()?;
        put(&mut self.lock(), e, version, expect)
    }
}

impl StoreDelete for MemoryStore {
    async fn remove(&self, id: &EmployeeId, expect: &Expect) -> Result<Option<Stored>, StoreError> {
        self.check_fault()?;
        delete(&mut self.lock(), id, expect)
    }
}

impl StoreRecord for MemoryStore {
    async fn record(&self, record: &Record) -> Result<(), RecordError> {
        self.check_fault().map_err(RecordError::Store)?;
        let mut records = self.records();
        if let Some(existing) = records.get(&record.key) {
            return Err(RecordError::Recorded(existing.clone()));
        }
        records.insert(record.key.clone(), record.clone());
        Ok(())
    }
}

impl StoreTransact for MemoryStore {
    async fn transact(&self, record: &Record, write: &Write) -> Result<(), TransactError> {
        self.check_fault().map_err(TransactError::Store)?;
        // Both locks, always in this order: the write and its record together.
        let mut records = self.records();
        let mut items = self.lock();
        if let Some(existing) = records.get(&record.key) {
            return Err(TransactError::Recorded(existing.clone()));
        }
        let written = match write {
            Write::Put { employee, version, expect } => {
                put(&mut items, employee, *version, expect).map(drop)
            }
            Write::Delete { id, expect } => delete(&mut items, id, expect).map(drop),
        };
        match written {
            Ok(()) => {
                records.insert(record.key.clone(), record.clone());
                Ok(())
            }
            Err(StoreError::ConditionFailed) => Err(TransactError::ConditionFailed),
            Err(other) => Err(TransactError::Store(other)),
        }
    }
}

impl StoreList for MemoryStore {
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        self.check_fault()?;
        let items = self.lock();
        let after = query.after.as_ref().map(|k| k.employee_id.as_str());
        let mut matching = items
            .iter()
            .filter(|(id, _)| after.is_none_or(|after| id.as_str() > after))
            .filter(|(_, (title, _))| query.job_title.as_ref().is_none_or(|t| t.as_str() == title));
        let employees: Vec<Employee> = matching
            .by_ref()
            .take(query.limit as usize)
            .map(|(id, (title, _))| Employee::from_stored(id, title))
            .collect();
        let more = matching.next().is_some();
        let next = match employees.last() {
            Some(last) if more => Some(PageKey {
                employee_id: last.id.as_str().to_owned(),
                job_title: query.job_title.as_ref().map(|t| t.as_str().to_owned()),
            }),
            _ => None,
        };
        Ok(Page { employees, next, skipped: 0 })
    }
}
