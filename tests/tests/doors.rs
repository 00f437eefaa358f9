//! Every id the HTTP API accepts reaches the same record through every door
//! (API Gateway with the template's routes or a `$default` route, a
//! function URL, `cargo lambda watch`, `sam local start-api`), each
//! delivering the path its own way (`events/doors/`), in process against
//! DynamoDB Local. The same ids run over HTTP through `cargo lambda watch`
//! (`api.rs`) and `sam local start-api` (`scripts/sam_local_checks.py`).

use employee_api::store::DynamoDbStore;
use employee_api_tests::dynamodb_local::{self, client, fresh_table, put_items};
use employee_api_tests::events::{Door, http_event};
use employee_api_tests::invoke::{HttpAnswer, invoke, request};
use serde_json::{Value, json};

/// Ids whose paths a second decoding would turn into another id, and the
/// decoys that second decoding would reach instead.
const IDS: &[(&str, &str)] = &[
    ("a%41", "aA"),
    ("100%", "100"),
    ("x%2541", "x%41"),
    ("a+b", "a b"),
    ("ü ñ", "ü%20ñ"),
    ("Zoë #1", "Zoë "),
];

fn store(table: &str) -> DynamoDbStore {
    DynamoDbStore::from_config(&dynamodb_local::config(table))
}

async fn send(
    store: &DynamoDbStore,
    door: Door,
    method: &str,
    path: &str,
    body: Value,
) -> HttpAnswer {
    let mut event = http_event(method, path).door(door);
    if !body.is_null() {
        event = event.json_body(body.to_string());
    }
    let function = employee_api_tests::invoke::function_for(method);
    request(function, store, &event.build()).await
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn every_id_is_created_read_replaced_and_deleted_through_every_door_and_no_decoy_is_touched()
{
    let client = client();
    for door in Door::ALL {
        let table = fresh_table(&client).await;
        let decoys: Vec<(&str, &str)> = IDS.iter().map(|(_, decoy)| (*decoy, "Decoy")).collect();
        put_items(&client, &table, &decoys).await;
        let store = store(&table);
        for (id, _) in IDS {
            let what = format!("{id:?} through {door:?}");
            let created = send(
                &store,
                door,
                "POST",
                "/employees",
                json!({"employee": id, "jobTitle": "Real"}),
            )
            .await;
            assert_eq!(created.status(), 201, "{what}: {:?}", created.0);
            let location = created.header("location").to_owned();
            assert!(door.delivers(&location), "{what}: {location}");

            let read = send(&store, door, "GET", &location, Value::Null).await;
            assert_eq!(read.status(), 200, "{what}: GET {location}");
            assert_eq!(read.body(), json!({"employee": id, "jobTitle": "Real"}), "{what}");

            let replaced =
                send(&store, door, "PUT", &location, json!({"jobTitle": "Replaced"})).await;
            assert_eq!(replaced.status(), 200, "{what}: PUT {location}: {:?}", replaced.0);
            assert_eq!(replaced.body()["employee"], *id, "{what}");

            let removed = send(&store, door, "DELETE", &location, Value::Null).await;
            assert_eq!(removed.status(), 200, "{what}: DELETE {location}");
            assert_eq!(removed.body(), json!({"employee": id, "jobTitle": "Replaced"}), "{what}");
            let gone = send(&store, door, "GET", &location, Value::Null).await;
            assert_eq!(gone.status(), 404, "{what}");

            // PUT creates at the id of the path too.
            let put = send(&store, door, "PUT", &location, json!({"jobTitle": "Put"})).await;
            assert_eq!((put.status(), put.header("location")), (201, location.as_str()), "{what}");
            let removed = send(&store, door, "DELETE", &location, Value::Null).await;
            assert_eq!(removed.status(), 200, "{what}");
        }
        let mut held: Vec<(String, String)> = dynamodb_local::all_items(&client, &table)
            .await
            .iter()
            .map(|item| {
                let text = |name: &str| item[name].as_s().unwrap().clone();
                (text("EmployeeId"), text("JobTitle"))
            })
            .collect();
        held.sort();
        let mut expected: Vec<(String, String)> =
            decoys.iter().map(|(id, title)| ((*id).to_owned(), (*title).to_owned())).collect();
        expected.sort();
        assert_eq!(held, expected, "through {door:?}, only the decoys are left, unchanged");
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn each_door_fixture_reaches_the_employee_it_names_and_not_its_decoy() {
    let client = client();
    let table = fresh_table(&client).await;
    put_items(&client, &table, &[("a%41", "Real"), ("aA", "Decoy")]).await;
    let store = store(&table);
    for (file, door) in [
        ("api-gateway-http-api.json", Door::ApiGateway),
        ("function-url.json", Door::FunctionUrl),
        ("cargo-lambda-watch.json", Door::CargoLambdaWatch),
        ("sam-local-start-api.json", Door::SamLocalStartApi),
    ] {
        assert_eq!(door.fixture(), fixture(file), "{file}");
        let answer = HttpAnswer(invoke("get-employee", &store, &fixture(file)).await.unwrap());
        assert_eq!(answer.status(), 200, "{file}: {:?}", answer.0);
        assert_eq!(answer.body(), json!({"employee": "a%41", "jobTitle": "Real"}), "{file}");
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn an_id_api_gateway_cannot_carry_is_refused_when_created_and_says_why() {
    let client = client();
    let table = fresh_table(&client).await;
    let store = store(&table);
    for door in Door::ALL {
        for (method, path, body) in [
            ("POST", "/employees", json!({"employee": "a?b", "jobTitle": "x"})),
            ("POST", "/employees", json!({"employee": "a/b", "jobTitle": "x"})),
            ("PUT", "/employees/a%3Fb", json!({"jobTitle": "x"})),
        ] {
            if !door.delivers(path) {
                continue;
            }
            let answer = send(&store, door, method, path, body).await;
            assert_eq!(answer.status(), 400, "{method} {path} through {door:?}");
            let message = answer.body()["message"].as_str().unwrap_or_default().to_owned();
            assert!(message.contains("over HTTP"), "{message}");
        }
    }
    assert!(dynamodb_local::all_items(&client, &table).await.is_empty());
    // The direct-invocation door takes such ids, as the sample's did.
    let created = invoke("add-employee", &store, &json!({"employee": "a?b/c", "jobTitle": "x"}))
        .await
        .unwrap();
    assert_eq!(created, json!({"employee": "a?b/c", "jobTitle": "x"}));
    let read = invoke("get-employee", &store, &json!({"employee": "a?b/c"})).await.unwrap();
    assert_eq!(read["employee"], "a?b/c");
}

fn fixture(name: &str) -> Value {
    let path = employee_api_tests::workspace_root().join("events/doors").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}
