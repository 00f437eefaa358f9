//! Routes: the local router serves the template's routes, each function
//! exactly its own, and the API definition declares them.

use std::collections::BTreeSet;

use employee_api::route::RouteKey;
use employee_api::store::MemoryStore;
use employee_api_tests::events::http_event;
use employee_api_tests::invoke::request;
use employee_api_tests::template::{binary_of, functions, resources, routes, template};
use employee_api_tests::workspace_root;
use serde_yaml_ng::Value;

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

    // The contract declares the same routes…
    let openapi: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(workspace_root().join("openapi.yaml")).unwrap(),
    )
    .expect("openapi.yaml is YAML");
    let mut documented = BTreeSet::new();
    for (path, item) in openapi["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
                .contains(&method)
            {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let deployed_routes: BTreeSet<(String, String)> =
        deployed.iter().map(|(method, path, _)| (method.clone(), path.clone())).collect();
    assert_eq!(documented, deployed_routes, "openapi.yaml and template.yaml disagree");
    // …and so does the code's route table.
    let parsed: BTreeSet<(String, String)> = RouteKey::ALL
        .iter()
        .map(|key| (key.method().to_owned(), key.resource().path().to_owned()))
        .collect();
    assert_eq!(parsed, deployed_routes, "RouteKey::ALL and template.yaml disagree");
}

/// Each function serves exactly the routes the template sends it: asked for
/// any other route, it answers 405.
#[tokio::test]
async fn each_function_serves_exactly_the_routes_the_template_gives_it() {
    let store = MemoryStore::new();
    let template = template();
    for (_, function) in functions(&template) {
        let binary = binary_of(function);
        let given: BTreeSet<(String, String)> = function["Properties"]["Events"]
            .as_mapping()
            .unwrap()
            .values()
            .map(|event| {
                let properties = &event["Properties"];
                (
                    properties["Method"].as_str().unwrap().to_uppercase(),
                    properties["Path"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for key in RouteKey::ALL {
            let path = key.resource().path().replace("{employeeId}", "route-check");
            let body = r#"{"employee":"route-check","jobTitle":"Engineer"}"#;
            let event = http_event(key.method(), &path).json_body(body).build();
            let answer = request(&binary, &store, &event).await;
            let served =
                given.contains(&(key.method().to_owned(), key.resource().path().to_owned()));
            assert_eq!(
                answer.status() != 405,
                served,
                "{binary} answered {} to {}: {:?}",
                answer.status(),
                key.name(),
                answer.0
            );
        }
    }
}

#[test]
fn the_api_definition_declares_exactly_the_routes_the_functions_serve() {
    let template = template();
    let definition = &resources(&template)["EmployeeApi"]["Properties"]["DefinitionBody"];
    let mut declared = BTreeSet::new();
    for (path, operations) in definition["paths"].as_mapping().expect("paths") {
        for (method, _) in operations.as_mapping().unwrap() {
            declared.insert((
                method.as_str().unwrap().to_uppercase(),
                path.as_str().unwrap().to_owned(),
            ));
        }
    }
    let served: BTreeSet<(String, String)> =
        routes(&template).into_iter().map(|(method, path, _)| (method, path)).collect();
    assert_eq!(declared, served);
}
