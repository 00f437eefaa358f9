//! Configuration from the environment, read once at start-up.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

use crate::store::{DynamoDbStore, JOB_TITLE_INDEX};
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`, required.
    pub table_name: String,
    /// `JOB_TITLE_INDEX`: the job-title index's name, `JobTitleIndex` when
    /// unset; set it empty for a table without the index (listings by job
    /// title then scan with a filter).
    pub job_title_index: Option<String>,
    /// `DYNAMODB_CONNECT_AT_INIT`: open the DynamoDB connection during init
    /// ([`Config::open_store`]); on unless set to `false`.
    pub connect_at_init: bool,
    pub dynamodb: DynamoDbSettings,
}

/// Where and as whom the DynamoDB client connects, from the variables the
/// Lambda runtime sets.
///
/// The functions read these themselves rather than through `aws-config`'s
/// provider chains: on Lambda the region and the role's credentials are
/// always in the environment, and building the default chains (profile
/// files, SSO, web identity with an STS client of its own, IMDS) took about
/// an eighth of the cold start's CPU, for providers that never answer there
/// (README, "Performance").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoDbSettings {
    /// `AWS_REGION` (Lambda's), else `AWS_DEFAULT_REGION`.
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for a role's
    /// temporary credentials as on Lambda, `AWS_SESSION_TOKEN`.
    pub credentials: Credentials,
    /// `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL` (DynamoDB Local),
    /// unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`.
    pub endpoint_url: Option<String>,
    /// `AWS_USE_FIPS_ENDPOINT` is `true`.
    pub use_fips: bool,
    /// `AWS_USE_DUALSTACK_ENDPOINT` is `true`.
    pub use_dual_stack: bool,
    /// Which root certificates the client trusts.
    pub trust: Trust,
}

/// The root certificates the DynamoDB client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The roots of Amazon Trust Services, which sign DynamoDB's endpoints,
    /// compiled in (`amazon-trust-services.pem`). Loading the system's ~140
    /// roots instead costs about 1.3 ms of CPU before the first handshake —
    /// 18 ms at 128 MB (README, "Performance").
    AmazonTrustServices,
    /// The system's roots, or those of `SSL_CERT_FILE` / `SSL_CERT_DIR`:
    /// chosen when either variable is set, e.g. for a TLS-inspecting proxy,
    /// a DynamoDB-compatible endpoint with its own CA, or a Region whose
    /// endpoints are not signed by Amazon Trust Services.
    System,
}

