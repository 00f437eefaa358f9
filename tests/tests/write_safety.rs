//! Conditional writes (ETag, If-Match, If-None-Match) and idempotency keys,
//! through the functions' entry point on DynamoDB Local: each test has its
//! own employee table and idempotency table. The same behaviours over HTTP,
//! under concurrency and faults, are in `write_safety_http.rs`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use employee_api::functions::WriteRules;
use employee_api::store::DynamoDbStore;
use employee_api_tests::dynamodb_local::{
    self, all_items, client, fresh_idempotency_table, fresh_table, put_items,
};
use employee_api_tests::events::http_event;
use employee_api_tests::invoke::{HttpAnswer, assert_error, invoke, invoke_with_rules, request};
use lambda_runtime::Context;
use serde_json::{Value, json};

struct Tables {
    client: Client,
    table: String,
    keys: String,
    store: DynamoDbStore,
}

async fn tables() -> Tables {
    let client = client();
    let table = fresh_table(&client).await;
    let keys = fresh_idempotency_table(&client).await;
    let store = DynamoDbStore::from_config(&dynamodb_local::keyed_config(&table, &keys));
    Tables { client, table, keys, store }
}

fn put_event(id: &str, title: &str) -> employee_api_tests::events::HttpEvent {
    http_event("PUT", &format!("/employees/{id}")).json_body(json!({"jobTitle": title}).to_string())
}

fn post_event(id: &str, title: &str) -> employee_api_tests::events::HttpEvent {
    http_event("POST", "/employees")
        .json_body(json!({"employee": id, "jobTitle": title}).to_string())
}

impl Tables {
    async fn send(
        &self,
        function: &str,
        event: employee_api_tests::events::HttpEvent,
    ) -> HttpAnswer {
        request(function, &self.store, &event.build()).await
    }

    async fn get(&self, id: &str) -> HttpAnswer {
        self.send("get-employee", http_event("GET", &format!("/employees/{id}"))).await
    }

