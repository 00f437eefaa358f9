//! The DynamoDB store, on the original sample's schema: partition key
//! `EmployeeId` (S) and attribute `JobTitle` (S). Other attributes an item may
//! carry are ignored when reading.

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::retry::{ReconnectMode, RetryConfig};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};

use aws_sdk_dynamodb::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_types::body::SdkBody;
use serde::{Deserialize, Serialize};
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, from_items, to_item};

use super::{
    ListQuery, Page, PageKey, PutOutcome, StoreDelete, StoreError, StoreGet, StoreList, StorePut,
};
use crate::config::DYNAMODB_CONNECT_TIMEOUT;
use crate::employee::{Employee, EmployeeId, JobTitle};

/// How long [`DynamoDbStore::connect`] may take during init.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The global secondary index (`JobTitle` HASH, `EmployeeId` RANGE) that
/// `GET /employees?jobTitle=` queries.
pub const JOB_TITLE_INDEX: &str = "JobTitleIndex";

const ID: &str = "EmployeeId";
const TITLE: &str = "JobTitle";

/// An item as stored: the sample's attribute names.
#[derive(Serialize, Deserialize)]
struct Item {
    #[serde(rename = "EmployeeId")]
    id: String,
    #[serde(rename = "JobTitle")]
    job_title: String,
}

impl From<&Employee> for Item {
    fn from(e: &Employee) -> Self {
        Self { id: e.id.as_str().to_owned(), job_title: e.job_title.as_str().to_owned() }
    }
}

impl From<Item> for Employee {
    fn from(item: Item) -> Self {
        Employee::new(EmployeeId::from_stored(item.id), JobTitle::from_stored(item.job_title))
    }
}

#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
    /// `None` for a table without the index (such as the original sample's):
    /// job-title listings then scan with a filter instead of querying.
    job_title_index: Option<String>,
}

impl DynamoDbStore {
    /// `client` should be built once per process and reused: it holds the
    /// connection pool, so the TLS handshake is paid once per container.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), job_title_index: Some(JOB_TITLE_INDEX.to_owned()) }
    }

    pub fn with_job_title_index(mut self, index: Option<String>) -> Self {
        self.job_title_index = index;
        self
    }

    /// Opens the connection to DynamoDB (TCP and TLS) ahead of the first
    /// request, with one unsigned `GET /` on the client's own connection
    /// pool: the endpoint's health check (`healthy: dynamodb.<region>…`),
    /// which needs no permission and reads no item. The functions call it during init,
    /// which Lambda runs with burst CPU, so the first request does not pay
    /// the handshake on a 128 MB share of a vCPU.
    ///
    /// `Ok` once any answer came back (the connection is then pooled, open);
    /// an error if none did within [`CONNECT_TIMEOUT`], without retries.
    /// Either way the function goes on: requests connect as they always do.
    pub async fn connect(&self) -> Result<(), StoreError> {
        // The client's own connect timeout: the HTTP client keeps one
        // connection pool per connector setting, and this connection is
        // meant for the pool the requests use.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(DYNAMODB_CONNECT_TIMEOUT)
            .operation_timeout(CONNECT_TIMEOUT)
            .build();
        // Whatever the answer, keep the connection: the SDK would otherwise
        // close it after a 5xx or an unreadable body (DynamoDB Local answers
        // a bare `GET /` with a 500, DynamoDB with a line of text).
        let retries =
            RetryConfig::disabled().with_reconnect_mode(ReconnectMode::ReuseAllConnections);
        let once =
            aws_sdk_dynamodb::Config::builder().retry_config(retries).timeout_config(timeouts);
        let result = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(ID, AttributeValue::S("connect".to_owned()))
            .customize()
            .config_override(once)
            .interceptor(HealthCheck)
            .send()
            .await;
        match result {
            // Whatever came back, an answer means an open connection.
            Ok(_) | Err(SdkError::ServiceError(_) | SdkError::ResponseError(_)) => Ok(()),
            Err(err) => Err(StoreError::Unavailable(format!("{err:?}"))),
        }
    }

    fn key(id: &EmployeeId) -> HashMap<String, AttributeValue> {
        HashMap::from([(ID.to_owned(), AttributeValue::S(id.as_str().to_owned()))])
    }

    fn item(employee: &Employee) -> Result<HashMap<String, AttributeValue>, StoreError> {
        to_item(Item::from(employee)).map_err(|e| StoreError::Internal(e.to_string()))
    }
}

/// Turns the operation it is attached to into DynamoDB's health check, a
/// bare, unsigned `GET /` on the same endpoint, just before it is sent
/// ([`DynamoDbStore::connect`]).
#[derive(Debug)]
struct HealthCheck;

