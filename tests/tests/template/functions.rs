//! The functions: arm64 Rust built by cargo lambda, traced by X-Ray, the
//! DynamoDB endpoint variable, and the write-safety parameters.

use std::collections::BTreeSet;

use employee_api_tests::template::{binary_of, functions, is_ref, template};
use employee_api_tests::workspace_root;
use serde_yaml_ng::Value;

#[test]
fn functions_are_small_arm64_rust_functions_built_by_cargo_lambda() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["MemorySize"].as_u64(), Some(128));
    assert!(globals["Timeout"].as_u64().is_some_and(|t| t <= 10));
    assert_eq!(template["Parameters"]["Architecture"]["Default"], "arm64");
    let mut binaries = BTreeSet::new();
    for (id, function) in functions(&template) {
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        assert_eq!(function["Properties"]["CodeUri"], ".", "{id}");
        binaries.insert(binary_of(function));
    }
    for binary in &binaries {
        let manifest = workspace_root().join("functions").join(binary).join("Cargo.toml");
        assert!(manifest.is_file(), "no crate for binary {binary}");
    }
    assert_eq!(binaries.len(), 3);
}

#[test]
fn functions_are_traced_by_x_ray() {
    let template = template();
    assert_eq!(template["Globals"]["Function"]["Tracing"], "Active");
    for (id, function) in functions(&template) {
        assert!(function["Properties"]["Tracing"].is_null(), "{id} overrides Tracing");
    }
}

#[test]
fn the_dynamodb_endpoint_variable_is_declared_for_sam_local_and_empty_when_deployed() {
    // `sam local` passes a function only the variables its template declares:
    // scripts/sam-local.sh sets this one to DynamoDB Local. Deployed it stays
    // empty, which the functions read as unset (the Region's endpoint).
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(variables["AWS_ENDPOINT_URL_DYNAMODB"], Value::String(String::new()));
    for (id, function) in functions(&template) {
        assert!(function["Properties"]["Environment"].is_null(), "{id} overrides Environment");
    }
}

#[test]
fn write_safety_is_configured_from_parameters_off_by_default() {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(is_ref(&variables["IDEMPOTENCY_TABLE_NAME"], "IdempotencyTable"));
    assert!(is_ref(&variables["IDEMPOTENCY_RETENTION_HOURS"], "IdempotencyRetentionHours"));
    assert!(is_ref(&variables["REQUIRE_IF_MATCH"], "RequireIfMatch"));
    let parameters = &template["Parameters"];
    assert_eq!(parameters["RequireIfMatch"]["Default"], "false");
    assert_eq!(parameters["IdempotencyRetentionHours"]["Default"].as_u64(), Some(24));
    // The range the functions accept (shared/src/config.rs).
    assert_eq!(parameters["IdempotencyRetentionHours"]["MinValue"].as_u64(), Some(1));
    assert_eq!(parameters["IdempotencyRetentionHours"]["MaxValue"].as_u64(), Some(8760));
}
