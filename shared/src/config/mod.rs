//! Configuration: plain data, read once from the environment at start-up.
//! Building the DynamoDB client from it is the store's business
//! (`store::dynamodb::client`).

use std::time::Duration;

mod credentials;
#[cfg(test)]
pub(super) mod tests;

pub(crate) use credentials::credential_source;
pub use credentials::{ContainerEndpoint, ContainerToken, CredentialSource};

/// The job-title index `GET /employees?jobTitle=` queries when
/// `JOB_TITLE_INDEX` is unset.
pub const DEFAULT_JOB_TITLE_INDEX: &str = "JobTitleIndex";

/// How long an idempotency key's answer is kept when
/// `IDEMPOTENCY_RETENTION_HOURS` is unset: a day covers any client's
/// retries, as Stripe's keys do.
pub const DEFAULT_IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`, required.
    pub table_name: String,
    /// `JOB_TITLE_INDEX`: the job-title index's name, `JobTitleIndex` when
    /// unset; set it empty for a table without the index (listings by job
    /// title then scan with a filter).
    pub job_title_index: Option<String>,
    /// `DYNAMODB_CONNECT_AT_INIT`: open the DynamoDB connection during init
    /// (`DynamoDbStore::open`); on unless set to `false`.
    pub connect_at_init: bool,
    /// `IDEMPOTENCY_TABLE_NAME`: where keyed writes record their answers;
    /// unset, a request with an `Idempotency-Key` fails (500, logged).
    pub idempotency_table: Option<String>,
    /// `IDEMPOTENCY_RETENTION_HOURS` (a whole number, at least 1): how long
    /// a key's answer is replayed; 24 hours when unset.
    pub idempotency_retention: Duration,
    /// `REQUIRE_IF_MATCH`: `true` makes `PUT` and `DELETE` without a
    /// precondition a 428; off unless set to `true`.
    pub require_if_match: bool,
    pub dynamodb: DynamoDbSettings,
}

/// Where and as whom the DynamoDB client connects, from the variables the
/// Lambda runtime sets.
///
/// The functions read these themselves rather than through `aws-config`'s
/// provider chains: on Lambda the region is always in the environment, and
/// the role's credentials come in one of the two ways Lambda delivers them
/// ([`CredentialSource`]); building the default chains (profile files, SSO,
/// web identity with an STS client of its own, IMDS) took about an eighth
/// of the cold start's CPU, for providers that never answer there (docs/
/// performance.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoDbSettings {
    /// `AWS_REGION` (Lambda's), else `AWS_DEFAULT_REGION`.
    pub region: String,
    /// Where the role's credentials come from.
    pub credentials: CredentialSource,
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
    /// 18 ms at 128 MB (docs/performance.md).
    AmazonTrustServices,
    /// The system's roots, or those of `SSL_CERT_FILE` / `SSL_CERT_DIR`:
    /// chosen when either variable is set, e.g. for a TLS-inspecting proxy,
    /// a DynamoDB-compatible endpoint with its own CA, or a Region whose
    /// endpoints are not signed by Amazon Trust Services.
    System,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "TABLE_NAME is not set: set it to the DynamoDB table that holds the employees (template.yaml sets it on every function)"
    )]
    MissingTableName,
    #[error("IDEMPOTENCY_RETENTION_HOURS must be a whole number of hours from 1 to 8760")]
    InvalidRetention,
    #[error(
        "AWS_REGION is not set: Lambda always sets it; elsewhere export it (e.g. AWS_REGION=us-east-1)"
    )]
    MissingRegion,
    #[error(
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, nor AWS_CONTAINER_CREDENTIALS_FULL_URI: \
         on Lambda one or the other carries the function's role; \
         elsewhere export them (from a profile: eval \"$(aws configure export-credentials --format env)\"; \
         for DynamoDB Local any value will do)"
    )]
    MissingCredentials,
    #[error(
        "{0} is not a container credentials endpoint this function can use: it must be plain http:// on a loopback address, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23]"
    )]
    InvalidCredentialsEndpoint(String),
}

impl ConfigError {
    /// The stable name of the error, the `errorType` Lambda reports for a
    /// failed init (`Configuration.MissingTableName`…).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingTableName => "Configuration.MissingTableName",
            Self::InvalidRetention => "Configuration.InvalidIdempotencyRetention",
            Self::MissingRegion => "Configuration.MissingRegion",
            Self::MissingCredentials => "Configuration.MissingCredentials",
            Self::InvalidCredentialsEndpoint(_) => "Configuration.InvalidCredentialsEndpoint",
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table_name = non_empty(&lookup, "TABLE_NAME").ok_or(ConfigError::MissingTableName)?;
        let job_title_index = match lookup("JOB_TITLE_INDEX") {
            None => Some(DEFAULT_JOB_TITLE_INDEX.to_owned()),
            Some(index) if index.trim().is_empty() => None,
            Some(index) => Some(index.trim().to_owned()),
        };
        let connect_at_init = !non_empty(&lookup, "DYNAMODB_CONNECT_AT_INIT")
            .is_some_and(|v| v.eq_ignore_ascii_case("false"));
        let idempotency_table = non_empty(&lookup, "IDEMPOTENCY_TABLE_NAME");
        let idempotency_retention = match non_empty(&lookup, "IDEMPOTENCY_RETENTION_HOURS") {
            None => DEFAULT_IDEMPOTENCY_RETENTION,
            Some(hours) => hours
                .parse::<u64>()
                .ok()
                .filter(|h| (1..=8760).contains(h))
                .map(|h| Duration::from_secs(h * 3600))
                .ok_or(ConfigError::InvalidRetention)?,
        };
        let require_if_match =
            non_empty(&lookup, "REQUIRE_IF_MATCH").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let dynamodb = DynamoDbSettings::from_lookup(lookup)?;
        Ok(Self {
            table_name,
            job_title_index,
            connect_at_init,
            idempotency_table,
            idempotency_retention,
            require_if_match,
            dynamodb,
        })
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
        let credentials = credential_source(&lookup)?;
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
}

/// A variable's value, trimmed; unset and blank are the same.
fn non_empty(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}
