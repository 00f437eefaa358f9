//! The configuration, read from example environments.

use super::*;

/// What the Lambda runtime sets for a function with `TABLE_NAME`.
pub(super) const LAMBDA: &[(&str, &str)] = &[
    ("TABLE_NAME", "Employees"),
    ("AWS_REGION", "eu-west-1"),
    ("AWS_DEFAULT_REGION", "eu-west-1"),
    ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
    ("AWS_SESSION_TOKEN", "token"),
];

/// `LAMBDA` with `changes` applied (an empty value unsets).
pub(super) fn config(changes: &[(&str, &str)]) -> Result<Config, ConfigError> {
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
fn write_safety_settings_default_to_off_and_a_day() {
    let c = config(&[]).unwrap();
    assert_eq!(c.idempotency_table, None);
    assert_eq!(c.idempotency_retention, Duration::from_secs(86_400));
    assert!(!c.require_if_match);
    let c = config(&[
        ("IDEMPOTENCY_TABLE_NAME", "Keys"),
        ("IDEMPOTENCY_RETENTION_HOURS", "48"),
        ("REQUIRE_IF_MATCH", "TRUE"),
    ])
    .unwrap();
    assert_eq!(c.idempotency_table.as_deref(), Some("Keys"));
    assert_eq!(c.idempotency_retention, Duration::from_secs(48 * 3600));
    assert!(c.require_if_match);
    for bad in ["0", "-1", "1.5", "day", "8761"] {
        let err = config(&[("IDEMPOTENCY_RETENTION_HOURS", bad)]).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidRetention), "{bad}");
    }
}

#[test]
fn region_and_credentials_come_from_the_lambda_environment() {
    let c = config(&[]).unwrap().dynamodb;
    assert_eq!(c.region, "eu-west-1");
    let CredentialSource::Environment(credentials) = &c.credentials else {
        panic!("{:?}", c.credentials)
    };
    assert_eq!(credentials.access_key_id(), "ASIAEXAMPLE");
    assert_eq!(credentials.secret_access_key(), "secret");
    assert_eq!(credentials.session_token(), Some("token"));
    assert_eq!((c.endpoint_url, c.use_fips, c.use_dual_stack), (None, false, false));
    assert_eq!(c.trust, Trust::AmazonTrustServices);
    // Outside Lambda: the older region variable, long-term keys.
    let c = config(&[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "us-east-2")]).unwrap();
    assert_eq!(c.dynamodb.region, "us-east-2");
    let c = config(&[("AWS_SESSION_TOKEN", "")]).unwrap();
    let CredentialSource::Environment(credentials) = c.dynamodb.credentials else { panic!() };
    assert_eq!(credentials.session_token(), None);
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
}

#[test]
fn a_certificate_variable_switches_to_the_system_roots() {
    for variable in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
        let c = config(&[(variable, "/etc/ssl/certs/ca-certificates.crt")]).unwrap();
        assert_eq!(c.dynamodb.trust, Trust::System, "{variable}");
    }
}
