//! Helpers for the tests that cross crates: the local DynamoDB engine, fresh
//! tables, the API served by `cargo lambda watch`, and the proxies that put
//! faults or TLS in front of the engine.

pub mod botocore;
pub mod credentials_server;
pub mod dynamodb_local;
pub mod events;
pub mod fault_proxy;
pub mod invoke;
pub mod lambda_process;
pub mod lambda_watch;
pub mod malformed;
pub mod otlp_receiver;
pub mod process;
pub mod runtime_api;
pub mod stats;
pub mod template;
pub mod tls_proxy;

use std::path::PathBuf;

use employee_api::{Employee, EmployeeId, JobTitle};

/// The workspace root (the folder holding `template.yaml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// The command that installs everything the tests need into `.tools/`.
pub const INSTALL_HINT: &str = "./scripts/install-tools.sh";

/// A builder for the tests' HTTP client (plain HTTP to the local API).
///
/// Built together with the workspace's client crate, reqwest has its rustls
/// support on with no crypto provider of its own (the client chooses *ring*
/// explicitly), and `build()` would panic: install *ring*, the functions'
/// provider, as the process default first.
pub fn http_builder() -> reqwest::ClientBuilder {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// The tests' HTTP client (see [`http_builder`]).
pub fn http() -> reqwest::Client {
    http_builder().build().expect("an HTTP client")
}

/// An employee from a test's own valid parts.
pub fn employee(id: &str, title: &str) -> Employee {
    Employee::new(EmployeeId::parse(id).unwrap(), JobTitle::parse(title).unwrap())
}