    async fn items(&self) -> Vec<(String, String)> {
        all_items(&self.client, &self.table)
            .await
            .into_iter()
            .map(|item| {
                let s = |name: &str| match &item[name] {
                    AttributeValue::S(s) => s.clone(),
                    other => panic!("{name}: {other:?}"),
                };
                (s("EmployeeId"), s("JobTitle"))
            })
            .collect()
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn get_returns_an_etag_and_a_put_with_it_replaces_and_returns_a_new_one() {
    let t = tables().await;
    let created = t.send("add-employee", post_event("1", "Engineer")).await;
    assert_eq!(created.status(), 201);
    let etag = t.get("1").await.header("etag").to_owned();
    assert_eq!(created.header("etag"), etag);
    assert!(etag.starts_with("\"v") && etag.ends_with('"'), "{etag}");

    let replaced =
        t.send("add-employee", put_event("1", "Manager").header("if-match", &etag)).await;
    assert_eq!(replaced.status(), 200);
    assert_eq!(replaced.body(), json!({"employee": "1", "jobTitle": "Manager"}));
    let new_etag = replaced.header("etag");
    assert_ne!(new_etag, etag);
    assert_eq!(t.get("1").await.header("etag"), new_etag);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_put_or_delete_with_a_stale_etag_is_412_and_writes_nothing() {
    let t = tables().await;
    t.send("add-employee", post_event("2", "Engineer")).await;
    let stale = t.get("2").await.header("etag").to_owned();
    t.send("add-employee", put_event("2", "Manager")).await;

    let put =
        t.send("add-employee", put_event("2", "Lost update").header("if-match", &stale)).await;
    assert_error(&put, 412, "PreconditionFailed");
    let delete =
        t.send("remove-employee", http_event("DELETE", "/employees/2").header("If-Match", &stale));
    assert_error(&delete.await, 412, "PreconditionFailed");
    // A weak tag never matches, even the current one (strong comparison).
    let current = t.get("2").await.header("etag").to_owned();
    let weak =
        t.send("add-employee", put_event("2", "Weak").header("if-match", &format!("W/{current}")));
    assert_error(&weak.await, 412, "PreconditionFailed");
    assert_eq!(t.items().await, [("2".to_owned(), "Manager".to_owned())]);

    let listed = format!("\"v1\", {stale}, {current}");
    let delete =
        t.send("remove-employee", http_event("DELETE", "/employees/2").header("if-match", &listed));
    assert_eq!(delete.await.status(), 200);
    assert!(t.items().await.is_empty());
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn if_match_star_needs_an_employee_and_if_none_match_star_creates_only() {
    let t = tables().await;
    let star = t.send("add-employee", put_event("3", "Engineer").header("if-match", "*")).await;
    assert_error(&star, 412, "PreconditionFailed");
    let create =
        t.send("add-employee", put_event("3", "Engineer").header("if-none-match", "*")).await;
    assert_eq!(create.status(), 201);
    assert_eq!(create.header("location"), "/employees/3");
    let again = t.send("add-employee", put_event("3", "Other").header("if-none-match", "*")).await;
    assert_error(&again, 412, "PreconditionFailed");
    let star = t.send("add-employee", put_event("3", "Manager").header("if-match", "*")).await;
    assert_eq!(star.status(), 200);
    assert_eq!(t.items().await, [("3".to_owned(), "Manager".to_owned())]);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn an_item_written_by_another_client_without_a_version_is_updated_with_if_match() {
    let t = tables().await;
    put_items(&t.client, &t.table, &[("4", "Legacy title")]).await;
    let read = t.get("4").await;
    assert_eq!(read.status(), 200);
    let etag = read.header("etag").to_owned();
    assert!(etag.starts_with("\"c"), "a content tag: {etag}");

    // The other client changes it after our read: our tag no longer matches.
    put_items(&t.client, &t.table, &[("4", "Changed by the other client")]).await;
    let lost = t.send("add-employee", put_event("4", "Ours").header("if-match", &etag)).await;
    assert_error(&lost, 412, "PreconditionFailed");

    let etag = t.get("4").await.header("etag").to_owned();
    let updated = t.send("add-employee", put_event("4", "Ours").header("if-match", &etag)).await;
    assert_eq!(updated.status(), 200, "{:?}", updated.0);
    assert!(updated.header("etag").starts_with("\"v"));
    assert_eq!(t.items().await, [("4".to_owned(), "Ours".to_owned())]);
    // The old content tag names a revision that is gone.
    let stale =
        t.send("remove-employee", http_event("DELETE", "/employees/4").header("if-match", &etag));
    assert_error(&stale.await, 412, "PreconditionFailed");
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_deleted_and_recreated_employee_never_matches_an_old_etag() {
    let t = tables().await;
    t.send("add-employee", post_event("5", "Engineer")).await;
    let old = t.get("5").await.header("etag").to_owned();
    t.send("remove-employee", http_event("DELETE", "/employees/5")).await;
    t.send("add-employee", post_event("5", "Engineer")).await;
    let put = t.send("add-employee", put_event("5", "Manager").header("if-match", &old)).await;
    assert_error(&put, 412, "PreconditionFailed");
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn require_if_match_refuses_unconditional_puts_and_deletes_with_428() {
    let t = tables().await;
    let rules = WriteRules { require_if_match: true };
    let call = |function: &'static str, event: Value| {
        let store = &t.store;
        async move {
            let answer = invoke_with_rules(function, store, &event, Context::default(), rules);
            HttpAnswer(answer.await.unwrap())
        }
    };
    assert_eq!(call("add-employee", post_event("6", "Engineer").build()).await.status(), 201);
    let put = call("add-employee", put_event("6", "Manager").build()).await;
    assert_error(&put, 428, "PreconditionRequired");
    let delete = call("remove-employee", http_event("DELETE", "/employees/6").build()).await;
    assert_error(&delete, 428, "PreconditionRequired");
    let etag = t.get("6").await.header("etag").to_owned();
    let put = call("add-employee", put_event("6", "Manager").header("if-match", &etag).build());
    assert_eq!(put.await.status(), 200);
    let create = call("add-employee", put_event("7", "New").header("if-none-match", "*").build());
    assert_eq!(create.await.status(), 201);
    // Direct invocations keep the state machines' contract.
    let input = json!({"employee": "7"});
    let removed =
        invoke_with_rules("remove-employee", &t.store, &input, Context::default(), rules).await;
    assert_eq!(removed.unwrap(), json!({"employee": "7", "jobTitle": "New"}));
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_keyed_post_retried_replays_its_201_and_writes_once() {
    let t = tables().await;
    let event = || post_event("10", "Engineer").header("Idempotency-Key", "\"8e03978e-40d5\"");
    let first = t.send("add-employee", event()).await;
    assert_eq!(first.status(), 201);
    assert_eq!(first.header("idempotent-replayed"), "");
    let retry = t.send("add-employee", event()).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.body(), first.body());
    assert_eq!(retry.header("location"), "/employees/10");
    assert_eq!(retry.header("etag"), first.header("etag"));
    assert_eq!(retry.header("idempotent-replayed"), "true");
    // The bare form of the same key is the same key.
    let bare = t.send(
        "add-employee",
        post_event("10", "Engineer").header("idempotency-key", "8e03978e-40d5"),
    );
    assert_eq!(bare.await.header("idempotent-replayed"), "true");
    assert_eq!(t.items().await, [("10".to_owned(), "Engineer".to_owned())]);
    assert_eq!(all_items(&t.client, &t.keys).await.len(), 1);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn the_same_key_with_another_request_is_422_and_writes_nothing() {
    let t = tables().await;
    let first =
        t.send("add-employee", post_event("11", "Engineer").header("idempotency-key", "k-11"));
    assert_eq!(first.await.status(), 201);
    let other =
        t.send("add-employee", post_event("12", "Engineer").header("idempotency-key", "k-11"));
    assert_error(&other.await, 422, "IdempotencyKeyReused");
    assert_eq!(t.items().await, [("11".to_owned(), "Engineer".to_owned())]);
    // Keys are scoped per route: the same key on PUT is another key.
    let put = t.send("add-employee", put_event("11", "Manager").header("idempotency-key", "k-11"));
    assert_eq!(put.await.status(), 200);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_final_error_is_recorded_and_replayed_for_its_key() {
    let t = tables().await;
    t.send("add-employee", post_event("13", "Engineer")).await;
    let conflict =
        t.send("add-employee", post_event("13", "Impostor").header("idempotency-key", "k-13"));
    assert_error(&conflict.await, 409, "EmployeeAlreadyExists");
    t.send("remove-employee", http_event("DELETE", "/employees/13")).await;
    // The id is free now, but the key's answer was final: replayed, not redone.
    let retry = t
        .send("add-employee", post_event("13", "Impostor").header("idempotency-key", "k-13"))
        .await;
    assert_error(&retry, 409, "EmployeeAlreadyExists");
    assert_eq!(retry.header("idempotent-replayed"), "true");
    assert!(t.items().await.is_empty());
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_keyed_put_creates_then_replaces_and_replays_each_answer() {
    let t = tables().await;
    let put = |title: &str, key: &str| put_event("14", title).header("idempotency-key", key);
    let created = t.send("add-employee", put("Engineer", "a")).await;
    assert_eq!((created.status(), created.header("location")), (201, "/employees/14"));
    let replaced = t.send("add-employee", put("Manager", "b")).await;
    assert_eq!(replaced.status(), 200);
    assert_eq!(t.get("14").await.header("etag"), replaced.header("etag"));
    let again = t.send("add-employee", put("Engineer", "a")).await;
    assert_eq!((again.status(), again.header("idempotent-replayed")), (201, "true"));
    assert_eq!(again.body(), created.body());
    assert_eq!(t.items().await, [("14".to_owned(), "Manager".to_owned())]);
    // With If-Match: a stale tag is a 412, recorded for the key.
    let stale = created.header("etag");
    let failed = t.send("add-employee", put("Director", "c").header("if-match", stale)).await;
    assert_error(&failed, 412, "PreconditionFailed");
    let current = t.get("14").await.header("etag").to_owned();
    let changed = put("Director", "c").header("if-match", &current);
    assert_error(&t.send("add-employee", changed).await, 422, "IdempotencyKeyReused");
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_retried_keyed_delete_gets_the_same_200_and_body() {
    let t = tables().await;
    t.send("add-employee", post_event("15", "Engineer")).await;
    let delete = || http_event("DELETE", "/employees/15").header("idempotency-key", "d-15");
    let first = t.send("remove-employee", delete()).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.body(), json!({"employee": "15", "jobTitle": "Engineer"}));
    let retry = t.send("remove-employee", delete()).await;
    assert_eq!((retry.status(), retry.header("idempotent-replayed")), (200, "true"));
    assert_eq!(retry.body(), first.body());
    let unkeyed = t.send("remove-employee", http_event("DELETE", "/employees/15")).await;
    assert_error(&unkeyed, 404, "EmployeeDoesNotExist");
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn direct_invocations_with_an_idempotency_key_are_done_once() {
    let t = tables().await;
    let add = json!({"employee": "20", "jobTitle": "Engineer", "idempotencyKey": "run-1"});
    let first = invoke("add-employee", &t.store, &add).await.unwrap();
    assert_eq!(first, json!({"employee": "20", "jobTitle": "Engineer"}));
    assert_eq!(invoke("add-employee", &t.store, &add).await.unwrap(), first);
    let other = json!({"employee": "20", "jobTitle": "Manager", "idempotencyKey": "run-1"});
    let err = invoke("add-employee", &t.store, &other).await.unwrap_err();
    assert_eq!(err.error_type, "IdempotencyKeyReused");
    // A final error is replayed as the same function error.
    let taken = json!({"employee": "20", "jobTitle": "Other", "idempotencyKey": "run-2"});
    for _ in 0..2 {
        let err = invoke("add-employee", &t.store, &taken).await.unwrap_err();
        assert_eq!(err.error_type, "EmployeeAlreadyExists");
    }
    let remove = json!({"employee": "20", "idempotencyKey": "run-3"});
    for _ in 0..2 {
        let removed = invoke("remove-employee", &t.store, &remove).await.unwrap();
        assert_eq!(removed, first);
    }
    let bad = json!({"employee": "21", "jobTitle": "Engineer", "idempotencyKey": "a b"});
    let err = invoke("add-employee", &t.store, &bad).await.unwrap_err();
    assert_eq!(err.error_type, "ValidationError");
    assert!(t.items().await.is_empty());
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn bad_keys_and_preconditions_are_refused_and_write_nothing() {
    let t = tables().await;
    let long = "k".repeat(256);
    for key in ["", "\"\"", "a b", "\"unterminated", "caf\u{e9}", long.as_str()] {
        let answer =
            t.send("add-employee", post_event("30", "Engineer").header("idempotency-key", key));
        assert_error(&answer.await, 400, "ValidationError");
    }
    // An If-Match that is not a list of tags names no revision: 412.
    for if_match in ["v1", "\"v1", "*, \"v1\"", "0"] {
        let answer =
            t.send("add-employee", put_event("30", "Engineer").header("if-match", if_match));
        assert_error(&answer.await, 412, "PreconditionFailed");
    }
    let answer =
        t.send("add-employee", put_event("30", "Engineer").header("if-none-match", "\"v1\""));
    assert_error(&answer.await, 400, "ValidationError");
    assert!(t.items().await.is_empty());
    assert!(all_items(&t.client, &t.keys).await.is_empty());
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn an_expired_record_is_not_replayed() {
    let t = tables().await;
    // A record past its ExpiresAt that DynamoDB's TTL has not deleted yet.
    t.client
        .put_item()
        .table_name(&t.keys)
        .item("IdempotencyKey", AttributeValue::S("POST /employees#old".into()))
        .item("Fingerprint", AttributeValue::S("x".into()))
        .item("Status", AttributeValue::N("409".into()))
        .item("Body", AttributeValue::S("{}".into()))
        .item("ExpiresAt", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let answer =
        t.send("add-employee", post_event("31", "Engineer").header("idempotency-key", "old"));
    assert_eq!(answer.await.status(), 201);
}

/// Records as the first record format wrote them (captured from that code:
/// `tests/data/idempotency-records-v1.json`), replayed by today's: every
/// retry still gets the answer its first request got, to the byte.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn records_of_the_first_format_are_replayed_as_they_were_answered() {
    let t = tables().await;
    let text = std::fs::read_to_string(
        employee_api_tests::workspace_root().join("tests/data/idempotency-records-v1.json"),
    )
    .unwrap();
    let records: Vec<serde_json::Map<String, Value>> = serde_json::from_str(&text).unwrap();
    let mut answered = std::collections::BTreeMap::new();
    for record in &records {
        let mut item = std::collections::HashMap::new();
        for (name, value) in record {
            let attribute = match (value.get("S"), value.get("N")) {
                (Some(s), _) => AttributeValue::S(s.as_str().unwrap().to_owned()),
                // Still live, whenever the test runs.
                _ if name == "ExpiresAt" => AttributeValue::N("4102444800".into()),
                (_, Some(n)) => AttributeValue::N(n.as_str().unwrap().to_owned()),
                _ => panic!("{name}: {value}"),
            };
            item.insert(name.clone(), attribute);
        }
        t.client.put_item().table_name(&t.keys).set_item(Some(item)).send().await.unwrap();
        let key = record["IdempotencyKey"]["S"].as_str().unwrap();
        let key = key.rsplit_once('#').unwrap().1.to_owned();
        let field = |name: &str| record.get(name).map(|v| v["S"].as_str().unwrap().to_owned());
        let status: u64 = record["Status"]["N"].as_str().unwrap().parse().unwrap();
        answered.insert(key, (status, field("Body").unwrap(), field("ETag"), field("Location")));
    }
    let keyed = |event: employee_api_tests::events::HttpEvent, key: &str| {
        event.header("idempotency-key", key)
    };
    let post = |id: &str, title: &str| {
        http_event("POST", "/prod/employees")
            .json_body(json!({"employee": id, "jobTitle": title}).to_string())
    };
    let put = |title: &str| {
        http_event("PUT", "/prod/employees/k1").json_body(json!({"jobTitle": title}).to_string())
    };
    let delete = || http_event("DELETE", "/prod/employees/k1");
    let requests = [
        ("add-employee", keyed(post("k1", "Engineer"), "post-created")),
        ("add-employee", keyed(post("k1", "Manager"), "post-exists")),
        ("add-employee", keyed(put("Director"), "put-replaced")),
        ("add-employee", keyed(put("Director"), "put-failed").header("if-match", "\"v1\"")),
        ("remove-employee", keyed(delete(), "delete-removed")),
        ("remove-employee", keyed(delete(), "delete-missing")),
    ];
    for (function, event) in requests {
        let key = event.clone().build()["headers"]["idempotency-key"].as_str().unwrap().to_owned();
        let (status, body, etag, location) = &answered[&key];
        let answer = t.send(function, event).await;
        assert_eq!(answer.status(), *status, "{key}: {:?}", answer.0);
        assert_eq!(answer.0["body"].as_str(), Some(body.as_str()), "{key}");
        assert_eq!(answer.0["headers"]["etag"].as_str(), etag.as_deref(), "{key}");
        assert_eq!(answer.0["headers"]["location"].as_str(), location.as_deref(), "{key}");
        assert_eq!(answer.header("idempotent-replayed"), "true", "{key}");
    }
    for (function, input, key) in [
        ("add-employee", json!({"employee": "k2", "jobTitle": "Analyst"}), "direct-added"),
        ("remove-employee", json!({"employee": "k2"}), "direct-removed"),
    ] {
        let mut input = input;
        input["idempotencyKey"] = json!(key);
        let output = invoke(function, &t.store, &input).await.unwrap();
        assert_eq!(output.to_string(), answered[key].1, "{key}");
    }
    // Every answer was a replay: nothing was written.
    assert_eq!(t.items().await, []);
}