/// The PEM file behind [`Trust::AmazonTrustServices`].
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("amazon-trust-services.pem");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "TABLE_NAME is not set: set it to the DynamoDB table that holds the employees (template.yaml sets it on every function)"
    )]
    MissingTableName,
    #[error(
        "AWS_REGION is not set: Lambda always sets it; elsewhere export it (e.g. AWS_REGION=us-east-1)"
    )]
    MissingRegion,
    #[error(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: on Lambda they carry the function's role; \
         elsewhere export them (from a profile: eval \"$(aws configure export-credentials --format env)\"; \
         for DynamoDB Local any value will do)"
    )]
    MissingCredentials,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table_name = non_empty(&lookup, "TABLE_NAME").ok_or(ConfigError::MissingTableName)?;
        let job_title_index = match lookup("JOB_TITLE_INDEX") {
            None => Some(JOB_TITLE_INDEX.to_owned()),
            Some(index) if index.trim().is_empty() => None,
            Some(index) => Some(index.trim().to_owned()),
        };
        let connect_at_init = !non_empty(&lookup, "DYNAMODB_CONNECT_AT_INIT")
            .is_some_and(|v| v.eq_ignore_ascii_case("false"));
        let dynamodb = DynamoDbSettings::from_lookup(lookup)?;
        Ok(Self { table_name, job_title_index, connect_at_init, dynamodb })
    }

    /// What each function does at init: [`Config::store`], then, unless
    /// `connect_at_init` is off, its connection to DynamoDB opened
    /// ([`DynamoDbStore::connect`]). A failure is logged, not fatal: the
    /// requests connect, retry and answer 503 as they always do.
    pub async fn open_store(&self) -> DynamoDbStore {
        let store = self.store();
        if self.connect_at_init {
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

    /// Builds the DynamoDB client (once per process) and the store on it.
    pub fn store(&self) -> DynamoDbStore {
        let client = Client::from_conf(self.dynamodb.client_config().build());
        DynamoDbStore::new(client, &self.table_name)
            .with_job_title_index(self.job_title_index.clone())
    }
}

impl DynamoDbSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let region = non_empty(&lookup, "AWS_REGION")
            .or_else(|| non_empty(&lookup, "AWS_DEFAULT_REGION"))
            .ok_or(ConfigError::MissingRegion)?;
        let (Some(access_key_id), Some(secret_access_key)) =
            (non_empty(&lookup, "AWS_ACCESS_KEY_ID"), non_empty(&lookup, "AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(ConfigError::MissingCredentials);
        };
        let session_token = non_empty(&lookup, "AWS_SESSION_TOKEN");
        let credentials =
            Credentials::new(access_key_id, secret_access_key, session_token, None, "environment");
        let is_true =
            |name| non_empty(&lookup, name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let endpoint_url = if is_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
            None
        } else {
            non_empty(&lookup, "AWS_ENDPOINT_URL_DYNAMODB")
                .or_else(|| non_empty(&lookup, "AWS_ENDPOINT_URL"))
        };
        let trust = if lookup("SSL_CERT_FILE").is_some() || lookup("SSL_CERT_DIR").is_some() {
            Trust::System
        } else {
            Trust::AmazonTrustServices
        };
        Ok(Self {
            region,
            credentials,
            endpoint_url,
            use_fips: is_true("AWS_USE_FIPS_ENDPOINT"),
            use_dual_stack: is_true("AWS_USE_DUALSTACK_ENDPOINT"),
            trust,
        })
    }

    /// The client configuration every function uses: these settings, the
    /// bounded retries and timeouts above, the DynamoDB call meter, and an
    /// HTTPS client on rustls with the *ring* crypto provider.
    pub fn client_config(&self) -> aws_sdk_dynamodb::config::Builder {
        let trust_store = match self.trust {
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
            .region(Region::new(self.region.clone()))
            .credentials_provider(self.credentials.clone())
            .use_fips(self.use_fips)
            .use_dual_stack(self.use_dual_stack)
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
            .interceptor(DynamoDbCallMeter);
        if let Some(endpoint_url) = &self.endpoint_url {
            builder = builder.endpoint_url(endpoint_url);
        }
        builder
    }
}

/// A variable's value, trimmed; unset and blank are the same.
fn non_empty(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the Lambda runtime sets for a function with `TABLE_NAME`.
    const LAMBDA: &[(&str, &str)] = &[
        ("TABLE_NAME", "Employees"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    /// `LAMBDA` with `changes` applied (an empty value unsets).
    fn config(changes: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            let value = changes.iter().chain(LAMBDA).find(|(k, _)| *k == name)?.1;
            (!value.is_empty()).then(|| value.to_owned())
        })
    }

    #[test]
    fn table_name_is_required_with_a_clear_message() {
        for blank in ["", "  "] {
            let err = config(&[("TABLE_NAME", blank)]).unwrap_err();
            assert!(err.to_string().starts_with("TABLE_NAME is not set"), "{err}");
        }
    }

    #[test]
    fn the_job_title_index_defaults_and_can_be_turned_off() {
        let c = config(&[]).unwrap();
        assert_eq!(c.table_name, "Employees");
        assert_eq!(c.job_title_index.as_deref(), Some("JobTitleIndex"));
        let c = config(&[("JOB_TITLE_INDEX", " ")]).unwrap();
        assert_eq!(c.job_title_index, None);
    }

    #[test]
    fn connecting_at_init_is_on_unless_turned_off() {
        assert!(config(&[]).unwrap().connect_at_init);
        assert!(config(&[("DYNAMODB_CONNECT_AT_INIT", "true")]).unwrap().connect_at_init);
        assert!(!config(&[("DYNAMODB_CONNECT_AT_INIT", "False")]).unwrap().connect_at_init);
    }

    #[test]
    fn region_and_credentials_come_from_the_lambda_environment() {
        let c = config(&[]).unwrap().dynamodb;
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(c.credentials.secret_access_key(), "secret");
        assert_eq!(c.credentials.session_token(), Some("token"));
        assert_eq!((c.endpoint_url, c.use_fips, c.use_dual_stack), (None, false, false));
        assert_eq!(c.trust, Trust::AmazonTrustServices);
        // Outside Lambda: the older region variable, long-term keys.
        let c = config(&[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "us-east-2")]).unwrap();
        assert_eq!(c.dynamodb.region, "us-east-2");
        let c = config(&[("AWS_SESSION_TOKEN", "")]).unwrap();
        assert_eq!(c.dynamodb.credentials.session_token(), None);
    }

    #[test]
    fn missing_region_or_credentials_say_how_to_set_them() {
        let err = config(&[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "")]).unwrap_err();
        assert!(matches!(err, ConfigError::MissingRegion), "{err}");
        assert!(err.to_string().contains("export it"), "{err}");
        for unset in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let err = config(&[(unset, "")]).unwrap_err();
            assert!(matches!(err, ConfigError::MissingCredentials), "{err}");
            assert!(err.to_string().contains("aws configure export-credentials"), "{err}");
        }
    }

    #[test]
    fn the_endpoint_and_its_switches_follow_the_sdk_variables() {
        let endpoint = |changes: &[(&str, &str)]| config(changes).unwrap().dynamodb.endpoint_url;
        assert_eq!(endpoint(&[("AWS_ENDPOINT_URL", "http://a")]).as_deref(), Some("http://a"));
        let both = [("AWS_ENDPOINT_URL", "http://a"), ("AWS_ENDPOINT_URL_DYNAMODB", "http://b")];
        assert_eq!(endpoint(&both).as_deref(), Some("http://b"));
        let ignored = [both[0], both[1], ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE")];
        assert_eq!(endpoint(&ignored), None);
        let flags = [("AWS_USE_FIPS_ENDPOINT", "true"), ("AWS_USE_DUALSTACK_ENDPOINT", "true")];
        let c = config(&flags).unwrap();
        assert!(c.dynamodb.use_fips && c.dynamodb.use_dual_stack);
        let built = c.dynamodb.client_config().build();
        assert_eq!(built.region().map(|r| r.as_ref()), Some("eu-west-1"));
    }

    #[test]
    fn a_certificate_variable_switches_to_the_system_roots() {
        for variable in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
            let c = config(&[(variable, "/etc/ssl/certs/ca-certificates.crt")]).unwrap();
            assert_eq!(c.dynamodb.trust, Trust::System, "{variable}");
        }
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
