//! template.yaml against the code: the routes the local router serves, the
//! table the tests create, and least-privilege IAM. (cfn-lint, `sam validate
//! --lint` and `sam build` run from scripts/test.sh.)

use std::collections::{BTreeMap, BTreeSet};

use employee_api_tests::dynamodb_local::{client, fresh_table};
use employee_api_tests::workspace_root;
use serde_yaml_ng::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).expect("template.yaml is YAML")
}

fn resources(template: &Value) -> &serde_yaml_ng::Mapping {
    template["Resources"].as_mapping().expect("Resources")
}

/// `(logical id, resource)` of every `AWS::Serverless::Function`.
fn functions(template: &Value) -> Vec<(String, &Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
        .collect()
}

fn binary_of(function: &Value) -> String {
    function["Metadata"]["BuildProperties"]["Binary"].as_str().expect("Binary").to_owned()
}

/// Strings anywhere inside a value (through `!If`, `!Sub` and other tags).
fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Mapping(map) => map.iter().for_each(|(k, v)| {
            strings_in(k, out);
            strings_in(v, out);
        }),
        Value::Tagged(tagged) => {
            out.push(tagged.tag.to_string());
            strings_in(&tagged.value, out);
        }
        _ => {}
    }
}

#[test]
fn the_local_router_serves_exactly_the_templates_routes() {
    let template = template();
    let mut deployed = BTreeSet::new();
    for (_, function) in functions(&template) {
        for (_, event) in function["Properties"]["Events"].as_mapping().unwrap() {
            assert_eq!(event["Type"], "HttpApi");
            assert_eq!(event["Properties"]["PayloadFormatVersion"], "2.0");
            deployed.insert((
                event["Properties"]["Method"].as_str().unwrap().to_owned(),
                event["Properties"]["Path"].as_str().unwrap().to_owned(),
                binary_of(function),
            ));
        }
    }
    let cargo: toml::Table =
        std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap().parse().unwrap();
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"].as_table().unwrap();
    let mut local = BTreeSet::new();
    for (path, routes) in router {
        for route in routes.as_array().unwrap() {
            local.insert((
                route["method"].as_str().unwrap().to_owned(),
                path.clone(),
                route["function"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(local, deployed);
    assert_eq!(deployed.len(), 5);
}

#[test]
fn each_function_is_granted_only_the_dynamodb_actions_it_calls_on_its_own_table() {
    let expected: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::from([
        ("get-employee", BTreeSet::from(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"])),
        ("add-employee", BTreeSet::from(["dynamodb:PutItem"])),
        ("remove-employee", BTreeSet::from(["dynamodb:DeleteItem"])),
    ]);
    let template = template();
    let functions = functions(&template);
    assert_eq!(functions.len(), 3);
    for (id, function) in functions {
        let binary = binary_of(function);
        let policies = function["Properties"]["Policies"].as_sequence().expect("Policies");
        let mut actions = BTreeSet::new();
        for policy in policies {
            // An inline document, not a SAM policy template (DynamoDBCrudPolicy…).
            let statements = policy["Statement"].as_sequence().unwrap_or_else(|| {
                panic!("{id}: every policy must be an inline statement list, got {policy:?}")
            });
            for statement in statements {
                assert_eq!(statement["Effect"], "Allow", "{id}");
                for action in statement["Action"].as_sequence().unwrap() {
                    let action = action.as_str().unwrap();
                    assert!(!action.contains('*'), "{id}: wildcard action {action}");
                    actions.insert(action.to_owned());
                }
                let mut resource = Vec::new();
                strings_in(&statement["Resource"], &mut resource);
                assert!(
                    resource.iter().any(|s| s.contains("EmployeeTable")),
                    "{id}: resource is not the employee table: {resource:?}"
                );
                assert!(
                    resource.iter().all(|s| !s.contains('*')),
                    "{id}: wildcard resource {resource:?}"
                );
            }
        }
        let expected: BTreeSet<String> =
            expected[binary.as_str()].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(actions, expected, "{id}");
    }
}

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

#[tokio::test]
async fn the_tables_the_tests_create_have_the_templates_schema() {
    let template = template();
    let table = &resources(&template)["EmployeeTable"]["Properties"];
    let client = client().await;
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
