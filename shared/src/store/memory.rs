//! An in-memory store for fast handler tests. It follows the DynamoDB store's
//! contract (conditional create, put outcome, delete returning the old item,
//! pages in key order) but is never the only test of a behaviour: the same
//! behaviours are tested against DynamoDB Local in `tests/`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{
    ListQuery, Page, PageKey, PutOutcome, StoreDelete, StoreError, StoreGet, StoreList, StorePut,
};
use crate::employee::{Employee, EmployeeId, JobTitle};

/// A failure the store answers every call with, to test error paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Unavailable,
    Internal,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<BTreeMap<String, String>>,
    fault: Mutex<Option<Fault>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(employees: impl IntoIterator<Item = Employee>) -> Self {
        let store = Self::new();
        store.lock().extend(
            employees.into_iter().map(|e| (e.id.as_str().to_owned(), e.job_title.to_string())),
        );
        store
    }

    /// Makes every following call fail with `fault` (or succeed again with `None`).
    pub fn set_fault(&self, fault: Option<Fault>) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    /// Everything stored, in id order.
    pub fn snapshot(&self) -> Vec<(String, String)> {
        self.lock().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
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

fn employee(id: &str, title: &str) -> Employee {
    Employee::new(EmployeeId::from_stored(id.to_owned()), JobTitle::from_stored(title.to_owned()))
}

impl StoreGet for MemoryStore {
    async fn get(&self, id: &EmployeeId) -> Result<Option<Employee>, StoreError> {
        self.check_fault()?;
        Ok(self.lock().get(id.as_str()).map(|title| employee(id.as_str(), title)))
    }
}

impl StorePut for MemoryStore {
    async fn create(&self, e: &Employee) -> Result<(), StoreError> {
        self.check_fault()?;
        let mut items = self.lock();
        if items.contains_key(e.id.as_str()) {
            return Err(StoreError::AlreadyExists(e.id.clone()));
        }
        items.insert(e.id.as_str().to_owned(), e.job_title.to_string());
        Ok(())
    }

    async fn put(&self, e: &Employee) -> Result<PutOutcome, StoreError> {
        self.check_fault()?;
        let previous = self.lock().insert(e.id.as_str().to_owned(), e.job_title.to_string());
        Ok(if previous.is_some() { PutOutcome::Replaced } else { PutOutcome::Created })
    }
}

impl StoreDelete for MemoryStore {
    async fn delete(&self, id: &EmployeeId) -> Result<Option<Employee>, StoreError> {
        self.check_fault()?;
        Ok(self.lock().remove(id.as_str()).map(|title| employee(id.as_str(), &title)))
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
            .filter(|(_, title)| query.job_title.as_ref().is_none_or(|t| t.as_str() == *title));
        let employees: Vec<Employee> = matching
            .by_ref()
            .take(query.limit as usize)
            .map(|(id, title)| employee(id, title))
            .collect();
        let more = matching.next().is_some();
        let next = match employees.last() {
            Some(last) if more => Some(PageKey {
                employee_id: last.id.as_str().to_owned(),
                job_title: query.job_title.as_ref().map(|t| t.as_str().to_owned()),
            }),
            _ => None,
        };
        Ok(Page { employees, next })
    }
}
