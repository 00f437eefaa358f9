//! A table other systems write too: items written by a raw DynamoDB client
//! with attributes this API does not know (`Department` S, `Salary` N,
//! `Tags` SS), and items it cannot read (no `JobTitle`, a numeric one, a
//! string `Version`). What the API does not own survives its writes; what
//! it cannot read never fails a listing, is never half-deleted, and gets one
//! clear answer. Through the functions' entry point on DynamoDB Local.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use employee_api::store::DynamoDbStore;
use employee_api_tests::dynamodb_local::{
    self, client, fresh_idempotency_table, fresh_sample_table, fresh_table,
};
use employee_api_tests::events::http_event;
use employee_api_tests::invoke::{HttpAnswer, invoke, request};
use serde_json::{Value, json};

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn n(text: &str) -> AttributeValue {
    AttributeValue::N(text.to_owned())
}

/// What another system keeps in an employee's item.
fn theirs() -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("Department", s("R&D")),
        ("Salary", n("100000")),
        ("Tags", AttributeValue::Ss(vec!["oncall".into(), "remote".into()])),
    ]
}

async fn put_raw(client: &Client, table: &str, id: &str, attributes: &[(&str, AttributeValue)]) {
    let mut request = client.put_item().table_name(table).item("EmployeeId", s(id));
    for (name, value) in attributes {
        request = request.item(*name, value.clone());
    }
    request.send().await.unwrap_or_else(|e| panic!("cannot write {id}: {e:?}"));
}

async fn get_raw(
    client: &Client,
    table: &str,
    id: &str,
) -> Option<HashMap<String, AttributeValue>> {
    let output = client
        .get_item()
        .table_name(table)
        .key("EmployeeId", s(id))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    output.item
}

struct Shared {
    client: Client,
    table: String,
    store: DynamoDbStore,
}

async fn shared(sample: bool) -> Shared {
    let client = client();
    let table = if sample { fresh_sample_table(&client).await } else { fresh_table(&client).await };
    let keys = fresh_idempotency_table(&client).await;
    let mut config = dynamodb_local::keyed_config(&table, &keys);
    if sample {
        config.job_title_index = None;
    }
    Shared { store: DynamoDbStore::from_config(&config), client, table }
}

impl Shared {
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> HttpAnswer {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut event = http_event(method, path).query(query);
        for (name, value) in headers {
            event = event.header(name, value);
        }
        if let Some(body) = body {
            event = event.json_body(body.to_string());
        }
        let function = employee_api_tests::invoke::function_for(method);
        request(function, &self.store, &event.build()).await
    }

    async fn item(&self, id: &str) -> HashMap<String, AttributeValue> {
        get_raw(&self.client, &self.table, id).await.unwrap_or_else(|| panic!("{id} is gone"))
    }
}

