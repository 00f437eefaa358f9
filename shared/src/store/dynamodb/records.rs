//! The idempotency table: one item per key (partition key `IdempotencyKey`,
//! S) with the request's `Fingerprint`, its answer ([`RecordItem`]), and
//! `ExpiresAt` (N, epoch seconds), the table's TTL attribute. DynamoDB deletes expired items within days, not at once, so
//! every condition also treats an item past `ExpiresAt` as absent.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::errors::classify;
use super::items::Expressions;
use super::record_item::RecordItem;
use super::{DynamoDbStore, IdempotencyTable, bounded, condition_failed};
use crate::idempotency::Record;
use crate::store::{RecordError, StoreError, StoreRecord, StoreTransact, TransactError, Write};

const KEY: &str = "IdempotencyKey";
const EXPIRES_AT: &str = "ExpiresAt";
/// A record may be written unless one lives under its key.
const RECORD_ABSENT: &str = "attribute_not_exists(#k) OR #exp < :now";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn record_from(item: &HashMap<String, AttributeValue>) -> Result<Record, StoreError> {
    from_item::<RecordItem>(item.clone())
        .map_err(|e| e.to_string())
        .and_then(RecordItem::into_record)
        .map_err(|e| StoreError::Internal(format!("malformed idempotency record: {e}")))
}

impl DynamoDbStore {
    fn idempotency_table(&self) -> Result<&IdempotencyTable, StoreError> {
        self.idempotency.as_ref().ok_or_else(|| {
            StoreError::Internal(
                "a keyed request, but IDEMPOTENCY_TABLE_NAME is not set (template.yaml sets it)"
                    .to_owned(),
            )
        })
    }

    /// The record as a conditional `Put` on the idempotency table.
    fn record_put(&self, record: &Record) -> Result<Put, StoreError> {
        let table = self.idempotency_table()?;
        let now = now();
        let item = RecordItem::new(record, now + table.retention.as_secs());
        Put::builder()
            .table_name(&table.name)
            .set_item(Some(to_item(item).map_err(|e| StoreError::Internal(e.to_string()))?))
            .condition_expression(RECORD_ABSENT)
            .expression_attribute_names("#k", KEY)
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Internal(e.to_string()))
    }

    /// The employee write of a keyed request: what the API owns set
    /// (`Update`, so other writers' attributes survive), or the item deleted.
    fn employee_write(&self, write: &Write) -> Result<TransactWriteItem, StoreError> {
        let built = match write {
            Write::Put { employee, version, expect } => {
                let update = Expressions::update(employee, *version, expect);
                let built = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(&employee.id)))
                    .set_update_expression(update.update)
                    .set_condition_expression(update.condition)
                    .set_expression_attribute_names(update.names)
                    .set_expression_attribute_values(update.values)
                    .build();
                built.map(|update| TransactWriteItem::builder().update(update).build())
            }
            Write::Delete { id, expect } => {
                let delete = Expressions::delete(expect);
                let built = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(id)))
                    .set_condition_expression(delete.condition)
                    .set_expression_attribute_names(delete.names)
                    .set_expression_attribute_values(delete.values)
                    .build();
                built.map(|delete| TransactWriteItem::builder().delete(delete).build())
            }
        };
        built.map_err(|e| StoreError::Internal(e.to_string()))
    }
}

impl StoreRecord for DynamoDbStore {
    async fn record(&self, record: &Record) -> Result<(), RecordError> {
        let put = self.record_put(record).map_err(RecordError::Store)?;
        let result = bounded(
            self.client
                .put_item()
                .table_name(put.table_name)
                .set_item(Some(put.item))
                .set_condition_expression(put.condition_expression)
                .set_expression_attribute_names(put.expression_attribute_names)
                .set_expression_attribute_values(put.expression_attribute_values)
                .return_values(ReturnValue::None)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send(),
        )
        .await
        .map_err(RecordError::Store)?;
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => {
                let existing = match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(e)) => e.item.as_ref(),
                    _ => None,
                };
                match existing {
                    Some(item) => {
                        Err(RecordError::Recorded(record_from(item).map_err(RecordError::Store)?))
                    }
                    None => Err(RecordError::Store(StoreError::Internal(
                        "the idempotency record's condition failed without the record".to_owned(),
                    ))),
                }
            }
            Err(err) => Err(RecordError::Store(classify(err))),
        }
    }
}

impl StoreTransact for DynamoDbStore {
    async fn transact(&self, record: &Record, write: &Write) -> Result<(), TransactError> {
        let record_put = self.record_put(record).map_err(TransactError::Store)?;
        let employee_write = self.employee_write(write).map_err(TransactError::Store)?;
        let result = bounded(
            self.client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(record_put).build())
                .transact_items(employee_write)
                .send(),
        )
        .await
        .map_err(TransactError::Store)?;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(canceled)) => {
                    Err(cancelled(canceled.cancellation_reasons()))
                }
                _ => Err(TransactError::Store(classify(err))),
            },
        }
    }
}

/// Why a transaction of [record, employee write] was cancelled, by item.
fn cancelled(reasons: &[CancellationReason]) -> TransactError {
    let code = |n: usize| reasons.get(n).and_then(CancellationReason::code).unwrap_or("None");
    if code(0) == "ConditionalCheckFailed" {
        return match reasons[0].item() {
            Some(item) => match record_from(item) {
                Ok(record) => TransactError::Recorded(record),
                Err(err) => TransactError::Store(err),
            },
            None => TransactError::Store(StoreError::Internal(
                "the idempotency record's condition failed without the record".to_owned(),
            )),
        };
    }
    if code(1) == "ConditionalCheckFailed" {
        return TransactError::ConditionFailed;
    }
    let codes: Vec<&str> = (0..reasons.len()).map(code).collect();
    if codes.contains(&"TransactionConflict") {
        return TransactError::Conflict;
    }
    let detail = format!("transaction cancelled: {codes:?}");
    if codes.iter().any(|c| c.contains("Throttl") || c.contains("ProvisionedThroughput")) {
        TransactError::Store(StoreError::Unavailable(detail))
    } else {
        TransactError::Store(StoreError::Internal(detail))
    }
}