/// What makes a request an API call, and signs it.
const API_HEADERS: [&str; 7] = [
    "x-amz-target",
    "content-type",
    "content-length",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

impl Intercept for HealthCheck {
    fn name(&self) -> &'static str {
        "HealthCheck"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        request.set_method("GET")?;
        *request.body_mut() = SdkBody::empty();
        for header in API_HEADERS {
            request.headers_mut().remove(header);
        }
        Ok(())
    }
}

fn employee_from(item: HashMap<String, AttributeValue>) -> Result<Employee, StoreError> {
    from_item::<Item>(item)
        .map(Employee::from)
        .map_err(|e| StoreError::Internal(format!("malformed item: {e}")))
}

/// Sorts an SDK error into what the caller can do about it. Conditional-check
/// failures are handled where a condition is set; everything transient
/// (throttling, 5xx, timeouts, broken connections) is `Unavailable` once the
/// SDK's bounded retries have run out.
fn classify<E>(err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + Debug,
{
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{err:?}"))
        }
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("Unknown");
            // Any 5xx is DynamoDB's own trouble (InternalFailure,
            // ServiceUnavailable…), whatever its code says.
            let transient = context.raw().status().is_server_error()
                || matches!(
                    code,
                    "ThrottlingException"
                        | "ProvisionedThroughputExceededException"
                        | "RequestLimitExceeded"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                        | "LimitExceededException"
                );
            let detail = format!(
                "{code} (HTTP {}): {}",
                context.raw().status().as_u16(),
                context.err().message().unwrap_or_default()
            );
            if transient { StoreError::Unavailable(detail) } else { StoreError::Internal(detail) }
        }
        _ => StoreError::Internal(format!("{err:?}")),
    }
}

impl StoreGet for DynamoDbStore {
    async fn get(&self, id: &EmployeeId) -> Result<Option<Employee>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .send()
            .await
            .map_err(classify)?;
        output.item.map(employee_from).transpose()
    }
}

impl StorePut for DynamoDbStore {
    async fn create(&self, employee: &Employee) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(employee)?))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", ID)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::AlreadyExists(employee.id.clone()))
            }
            Err(err) => Err(classify(err)),
        }
    }

    async fn put(&self, employee: &Employee) -> Result<PutOutcome, StoreError> {
        let output = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(employee)?))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(classify)?;
        Ok(match output.attributes {
            Some(old) if !old.is_empty() => PutOutcome::Replaced,
            _ => PutOutcome::Created,
        })
    }
}

impl StoreDelete for DynamoDbStore {
    async fn delete(&self, id: &EmployeeId) -> Result<Option<Employee>, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(classify)?;
        match output.attributes {
            Some(old) if !old.is_empty() => employee_from(old).map(Some),
            _ => Ok(None),
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
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(index)
                    .key_condition_expression("#t = :t")
                    .expression_attribute_names("#t", TITLE)
                    .expression_attribute_values(":t", AttributeValue::S(title.clone()))
                    .limit(limit)
                    .set_exclusive_start_key(start)
                    .send()
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
                let output = scan.send().await.map_err(classify)?;
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

fn start_key(key: &PageKey) -> HashMap<String, AttributeValue> {
    HashMap::from([(ID.to_owned(), AttributeValue::S(key.employee_id.clone()))])
}

fn string_attr(item: &HashMap<String, AttributeValue>, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(StoreError::Internal(format!("key attribute {name} missing or not a string"))),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::operation::BuildError;

    use super::*;

    fn service_error_with_status(code: &str, status: u16) -> StoreError {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        let err: SdkError<ErrorMetadata, HttpResponse> = SdkError::service_error(meta, raw);
        classify(err)
    }

    fn service_error(code: &str) -> StoreError {
        service_error_with_status(code, 400)
    }

    #[test]
    fn transient_service_errors_are_unavailable() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "InternalServerError",
            "ServiceUnavailable",
        ] {
            assert!(matches!(service_error(code), StoreError::Unavailable(_)), "{code}");
        }
    }

    #[test]
    fn any_5xx_is_unavailable_whatever_its_code() {
        for code in ["InternalFailure", "Unknown", "ServiceUnavailableException"] {
            assert!(matches!(service_error_with_status(code, 500), StoreError::Unavailable(_)));
            assert!(matches!(service_error_with_status(code, 503), StoreError::Unavailable(_)));
        }
    }

    #[test]
    fn configuration_errors_are_internal() {
        for code in ["ResourceNotFoundException", "AccessDeniedException", "ValidationException"] {
            assert!(matches!(service_error(code), StoreError::Internal(_)), "{code}");
        }
        let err: SdkError<ErrorMetadata, HttpResponse> =
            SdkError::construction_failure(BuildError::missing_field("TableName", "required"));
        assert!(matches!(classify(err), StoreError::Internal(_)));
    }

    #[test]
    fn timeouts_and_io_failures_are_unavailable() {
        let err: SdkError<ErrorMetadata, HttpResponse> =
            SdkError::timeout_error("attempt timed out");
        assert!(matches!(classify(err), StoreError::Unavailable(_)));
    }
}