fn assert_theirs_kept(item: &HashMap<String, AttributeValue>, what: &str) {
    for (name, value) in theirs() {
        assert_eq!(item.get(name), Some(&value), "{what}: {name} of another writer was lost");
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn put_updates_what_the_api_owns_and_keeps_every_other_attribute() {
    let table = shared(false).await;
    let mut attributes = theirs();
    attributes.push(("JobTitle", s("Engineer")));
    for id in ["plain", "keyed", "tagged"] {
        put_raw(&table.client, &table.table, id, &attributes).await;
    }

    let plain =
        table.send("PUT", "/employees/plain", Some(json!({"jobTitle": "Manager"})), &[]).await;
    assert_eq!(plain.status(), 200, "{:?}", plain.0);
    let keyed = table
        .send(
            "PUT",
            "/employees/keyed",
            Some(json!({"jobTitle": "Manager"})),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(keyed.status(), 200, "{:?}", keyed.0);
    // An unversioned item: its content tag, from a GET, guards the PUT.
    let read = table.send("GET", "/employees/tagged", None, &[]).await;
    let tag = read.header("etag").to_owned();
    assert!(tag.starts_with("\"c"), "{tag}");
    let tagged = table
        .send(
            "PUT",
            "/employees/tagged",
            Some(json!({"jobTitle": "Manager"})),
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(tagged.status(), 200, "{:?}", tagged.0);

    for id in ["plain", "keyed", "tagged"] {
        let item = table.item(id).await;
        assert_eq!(item["JobTitle"], s("Manager"), "{id}");
        assert!(matches!(item.get("Version"), Some(AttributeValue::N(_))), "{id}: {item:?}");
        assert_theirs_kept(&item, id);
    }
    // A PUT that creates writes only what the API owns.
    let created =
        table.send("PUT", "/employees/new", Some(json!({"jobTitle": "Intern"})), &[]).await;
    assert_eq!(created.status(), 201);
    let mut names: Vec<String> = table.item("new").await.into_keys().collect();
    names.sort();
    assert_eq!(names, ["EmployeeId", "JobTitle", "Version"]);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_content_tag_protects_what_the_api_writes_from_another_writers_change() {
    let table = shared(false).await;
    put_raw(
        &table.client,
        &table.table,
        "42",
        &[("JobTitle", s("Engineer")), ("Department", s("R&D"))],
    )
    .await;
    let tag = table.send("GET", "/employees/42", None, &[]).await.header("etag").to_owned();
    // Another writer changes an attribute the API does not own: the tag
    // still holds (it covers JobTitle and Version only).
    put_raw(
        &table.client,
        &table.table,
        "42",
        &[("JobTitle", s("Engineer")), ("Department", s("Sales"))],
    )
    .await;
    let same = table.send("GET", "/employees/42", None, &[]).await;
    assert_eq!(same.header("etag"), tag);
    // Then one the API owns: the tag no longer matches, nothing is written.
    put_raw(
        &table.client,
        &table.table,
        "42",
        &[("JobTitle", s("Director")), ("Department", s("Sales"))],
    )
    .await;
    let refused = table
        .send("PUT", "/employees/42", Some(json!({"jobTitle": "Manager"})), &[("if-match", &tag)])
        .await;
    assert_eq!(refused.status(), 412, "{:?}", refused.0);
    let refused = table.send("DELETE", "/employees/42", None, &[("if-match", &tag)]).await;
    assert_eq!(refused.status(), 412, "{:?}", refused.0);
    assert_eq!(table.item("42").await["JobTitle"], s("Director"));
}

/// An item another writer left: its id, its attributes, and what the API
/// says it cannot read of it.
type Unreadable = (&'static str, Vec<(&'static str, AttributeValue)>, &'static str);

/// Items another writer left in a form this API cannot read.
fn unreadable() -> Vec<Unreadable> {
    vec![
        ("no-title", vec![("Department", s("R&D"))], "JobTitle is missing"),
        ("numeric-title", vec![("JobTitle", n("7")), ("Salary", n("1"))], "JobTitle is a number"),
        (
            "string-version",
            vec![("JobTitle", s("Engineer")), ("Version", s("v3"))],
            "Version is a string",
        ),
    ]
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn listings_skip_what_they_cannot_read_and_the_cursor_moves_past_it() {
    // The original sample's table (no index): any JobTitle type can be stored.
    let table = shared(true).await;
    for (id, attributes, _) in unreadable() {
        put_raw(&table.client, &table.table, id, &attributes).await;
    }
    let mut readable = Vec::new();
    for i in 0..7 {
        let id = format!("ok-{i}");
        let mut attributes = theirs();
        attributes.push(("JobTitle", s("Engineer")));
        put_raw(&table.client, &table.table, &id, &attributes).await;
        readable.push(id);
    }
    for limit in [1, 2, 3, 100] {
        let mut seen = Vec::new();
        let mut path = format!("/employees?limit={limit}");
        for _ in 0..20 {
            let page = table.send("GET", &path, None, &[]).await;
            assert_eq!(page.status(), 200, "limit {limit}: {:?}", page.0);
            let body = page.body();
            for employee in body["employees"].as_array().unwrap() {
                assert_eq!(employee["jobTitle"], "Engineer", "{employee}");
                seen.push(employee["employee"].as_str().unwrap().to_owned());
            }
            match body["nextCursor"].as_str() {
                Some(cursor) => path = format!("/employees?limit={limit}&cursor={cursor}"),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, readable, "limit {limit}: every readable employee once, no other");
    }
    // Filtered by title (a scan with a filter on this table) as well.
    let filtered = table.send("GET", "/employees?jobTitle=Engineer", None, &[]).await;
    assert_eq!(filtered.status(), 200);
    assert_eq!(filtered.body()["employees"].as_array().unwrap().len(), 7);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn an_unreadable_item_gets_one_clear_answer_and_is_never_half_deleted() {
    let table = shared(true).await;
    for (id, attributes, why) in unreadable() {
        put_raw(&table.client, &table.table, id, &attributes).await;
        let before = table.item(id).await;
        let path = format!("/employees/{id}");
        for (method, headers) in
            [("GET", &[][..]), ("DELETE", &[][..]), ("DELETE", &[("idempotency-key", "d-1")][..])]
        {
            let answer = table.send(method, &path, None, headers).await;
            assert_eq!(answer.status(), 500, "{method} {id}: {:?}", answer.0);
            let body = answer.body();
            assert_eq!(body["error"], "EmployeeUnreadable", "{method} {id}");
            let message = body["message"].as_str().unwrap();
            assert!(message.contains(why) && message.contains("PUT"), "{method} {id}: {message}");
        }
        let direct = invoke("get-employee", &table.store, &json!({"employee": id})).await;
        assert_eq!(direct.unwrap_err().error_type, "EmployeeUnreadable", "{id}");
        let direct = invoke("remove-employee", &table.store, &json!({"employee": id})).await;
        let error = direct.unwrap_err();
        assert_eq!(error.error_type, "EmployeeUnreadable", "{id}: {error:?}");
        assert_eq!(table.item(id).await, before, "{id}: nothing was written or deleted");

        // No tag this API issued matches it.
        let tagged = table
            .send(
                "PUT",
                &path,
                Some(json!({"jobTitle": "x"})),
                &[("if-match", "\"cAAAAAAAAAAAAAAAA\"")],
            )
            .await;
        assert_eq!(tagged.status(), 412, "{id}: {:?}", tagged.0);
        // A PUT repairs it, keeping what else the item holds; then it reads
        // and deletes like any other.
        let repaired = table.send("PUT", &path, Some(json!({"jobTitle": "Repaired"})), &[]).await;
        assert_eq!(repaired.status(), 200, "{id}: {:?}", repaired.0);
        let item = table.item(id).await;
        for (name, value) in &before {
            if name != "JobTitle" && name != "Version" {
                assert_eq!(item.get(name), Some(value), "{id}: {name} was lost");
            }
        }
        assert_eq!(table.send("GET", &path, None, &[]).await.status(), 200, "{id}");
        let removed = table.send("DELETE", &path, None, &[]).await;
        assert_eq!(removed.body(), json!({"employee": id, "jobTitle": "Repaired"}), "{id}");
        assert!(get_raw(&table.client, &table.table, id).await.is_none());
    }
}
