//! Listings: a `Query` on the job-title index, or a `Scan` (filtered
//! when there is no index), one page at a time; an item this API cannot
//! read is skipped and counted, never a failed page.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::classify;
use super::items::{ID, TITLE, Unreadable, stored_from};
use super::{DynamoDbStore, bounded};
use crate::store::{ListQuery, Page, PageKey, StoreError, StoreList};

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
                let output = bounded(
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
                .await?
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
                let output = bounded(scan.send()).await?.map_err(classify)?;
                (output.items, output.last_evaluated_key)
            }
        };
        // An item this API cannot read is skipped, logged and counted: a
        // page never fails for another writer's item, and the cursor (the
        // table's own last key) moves past it.
        let mut employees = Vec::new();
        let mut skipped = 0;
        for item in items.unwrap_or_default() {
            match stored_from(&item) {
                Ok(stored) => employees.push(stored.employee),
                Err(Unreadable { id, why }) => {
                    skipped += 1;
                    tracing::warn!(
                        employee = id,
                        reason = why,
                        "skipped an item this API cannot read"
                    );
                }
            }
        }
        let next = match last_key {
            Some(key) => Some(PageKey { employee_id: string_attr(&key, ID)?, job_title: title }),
            None => None,
        };
        Ok(Page { employees, next, skipped })
    }
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
