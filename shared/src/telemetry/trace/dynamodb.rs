//! A client span per DynamoDB attempt, made by the call meter (the SDK
//! interceptor): started before the attempt is sent, ended when it has its
//! answer or failed, a child of the invocation span of the task that makes
//! the call. Attributes: the AWS SDK conventions (`rpc.system` `aws-api`,
//! `rpc.service` `DynamoDB`, `rpc.method`, `aws.dynamodb.table_names`,
//! `aws.request_id`, `cloud.region`), `http.response.status_code`,
//! `http.request.resend_count` on a retry, and on failure `error.type`:
//! DynamoDB's error code (`ProvisionedThroughputExceededException`,
//! `ThrottlingException`, `ConditionalCheckFailedException`,
//! `TransactionCanceledException`…), `timeout` (the attempt timed out),
//! `io` (the connection failed), or `cancelled` (the invocation's deadline
//! dropped the call mid-attempt).

use std::sync::Mutex;

use aws_sdk_dynamodb::config::ConfigBag;
use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::{
    delete_item::{DeleteItemError, DeleteItemInput},
    get_item::{GetItemError, GetItemInput},
    put_item::{PutItemError, PutItemInput},
    query::{QueryError, QueryInput},
    scan::{ScanError, ScanInput},
    transact_write_items::{TransactWriteItemsError, TransactWriteItemsInput},
    update_item::{UpdateItemError, UpdateItemInput},
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::Span;
use opentelemetry_semantic_conventions::attribute as semconv;

/// The `rpc.*` names the AWS SDK conventions keep (deprecated elsewhere).
const RPC_SYSTEM: &str = "rpc.system";
const RPC_SERVICE: &str = "rpc.service";

/// The tables a traced call names, read from its input before it is
/// serialized; kept in the call's configuration bag.
#[derive(Debug, Clone)]
pub(crate) struct CallTables(Vec<StringValue>);

impl Storable for CallTables {
    type Storer = StoreReplace<Self>;
}

impl CallTables {
    /// Records the call's tables when the running invocation is traced.
    pub(crate) fn record(
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) {
        if super::for_child().is_none() {
            return;
        }
        let input = context.input();
        let mut tables: Vec<StringValue> = Vec::with_capacity(1);
        let mut add = |name: Option<&str>| {
            if let Some(name) = name
                && !tables.iter().any(|t| t.as_str() == name)
            {
                tables.push(StringValue::from(name.to_owned()));
            }
        };
        if let Some(i) = input.downcast_ref::<GetItemInput>() {
            add(i.table_name());
        } else if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
            add(i.table_name());
        } else if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
            add(i.table_name());
        } else if let Some(i) = input.downcast_ref::<PutItemInput>() {
            add(i.table_name());
        } else if let Some(i) = input.downcast_ref::<QueryInput>() {
            add(i.table_name());
        } else if let Some(i) = input.downcast_ref::<ScanInput>() {
            add(i.table_name());
        } else if let Some(i) = input.downcast_ref::<TransactWriteItemsInput>() {
            for item in i.transact_items() {
                add(item.put().map(|w| w.table_name()));
                add(item.update().map(|w| w.table_name()));
                add(item.delete().map(|w| w.table_name()));
                add(item.condition_check().map(|w| w.table_name()));
            }
        }
        cfg.interceptor_state().store_put(CallTables(tables));
    }
}

/// The span of the attempt in flight, kept in the call's configuration bag;
/// ended by [`AttemptSpan::end`], or when dropped with the call (the
/// invocation's deadline dropped it mid-attempt).
#[derive(Debug)]
pub(crate) struct AttemptSpan(Mutex<Option<Span>>);

impl Storable for AttemptSpan {
    type Storer = StoreReplace<Self>;
}

impl AttemptSpan {
    /// Starts the span of the attempt about to be sent, when the running
    /// invocation is traced.
    pub(crate) fn start(cfg: &mut ConfigBag) {
        let Some((tracer, parent, region)) = super::for_child() else { return };
        let operation = cfg.load::<Metadata>().map_or("Unknown", Metadata::name).to_owned();
        let attempt = cfg.load::<RequestAttempts>().map_or(1, RequestAttempts::attempts);
        let mut attributes = vec![
            KeyValue::new(RPC_SYSTEM, "aws-api"),
            KeyValue::new(RPC_SERVICE, "DynamoDB"),
            KeyValue::new(semconv::RPC_METHOD, operation.clone()),
            KeyValue::new(semconv::CLOUD_REGION, region.to_owned()),
        ];
        if let Some(CallTables(tables)) = cfg.load::<CallTables>() {
            attributes.push(KeyValue::new(
                semconv::AWS_DYNAMODB_TABLE_NAMES,
                Value::Array(Array::String(tables.clone())),
            ));
        }
        if attempt > 1 {
            attributes
                .push(KeyValue::new(semconv::HTTP_REQUEST_RESEND_COUNT, i64::from(attempt - 1)));
        }
        let span = tracer
            .span_builder(format!("DynamoDB.{operation}"))
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        cfg.interceptor_state().store_put(AttemptSpan(Mutex::new(Some(span))));
    }

    /// Ends the attempt's span with what came back.
    pub(crate) fn end(context: &FinalizerInterceptorContextRef<'_>, cfg: &mut ConfigBag) {
        let Some(mut span) = cfg
            .load::<AttemptSpan>()
            .and_then(|held| held.0.lock().ok().and_then(|mut span| span.take()))
        else {
            return;
        };
        if let Some(response) = context.response() {
            span.set_attribute(KeyValue::new(
                semconv::HTTP_RESPONSE_STATUS_CODE,
                i64::from(response.status().as_u16()),
            ));
            if let Some(id) = response.headers().get("x-amzn-requestid") {
                span.set_attribute(KeyValue::new(semconv::AWS_REQUEST_ID, id.to_owned()));
            }
        }
        if let Some(Err(error)) = context.output_or_error() {
            let kind = if error.is_timeout_error() {
                "timeout".to_owned()
            } else if let Some(code) = error.as_operation_error().and_then(error_code) {
                code
            } else if error.is_connector_error() {
                "io".to_owned()
            } else {
                "_OTHER".to_owned()
            };
            span.set_status(Status::error(kind.clone()));
            span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, kind));
        }
        span.end();
    }
}

impl Drop for AttemptSpan {
    fn drop(&mut self) {
        if let Some(mut span) = self.0.get_mut().ok().and_then(Option::take) {
            span.set_status(Status::error("cancelled"));
            span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, "cancelled"));
            span.end();
        }
    }
}

/// DynamoDB's error code, from the operation's own error type.
fn error_code(
    error: &aws_smithy_runtime_api::client::interceptors::context::Error,
) -> Option<String> {
    macro_rules! code_of {
        ($($error:ty),*) => {
            $(if let Some(e) = error.downcast_ref::<$error>() {
                return e.code().map(str::to_owned);
            })*
        };
    }
    code_of!(
        GetItemError,
        UpdateItemError,
        DeleteItemError,
        PutItemError,
        QueryError,
        ScanError,
        TransactWriteItemsError
    );
    None
}
