//! The DynamoDB store, on the original sample's schema: partition key
//! `EmployeeId` (S) and attribute `JobTitle` (S), plus `Version` (N) on every
//! item this API writes (optional when reading). Other attributes an item
//! may carry are ignored when reading.

mod client;
mod conditions;
mod connect;
mod errors;
mod records;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, from_items, to_item};

pub use client::{
    AMAZON_TRUST_SERVICES_ROOTS, DYNAMODB_ATTEMPT_TIMEOUT, DYNAMODB_CONNECT_TIMEOUT,
    DYNAMODB_INITIAL_BACKOFF, DYNAMODB_MAX_ATTEMPTS, DYNAMODB_MAX_BACKOFF,
    DYNAMODB_OPERATION_TIMEOUT, client, client_config,
};
use conditions::Condition;
pub use connect::CONNECT_TIMEOUT;
use errors::classify;

use super::{
    Expect, ListQuery, Page, PageKey, PutOutcome, Read, StoreDelete, StoreError, StoreGet,
    StoreList, StorePut,
};
use crate::config::{Config, DEFAULT_JOB_TITLE_INDEX};
use crate::employee::{Employee, EmployeeId, JobTitle};
use crate::revision::{Stored, Version};

/// The global secondary index (`JobTitle` HASH, `EmployeeId` RANGE) that
/// `GET /employees?jobTitle=` queries.
pub const JOB_TITLE_INDEX: &str = DEFAULT_JOB_TITLE_INDEX;

pub(super) const ID: &str = "EmployeeId";
const TITLE: &str = "JobTitle";
const VERSION: &str = "Version";

/// An item as stored: the sample's attribute names, and our version.
#[derive(Serialize, Deserialize)]
struct Item {
    #[serde(rename = "EmployeeId")]
    id: String,
    #[serde(rename = "JobTitle")]
    job_title: String,
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
}

impl Item {
    fn new(e: &Employee, version: Version) -> Self {
        Self {
            id: e.id.as_str().to_owned(),
            job_title: e.job_title.as_str().to_owned(),
            version: Some(version.get()),
        }
    }
}

impl From<Item> for Employee {
    fn from(item: Item) -> Self {
        Employee::new(EmployeeId::from_stored(item.id), JobTitle::from_stored(item.job_title))
    }
}

impl From<Item> for Stored {
    fn from(item: Item) -> Self {
        let version = item.version.map(Version::from_stored);
        Stored { employee: item.into(), version }
    }
}

/// Where keyed requests record their answers, and for how long.
#[derive(Debug, Clone)]
pub struct IdempotencyTable {
    pub name: String,
    pub retention: Duration,
}

#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    /// `None` for a table without the index (such as the original sample's):
    /// job-title listings then scan with a filter instead of querying.
    job_title_index: Option<String>,
    /// `None` when no idempotency table is configured: keyed requests then
    /// fail with an internal error that names the missing variable.
    idempotency: Option<IdempotencyTable>,
}

impl DynamoDbStore {
    /// `client` should be built once per process and reused: it holds the
    /// connection pool, so the TLS handshake is paid once per container.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            job_title_index: Some(JOB_TITLE_INDEX.to_owned()),
            idempotency: None,
        }
    }

    /// The store `config` describes, on a client of its own (built once per
    /// process). See [`DynamoDbStore::open`] for what the functions do.
    pub fn from_config(config: &Config) -> Self {
        Self::new(client(&config.dynamodb), &config.table_name)
            .with_job_title_index(config.job_title_index.clone())
            .with_idempotency(
                config
                    .idempotency_table
                    .clone()
                    .map(|name| IdempotencyTable { name, retention: config.idempotency_retention }),
            )
    }

    pub fn with_job_title_index(mut self, index: Option<String>) -> Self {
        self.job_title_index = index;
        self
    }

    pub fn with_idempotency(mut self, table: Option<IdempotencyTable>) -> Self {
        self.idempotency = table;
        self
    }

    fn key(id: &EmployeeId) -> HashMap<String, AttributeValue> {
        HashMap::from([(ID.to_owned(), AttributeValue::S(id.as_str().to_owned()))])
    }

    fn item(
        employee: &Employee,
        version: Version,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        to_item(Item::new(employee, version)).map_err(|e| StoreError::Internal(e.to_string()))
    }
}

fn stored_from(item: HashMap<String, AttributeValue>) -> Result<Stored, StoreError> {
    from_item::<Item>(item)
        .map(Stored::from)
        .map_err(|e| StoreError::Internal(format!("malformed item: {e}")))
}

/// Whether an SDK error is a failed condition.
fn condition_failed<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

