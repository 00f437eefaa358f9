//! Opening the connection to DynamoDB during init, before the first request
//! needs it.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::auth::{Params, ResolveAuthScheme};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::retry::{ReconnectMode, RetryConfig};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::{BoxError, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime::client::auth::no_auth::NO_AUTH_SCHEME_ID;
use aws_smithy_runtime_api::client::auth::{AuthSchemeOption, AuthSchemeOptionsFuture};
use aws_smithy_types::body::SdkBody;

use super::DynamoDbStore;
use super::client::DYNAMODB_CONNECT_TIMEOUT;
use super::items::ID;
use crate::config::Config;
use crate::store::StoreError;

/// How long [`DynamoDbStore::connect`] may take during init.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

impl DynamoDbStore {
    /// What each function does at init: builds the client and the store
    /// ([`DynamoDbStore::from_config`]), then, unless `connect_at_init` is
    /// off, opens its connection to DynamoDB ([`DynamoDbStore::connect`]). A
    /// failure is logged, not fatal: the requests connect, retry and answer
    /// 503 as they always do.
    pub async fn open(config: &Config) -> Self {
        let store = Self::from_config(config);
        if config.connect_at_init {
            let started = Instant::now();
            let outcome = store.connect().await;
            let connect_ms = started.elapsed().as_secs_f64() * 1000.0;
            match outcome {
                Ok(()) => tracing::info!(connect_ms, "connected to DynamoDB"),
                Err(err) => tracing::warn!(
                    connect_ms,
                    error.detail = %err,
                    "could not connect to DynamoDB during init; requests will connect"
                ),
            }
        }
        store
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
        // Nothing to sign: the health check goes out without credentials.
        let once = aws_sdk_dynamodb::Config::builder()
            .retry_config(retries)
            .timeout_config(timeouts)
            .auth_scheme_resolver(Unsigned);
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
}

/// Turns the operation it is attached to into DynamoDB's health check, a
/// bare, unsigned `GET /` on the same endpoint, just before it is sent
/// ([`DynamoDbStore::connect`]).
#[derive(Debug)]
struct HealthCheck;

/// Chooses no authentication for the health check, which goes out unsigned:
/// the SDK then neither derives a signing key nor signs (~160k instructions,
/// 3 % of the cold path, when it used to sign and the signature was
/// stripped).
#[derive(Debug)]
struct Unsigned;

impl ResolveAuthScheme for Unsigned {
    fn resolve_auth_scheme<'a>(
        &'a self,
        _params: &'a Params,
        _cfg: &'a ConfigBag,
        _runtime_components: &'a RuntimeComponents,
    ) -> AuthSchemeOptionsFuture<'a> {
        // Every client registers the scheme with this id.
        AuthSchemeOptionsFuture::ready(Ok(vec![AuthSchemeOption::from(NO_AUTH_SCHEME_ID)]))
    }
}

/// What makes a request an API call (it is not signed: [`Unsigned`]).
const API_HEADERS: [&str; 3] = ["x-amz-target", "content-type", "content-length"];

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
