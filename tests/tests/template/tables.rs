//! The tables: the employee table's retention and point-in-time recovery,
//! the schema of the tables the tests create, and the idempotency table.

use employee_api_tests::dynamodb_local::{self, client, fresh_table};
use employee_api_tests::template::{resources, template};
use serde_yaml_ng::Value;

#[test]
fn the_table_keeps_its_data_and_point_in_time_recovery() {
    let template = template();
    let table = &resources(&template)["EmployeeTable"];
    assert_eq!(table["DeletionPolicy"], "Retain");
    assert_eq!(table["UpdateReplacePolicy"], "Retain");
    assert_eq!(table["Properties"]["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
}

/// `(attribute, key type)` pairs of a CloudFormation `KeySchema`.
fn key_schema(value: &Value) -> Vec<(String, String)> {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_owned(),
                k["KeyType"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn the_tables_the_tests_create_have_the_templates_schema() {
    let template = template();
    let table = &resources(&template)["EmployeeTable"]["Properties"];
    let client = client();
    let name = fresh_table(&client).await;
    let described = client.describe_table().table_name(&name).send().await.unwrap();
    let described = described.table.unwrap();

    let local_keys: Vec<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
        .collect();
    assert_eq!(local_keys, key_schema(&table["KeySchema"]));

    let mut local_attributes: Vec<(String, String)> = described
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name().to_owned(), a.attribute_type().as_str().to_owned()))
        .collect();
    local_attributes.sort();
    let mut template_attributes: Vec<(String, String)> = table["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap().to_owned(),
                a["AttributeType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    template_attributes.sort();
    assert_eq!(local_attributes, template_attributes);

    let template_indexes = table["GlobalSecondaryIndexes"].as_sequence().unwrap();
    let local_indexes = described.global_secondary_indexes();
    assert_eq!(local_indexes.len(), template_indexes.len());
    for index in template_indexes {
        let local = local_indexes
            .iter()
            .find(|i| i.index_name() == index["IndexName"].as_str())
            .expect("index exists locally");
        let local_keys: Vec<(String, String)> = local
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
            .collect();
        assert_eq!(local_keys, key_schema(&index["KeySchema"]));
        assert_eq!(
            local.projection().and_then(|p| p.projection_type()).map(|p| p.as_str()),
            index["Projection"]["ProjectionType"].as_str()
        );
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn the_idempotency_table_expires_records_and_matches_the_tests_table() {
    let template = template();
    let table = &resources(&template)["IdempotencyTable"]["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], "ExpiresAt");
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    let client = client();
    let name = dynamodb_local::fresh_idempotency_table(&client).await;
    let described = client.describe_table().table_name(&name).send().await.unwrap();
    let local_keys: Vec<(String, String)> = described
        .table
        .unwrap()
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
        .collect();
    assert_eq!(local_keys, key_schema(&table["KeySchema"]));
}
