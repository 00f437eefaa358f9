//! Configuration from the environment, read once at start-up.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader};
use aws_sdk_dynamodb::Client;

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
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "TABLE_NAME is not set: set it to the DynamoDB table that holds the employees (template.yaml sets it on every function)"
    )]
    MissingTableName,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table_name = lookup("TABLE_NAME")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(ConfigError::MissingTableName)?;
        let job_title_index = match lookup("JOB_TITLE_INDEX") {
            None => Some(JOB_TITLE_INDEX.to_owned()),
            Some(index) if index.trim().is_empty() => None,
            Some(index) => Some(index.trim().to_owned()),
        };
        Ok(Self { table_name, job_title_index })
    }

    /// Builds the DynamoDB client (once per process) and the store on it.
    /// The standard AWS variables apply: `AWS_REGION`, credentials, and
    /// `AWS_ENDPOINT_URL_DYNAMODB` for a local engine.
    pub async fn store(&self) -> DynamoDbStore {
        let sdk_config = sdk_config_loader().load().await;
        self.store_with(&sdk_config)
    }

    /// The store on an SDK configuration the caller loaded (tests point it
    /// at DynamoDB Local).
    pub fn store_with(&self, sdk_config: &aws_config::SdkConfig) -> DynamoDbStore {
        let client_config = aws_sdk_dynamodb::config::Builder::from(sdk_config)
            .interceptor(DynamoDbCallMeter)
            .build();
        DynamoDbStore::new(Client::from_conf(client_config), &self.table_name)
            .with_job_title_index(self.job_title_index.clone())
    }
}

/// The SDK configuration every function uses: the bounded retries and
/// timeouts above, on top of the standard environment (region, credentials,
/// endpoint overrides).
pub fn sdk_config_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn table_name_is_required_with_a_clear_message() {
        for vars in [&[][..], &[("TABLE_NAME", "  ")][..]] {
            let err = config(vars).unwrap_err();
            assert!(err.to_string().starts_with("TABLE_NAME is not set"), "{err}");
        }
    }

    #[test]
    fn the_job_title_index_defaults_and_can_be_turned_off() {
        let c = config(&[("TABLE_NAME", "Employees")]).unwrap();
        assert_eq!(c.table_name, "Employees");
        assert_eq!(c.job_title_index.as_deref(), Some("JobTitleIndex"));
        let c = config(&[("TABLE_NAME", "Employees"), ("JOB_TITLE_INDEX", "")]).unwrap();
        assert_eq!(c.job_title_index, None);
    }

    #[test]
    fn retries_answer_well_before_the_function_timeout() {
        // template.yaml: Timeout: 10
        let function_timeout = Duration::from_secs(10);
        assert!(DYNAMODB_OPERATION_TIMEOUT * 2 <= function_timeout);
        assert!(DYNAMODB_ATTEMPT_TIMEOUT < DYNAMODB_OPERATION_TIMEOUT);
    }
}