impl StoreGet for DynamoDbStore {
    async fn read(&self, id: &EmployeeId, read: Read) -> Result<Option<Stored>, StoreError> {
        let output = boxed(
            self.client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(id)))
                .set_consistent_read((read == Read::Consistent).then_some(true))
                .send(),
        )
        .await
        .map_err(classify)?;
        output.item.map(stored_from).transpose()
    }
}

impl StorePut for DynamoDbStore {
    async fn write(
        &self,
        employee: &Employee,
        version: Version,
        expect: &Expect,
    ) -> Result<PutOutcome, StoreError> {
        let condition = Condition::of(expect);
        let result = boxed(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(Self::item(employee, version)?))
                .set_condition_expression(condition.expression)
                .set_expression_attribute_names(condition.names)
                .set_expression_attribute_values(condition.values)
                .return_values(ReturnValue::AllOld)
                .send(),
        )
        .await;
        match result {
            Ok(output) => Ok(match output.attributes {
                Some(old) if !old.is_empty() => PutOutcome::Replaced,
                _ => PutOutcome::Created,
            }),
            Err(err) if condition_failed(&err) => Err(StoreError::ConditionFailed),
            Err(err) => Err(classify(err)),
        }
    }
}

impl StoreDelete for DynamoDbStore {
    async fn remove(&self, id: &EmployeeId, expect: &Expect) -> Result<Option<Stored>, StoreError> {
        let condition = Condition::of(expect);
        let result = boxed(
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(id)))
                .set_condition_expression(condition.expression)
                .set_expression_attribute_names(condition.names)
                .set_expression_attribute_values(condition.values)
                .return_values(ReturnValue::AllOld)
                .send(),
        )
        .await;
        match result {
            Ok(output) => match output.attributes {
                Some(old) if !old.is_empty() => stored_from(old).map(Some),
                _ => Ok(None),
            },
            Err(err) if condition_failed(&err) => Err(StoreError::ConditionFailed),
            Err(err) => Err(classify(err)),
        }
    }
}

impl StoreList for DynamoDbStore {
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let limit = i32::try_from(query.limit).unwrap_or(i32::MAX);
        let title = query.job_title.as_ref().map(|t| t.as_str().to_owned());
        let (items, last_key) = match (&title, &self.job_title_index) {
            (Some(title), Some(index)) => {
                let mut start = query.after.as_ref().map(start_key);
                if let Some(start) = &mut start {
                    start.insert(TITLE.to_owned(), AttributeValue::S(title.clone()));
                }
                let output = boxed(
                    self.client
                        .query()
                        .table_name(&self.table)
                        .index_name(index)
                        .key_condition_expression("#t = :t")
                        .expression_attribute_names("#t", TITLE)
                        .expression_attribute_values(":t", AttributeValue::S(title.clone()))
                        .limit(limit)
                        .set_exclusive_start_key(start)
                        .send(),
                )
                .await
                .map_err(classify)?;
                (output.items, output.last_evaluated_key)
            }
            _ => {
                let mut scan = self
                    .client
                    .scan()
                    .table_name(&self.table)
                    .limit(limit)
                    .set_exclusive_start_key(query.after.as_ref().map(start_key));
                if let Some(title) = &title {
                    // No index: filter a scan. Pages may hold fewer than
                    // `limit` items, but the cursor still visits each once.
                    scan = scan
                        .filter_expression("#t = :t")
                        .expression_attribute_names("#t", TITLE)
                        .expression_attribute_values(":t", AttributeValue::S(title.clone()));
                }
                let output = boxed(scan.send()).await.map_err(classify)?;
                (output.items, output.last_evaluated_key)
            }
        };
        let employees = from_items::<Item>(items.unwrap_or_default())
            .map_err(|e| StoreError::Internal(format!("malformed item: {e}")))?
            .into_iter()
            .map(Employee::from)
            .collect();
        let next = match last_key {
            Some(key) => Some(PageKey { employee_id: string_attr(&key, ID)?, job_title: title }),
            None => None,
        };
        Ok(Page { employees, next })
    }
}

/// Awaits an SDK call from the heap. The SDK's operation futures are large
/// (tens of KB): boxed here, every future above the store (use case,
/// adapter, entry point, runtime) stays small, so creating and moving one
/// per invocation copies a few hundred bytes instead of the SDK's state.
fn boxed<F: Future>(call: F) -> Pin<Box<F>> {
    Box::pin(call)
}

fn start_key(key: &PageKey) -> HashMap<String, AttributeValue> {
    HashMap::from([(ID.to_owned(), AttributeValue::S(key.employee_id.clone()))])
}

fn string_attr(item: &HashMap<String, AttributeValue>, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(StoreError::Internal(format!("key attribute {name} missing or not a string"))),
    }
}
