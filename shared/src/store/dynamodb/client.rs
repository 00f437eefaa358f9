//! The DynamoDB client every function builds once, at init, from the
//! configuration: bounded retries and timeouts, the call meter, and HTTPS on
//! rustls with the *ring* crypto provider.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::InterceptorContext;
use aws_sdk_dynamodb::config::retry::{ClassifyRetry, RetryAction, RetryConfig};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

use super::credentials::ContainerCredentials;
use crate::config::{CredentialSource, DynamoDbSettings, Trust};
use crate::telemetry::DynamoDbCallMeter;

/// How long one request may spend on DynamoDB, retries and back-off included.
/// The functions time out after 10 s (template.yaml): a request that cannot
/// reach DynamoDB answers 503 after at most this long, well before that.
pub const DYNAMODB_OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
/// One attempt. Generous enough for the first TLS handshake at 128 MB, where
/// the function gets a small share of a vCPU.
pub const DYNAMODB_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
pub const DYNAMODB_CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);
/// The sample's state machine retried twice (three attempts) with a 1.5×
/// back-off from 3 s; an HTTP API cannot wait that long, so the SDK's
/// exponential back-off with full jitter starts at 50 ms instead.
pub const DYNAMODB_MAX_ATTEMPTS: u32 = 3;
pub const DYNAMODB_INITIAL_BACKOFF: Duration = Duration::from_millis(50);
pub const DYNAMODB_MAX_BACKOFF: Duration = Duration::from_millis(800);

/// The PEM file behind [`Trust::AmazonTrustServices`].
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("amazon-trust-services.pem");

/// The client, built once per process: it holds the connection pool, so the
/// TLS handshake is paid once per container.
pub fn client(settings: &DynamoDbSettings) -> Client {
    Client::from_conf(client_config(settings).build())
}

/// The client configuration every function uses (tests build on it).
pub fn client_config(settings: &DynamoDbSettings) -> aws_sdk_dynamodb::config::Builder {
    let trust_store = match settings.trust {
        Trust::AmazonTrustServices => {
            TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
        }
        Trust::System => TrustStore::default(),
    };
    let tls_context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .expect("a TLS context only holds its settings");
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls_context)
        .build_https();
    let mut builder = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .use_fips(settings.use_fips)
        .use_dual_stack(settings.use_dual_stack)
        .http_client(https)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(DYNAMODB_MAX_ATTEMPTS)
                .with_initial_backoff(DYNAMODB_INITIAL_BACKOFF)
                .with_max_backoff(DYNAMODB_MAX_BACKOFF),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(DYNAMODB_CONNECT_TIMEOUT)
                .operation_attempt_timeout(DYNAMODB_ATTEMPT_TIMEOUT)
                .operation_timeout(DYNAMODB_OPERATION_TIMEOUT)
                .build(),
        )
        .retry_classifier(TransactionConflicts)
        .interceptor(DynamoDbCallMeter);
    builder = match &settings.credentials {
        CredentialSource::Environment(credentials) => {
            builder.credentials_provider(credentials.clone())
        }
        CredentialSource::Container(endpoint) => {
            builder.credentials_provider(ContainerCredentials::new(endpoint.clone()))
        }
    };
    if let Some(endpoint_url) = &settings.endpoint_url {
        builder = builder.endpoint_url(endpoint_url);
    }
    builder
}

/// Retries an `UpdateItem`, `PutItem` or `DeleteItem` refused with
/// `TransactionConflictException`: a keyed write's transaction holds the
/// item for milliseconds, so the SDK's bounded back-off outlasts it. (The
/// SDK's own classifiers do not know this code.)
#[derive(Debug)]
struct TransactionConflicts;

impl ClassifyRetry for TransactionConflicts {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let conflict = error.as_operation_error().is_some_and(|e| {
            e.downcast_ref::<UpdateItemError>()
                .is_some_and(UpdateItemError::is_transaction_conflict_exception)
                || e.downcast_ref::<PutItemError>()
                    .is_some_and(PutItemError::is_transaction_conflict_exception)
                || e.downcast_ref::<DeleteItemError>()
                    .is_some_and(DeleteItemError::is_transaction_conflict_exception)
        });
        if conflict { RetryAction::transient_error() } else { RetryAction::NoActionIndicated }
    }

    fn name(&self) -> &'static str {
        "TransactionConflicts"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_client_takes_the_configured_region() {
        let lookup = |name: &str| match name {
            "TABLE_NAME" => Some("Employees".to_owned()),
            "AWS_REGION" => Some("eu-west-1".to_owned()),
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("x".to_owned()),
            _ => None,
        };
        let config = Config::from_lookup(lookup).unwrap();
        let built = client_config(&config.dynamodb).build();
        assert_eq!(built.region().map(|r| r.as_ref()), Some("eu-west-1"));
    }

    /// The compiled-in roots are the five of Amazon Trust Services, and
    /// rustls accepts each as a trust anchor (the SDK's client panics on one
    /// it cannot parse).
    #[test]
    fn the_amazon_roots_are_valid_trust_anchors() {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        let roots = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(roots.len(), 5);
        let mut store = rustls::RootCertStore::empty();
        for root in roots {
            store.add(root).unwrap();
        }
        assert_eq!(store.len(), 5);
        for name in ["Amazon Root CA 1", "Amazon Root CA 4", "Starfield Services Root"] {
            assert!(AMAZON_TRUST_SERVICES_ROOTS.contains(&format!("# {name}")), "{name}");
        }
    }

    #[test]
    fn retries_answer_well_before_the_function_timeout() {
        // template.yaml: Timeout: 10
        let function_timeout = Duration::from_secs(10);
        assert!(DYNAMODB_OPERATION_TIMEOUT * 2 <= function_timeout);
        assert!(DYNAMODB_ATTEMPT_TIMEOUT < DYNAMODB_OPERATION_TIMEOUT);
    }
}
