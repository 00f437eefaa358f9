//! The DynamoDB client's trust store, over TLS to DynamoDB Local.
//!
//! By default the functions trust only the Amazon Trust Services roots
//! compiled into them (`shared/src/amazon-trust-services.pem`); with
//! `SSL_CERT_FILE` (or `SSL_CERT_DIR`) set they trust that store instead.
//! A server whose certificate chains to an authority they do not trust must
//! be refused, and the refusal must reach the caller as a bounded 503, not a
//! panic or a hang.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use employee_api::config::{Config, Trust};
use employee_api::employee::EmployeeId;
use employee_api::store::{DynamoDbStore, StoreError, StoreGet};
use employee_api_tests::dynamodb_local::{
    self, ACCESS_KEY, REGION, SECRET_KEY, client, fresh_table, put_items,
};
use employee_api_tests::tls_proxy::{self, TlsProxy};

/// A fresh table holding employee 42, and a TLS endpoint in front of the
/// engine whose CA file is written into a folder named after `test`.
async fn table_behind_tls(test: &str) -> (String, TlsProxy, PathBuf) {
    let client = client();
    let table = fresh_table(&client).await;
    put_items(&client, &table, &[("42", "Engineer")]).await;
    let dir = std::env::temp_dir().join(format!("employee-api-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tls = tls_proxy::start(dynamodb_local::endpoint(), &dir).unwrap();
    (table, tls, dir)
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn the_compiled_in_roots_refuse_a_server_they_did_not_sign() {
    let (table, tls, dir) = table_behind_tls("tls-refused").await;

    let mut config = dynamodb_local::config(&table);
    config.dynamodb.endpoint_url = Some(tls.endpoint.clone());
    assert_eq!(config.dynamodb.trust, Trust::AmazonTrustServices);
    let store = DynamoDbStore::from_config(&config);
    let started = Instant::now();
    let err = store.get(&EmployeeId::parse("42").unwrap()).await.unwrap_err();
    let elapsed = started.elapsed();

    let StoreError::Unavailable(detail) = &err else { panic!("{err:?}") };
    assert!(detail.contains("UnknownIssuer"), "{detail}");
    // Within the functions' timeout (template.yaml: 10 s), retries included.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Marks what the child below found, in its output.
const RESULT: &str = "tls-child-result:";

/// The functions' start-up, `Config::from_env`, in a child process whose
/// environment the test below sets: one read of employee 42, printed.
#[tokio::test]
#[ignore = "not a test of its own: the_certificate_variables_choose_the_trust_store runs it in a child process"]
async fn child_reads_employee_42_as_configured_by_its_environment() {
    let store =
        DynamoDbStore::from_config(&Config::from_env().expect("the parent sets the environment"));
    match store.get(&EmployeeId::parse("42").unwrap()).await {
        Ok(Some(employee)) => println!("{RESULT} found {}", employee.job_title.as_str()),
        Ok(None) => println!("{RESULT} not found"),
        Err(err) => println!("{RESULT} error {err:?}"),
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread")]
async fn the_certificate_variables_choose_the_trust_store() {
    let (table, tls, dir) = table_behind_tls("tls-env").await;

    let endpoint = tls.endpoint.clone();
    let ca_file = tls.ca_file.clone();
    let child = move |certificates: Option<(&str, &Path)>| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--ignored", "--exact", "--nocapture"])
            .arg("child_reads_employee_42_as_configured_by_its_environment")
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .env("TABLE_NAME", &table)
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoint);
        if let Some((variable, value)) = certificates {
            command.env(variable, value);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        stdout.lines().find_map(|l| l.strip_prefix(RESULT)).map(str::trim).map(str::to_owned)
    };
    let (found, refused) = tokio::task::spawn_blocking(move || {
        (child(Some(("SSL_CERT_FILE", &ca_file))), child(None))
    })
    .await
    .unwrap();
    // SSL_CERT_FILE names a store holding the proxy's authority: trusted.
    assert_eq!(found.as_deref(), Some("found Engineer"));
    // Neither variable: the compiled-in roots, which never signed it.
    let refused = refused.unwrap_or_default();
    assert!(
        refused.starts_with("error Unavailable") && refused.contains("UnknownIssuer"),
        "{refused}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
