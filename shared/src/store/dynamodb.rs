//! The DynamoDB store, on the original sample's schema: partition key
//! `EmployeeId` (S) and attribute `JobTitle` (S), plus `Version` (N) on every
//! item this API writes (optional when reading). Other attributes an item
//! may carry are never read and never written ([`items`]).

mod client;
mod conditions;
mod connect;
mod credentials;
mod errors;
mod items;
mod list;
mod record_item;
mod records;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

pub use client::{
    AMAZON_TRUST_SERVICES_ROOTS, DYNAMODB_ATTEMPT_TIMEOUT, DYNAMODB_CONNECT_TIMEOUT,
    DYNAMODB_INITIAL_BACKOFF, DYNAMODB_MAX_ATTEMPTS, DYNAMODB_MAX_BACKOFF,
    DYNAMODB_OPERATION_TIMEOUT, client, client_config,
};
pub use connect::CONNECT_TIMEOUT;
use errors::classify;
use items::{Expressions, ID, Unreadable, employee_from, stored_from};

use super::{Expect, PutOutcome, Read, StoreDelete, StoreError, StoreGet, StorePut};
use crate::config::{Config, DEFAULT_JOB_TITLE_INDEX};
use crate::deadline;
use crate::employee::{Employee, EmployeeId};
use crate::revision::{Stored, Version};

/// The global secondary index (`JobTitle` HASH, `EmployeeId` RANGE) that
/// `GET /employees?jobTitle=` queries.
pub const JOB_TITLE_INDEX: &str = DEFAULT_JOB_TITLE_INDEX;

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
}

impl From<Unreadable> for StoreError {
    fn from(unreadable: Unreadable) -> Self {
        StoreError::Unreadable { id: EmployeeId::from_stored(unreadable.id), why: unreadable.why }
    }
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
        let output = bounded(
            self.client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(id)))
                .set_consistent_read((read == Read::Consistent).then_some(true))
                .send(),
        )
        .await?
        .map_err(classify)?;
        Ok(output.item.as_ref().map(stored_from).transpose()?)
    }
}

impl StorePut for DynamoDbStore {
    async fn write(
        &self,
        employee: &Employee,
        version: Version,
        expect: &Expect,
    ) -> Result<PutOutcome, StoreError> {
        let update = Expressions::update(employee, version, expect);
        let result = bounded(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(&employee.id)))
                .set_update_expression(update.update)
                .set_condition_expression(update.condition)
                .set_expression_attribute_names(update.names)
                .set_expression_attribute_values(update.values)
                .return_values(ReturnValue::AllOld)
                .send(),
        )
        .await?;
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
        let delete = Expressions::delete(expect);
        let result = bounded(
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(id)))
                .set_condition_expression(delete.condition)
                .set_expression_attribute_names(delete.names)
                .set_expression_attribute_values(delete.values)
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send(),
        )
        .await?;
        match result {
            // The version does not matter to what was removed.
            Ok(output) => match output.attributes {
                Some(old) if !old.is_empty() => {
                    let version = stored_from(&old).ok().and_then(|stored| stored.version);
                    Ok(Some(Stored { employee: employee_from(&old)?, version }))
                }
                _ => Ok(None),
            },
            Err(err) if condition_failed(&err) => {
                // The item as it is: one this API cannot name is left alone
                // and said so; otherwise the precondition was false.
                let current = match err.as_service_error() {
                    Some(DeleteItemError::ConditionalCheckFailedException(e)) => e.item.as_ref(),
                    _ => None,
                };
                match current.map(stored_from) {
                    Some(Err(unreadable)) => Err(unreadable.into()),
                    _ => Err(StoreError::ConditionFailed),
                }
            }
            Err(err) => Err(classify(err)),
        }
    }
}

/// Awaits an SDK call, within the time the invocation has left
/// ([`deadline::within`]): a call still running when it runs out is dropped
/// and the store is [`StoreError::Unavailable`], so the invocation still
/// answers (503) before its deadline.
///
/// The call is awaited from the heap: the SDK's operation futures are large
/// (tens of KB); boxed here, every future above the store (use case,
/// adapter, entry point, runtime) stays small, so creating and moving one
/// per invocation copies a few hundred bytes instead of the SDK's state.
/// (Boxed before the first poll: an `async fn` would hold the call inline.)
fn bounded<F: Future>(call: F) -> impl Future<Output = Result<F::Output, StoreError>> {
    let call: Pin<Box<F>> = Box::pin(call);
    async move { deadline::within(call).await.map_err(out_of_time) }
}

fn out_of_time(expired: deadline::Expired) -> StoreError {
    StoreError::Unavailable(expired.to_string())
}

/// The traces' signer fetches container credentials as the client does.
#[cfg(feature = "otel")]
pub(crate) use credentials::ContainerCredentials;
