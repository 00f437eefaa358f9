//! The DynamoDB store against DynamoDB Local (the real engine), one fresh
//! table per test.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use employee_api::config::Config;
use employee_api::store::CONNECT_TIMEOUT;
use employee_api::store::{
    DynamoDbStore, ListQuery, PageKey, PutOutcome, StoreDelete, StoreError, StoreGet, StoreList,
    StorePut,
};
use employee_api::{Employee, EmployeeId, JobTitle};
use employee_api_tests::dynamodb_local::{
    self, all_items, client, fresh_sample_table, fresh_table, put_items,
};
use employee_api_tests::employee;
use employee_api_tests::fault_proxy::{Fault, FaultProxy};

fn id(value: &str) -> EmployeeId {
    EmployeeId::parse(value).unwrap()
}

async fn store_on(table: &str, job_title_index: Option<&str>) -> DynamoDbStore {
    let config = Config {
        job_title_index: job_title_index.map(str::to_owned),
        ..dynamodb_local::config(table)
    };
    DynamoDbStore::from_config(&config)
}

async fn fresh_store() -> (Client, String, DynamoDbStore) {
    let client = client();
    let table = fresh_table(&client).await;
    let store = store_on(&table, Some("JobTitleIndex")).await;
    (client, table, store)
}

/// Pages through a listing and returns every employee it yielded, in order.
async fn list_all(store: &DynamoDbStore, title: Option<&str>, limit: u32) -> Vec<Employee> {
    let mut all = Vec::new();
    let mut after = None;
    for _ in 0..1000 {
        let query =
            ListQuery { job_title: title.map(|t| JobTitle::parse(t).unwrap()), limit, after };
        let page = store.list(&query).await.unwrap();
        assert!(page.employees.len() <= limit as usize);
        all.extend(page.employees);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
    panic!("the listing never ended");
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_created_employee_can_be_read_back() {
    let (_, _, store) = fresh_store().await;
    store.create(&employee("42", "Engineer")).await.unwrap();
    assert_eq!(store.get(&id("42")).await.unwrap(), Some(employee("42", "Engineer")));
    assert_eq!(store.get(&id("43")).await.unwrap(), None);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn creating_an_existing_employee_fails_and_keeps_the_original() {
    let (client, table, store) = fresh_store().await;
    store.create(&employee("42", "Engineer")).await.unwrap();
    let before = all_items(&client, &table).await;
    let err = store.create(&employee("42", "Impostor")).await.unwrap_err();
    assert_eq!(err, StoreError::AlreadyExists(id("42")));
    assert_eq!(all_items(&client, &table).await, before);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn thirty_two_concurrent_creates_of_one_id_let_exactly_one_win() {
    let (client, table, store) = fresh_store().await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(
                async move { store.create(&employee("race", &format!("Title {n}"))).await },
            )
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => created += 1,
            Err(StoreError::AlreadyExists(_)) => conflicts += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, conflicts), (1, 31));
    assert_eq!(all_items(&client, &table).await.len(), 1);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn put_reports_created_then_replaced() {
    let (_, _, store) = fresh_store().await;
    assert_eq!(store.put(&employee("7", "Engineer")).await.unwrap(), PutOutcome::Created);
    assert_eq!(store.put(&employee("7", "Manager")).await.unwrap(), PutOutcome::Replaced);
    assert_eq!(store.get(&id("7")).await.unwrap(), Some(employee("7", "Manager")));
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn delete_returns_the_removed_employee_once() {
    let (client, table, store) = fresh_store().await;
    store.create(&employee("9", "Engineer")).await.unwrap();
    assert_eq!(store.delete(&id("9")).await.unwrap(), Some(employee("9", "Engineer")));
    assert_eq!(store.delete(&id("9")).await.unwrap(), None);
    assert!(all_items(&client, &table).await.is_empty());
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn paging_visits_every_employee_exactly_once() {
    let (_, _, store) = fresh_store().await;
    let mut expected = BTreeSet::new();
    for n in 0..57 {
        let e = employee(&format!("emp-{n:03}"), if n % 3 == 0 { "Manager" } else { "Engineer" });
        store.create(&e).await.unwrap();
        expected.insert(e.id.to_string());
    }
    for limit in [1, 10, 56, 57, 100] {
        let seen: Vec<String> =
            list_all(&store, None, limit).await.into_iter().map(|e| e.id.to_string()).collect();
        assert_eq!(seen.len(), 57, "limit {limit}: duplicates or losses");
        assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), expected, "limit {limit}");
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn listing_by_job_title_queries_the_index_page_by_page() {
    let (_, _, store) = fresh_store().await;
    for n in 0..25 {
        let title = if n % 5 == 0 { "Manager" } else { "Engineer" };
        store.create(&employee(&format!("e{n:02}"), title)).await.unwrap();
    }
    let managers = list_all(&store, Some("Manager"), 2).await;
    let ids: Vec<&str> = managers.iter().map(|e| e.id.as_str()).collect();
    // The index sorts by EmployeeId within a job title.
    assert_eq!(ids, ["e00", "e05", "e10", "e15", "e20"]);
    assert!(managers.iter().all(|e| e.job_title.as_str() == "Manager"));
    assert_eq!(list_all(&store, Some("Engineer"), 7).await.len(), 20);
    assert!(list_all(&store, Some("Nobody"), 7).await.is_empty());
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_forged_start_key_resumes_after_it_without_failing() {
    let (_, _, store) = fresh_store().await;
    for n in ["a", "b", "c"] {
        store.create(&employee(n, "Engineer")).await.unwrap();
    }
    let query = ListQuery {
        job_title: Some(JobTitle::parse("Engineer").unwrap()),
        limit: 10,
        after: Some(PageKey { employee_id: "a".into(), job_title: Some("Engineer".into()) }),
    };
    let page = store.list(&query).await.unwrap();
    let ids: Vec<&str> = page.employees.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["b", "c"]);
    let unknown = ListQuery {
        after: Some(PageKey { employee_id: "zzz-not-stored".into(), job_title: None }),
        job_title: None,
        limit: 10,
    };
    assert!(store.list(&unknown).await.is_ok());
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_table_in_the_original_samples_schema_is_served_unchanged() {
    let client = client();
    let table = fresh_sample_table(&client).await;
    // Written by another client, as the sample's state machines would, with
    // an extra attribute this project does not know.
    for (id, title) in [("1", "Engineer"), ("2", "Manager"), ("3", "Engineer")] {
        client
            .put_item()
            .table_name(&table)
            .item("EmployeeId", AttributeValue::S(id.into()))
            .item("JobTitle", AttributeValue::S(title.into()))
            .item("Team", AttributeValue::S("Platform".into()))
            .send()
            .await
            .unwrap();
    }
    let before = all_items(&client, &table).await;
    // That table has no JobTitleIndex: the functions run with JOB_TITLE_INDEX="".
    let store = store_on(&table, None).await;
    assert_eq!(store.get(&id("2")).await.unwrap(), Some(employee("2", "Manager")));
    let engineers: Vec<String> = list_all(&store, Some("Engineer"), 1)
        .await
        .into_iter()
        .map(|e| e.id.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(engineers, ["1", "3"]);
    assert_eq!(list_all(&store, None, 2).await.len(), 3);
    assert_eq!(all_items(&client, &table).await, before, "reading changed the table");

    store.create(&employee("4", "Designer")).await.unwrap();
    assert_eq!(
        store.create(&employee("1", "Impostor")).await.unwrap_err(),
        StoreError::AlreadyExists(id("1"))
    );
    assert_eq!(store.delete(&id("3")).await.unwrap(), Some(employee("3", "Engineer")));
    let items = all_items(&client, &table).await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["Team"], AttributeValue::S("Platform".into()), "untouched item kept");
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_missing_table_is_an_internal_error_not_a_retryable_one() {
    let store = store_on("no-such-table", Some("JobTitleIndex")).await;
    let err = store.get(&id("1")).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Internal(ref d) if d.contains("ResourceNotFound")),
        "{err:?}"
    );
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn an_unreachable_engine_is_unavailable_within_the_operation_timeout() {
    // A port nothing listens on: connections are refused at once, retried
    // with back-off, then reported.
    let port = employee_api_tests::process::free_port();
    let config = Config {
        job_title_index: None,
        dynamodb: dynamodb_local::settings_for(&format!("http://127.0.0.1:{port}")),
        ..dynamodb_local::config("t")
    };
    let store = DynamoDbStore::from_config(&config);
    let started = Instant::now();
    let err = store.get(&id("1")).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // The contract, not a speed target: the answer comes before the
    // function's timeout (10 s in template.yaml).
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

/// A store on `table` that reaches DynamoDB Local through a fault proxy.
async fn store_behind_proxy() -> (FaultProxy, DynamoDbStore) {
    let client = client();
    let table = fresh_table(&client).await;
    put_items(&client, &table, &[("42", "Engineer")]).await;
    let proxy = FaultProxy::start(dynamodb_local::endpoint());
    let mut config = dynamodb_local::config(&table);
    config.dynamodb.endpoint_url = Some(proxy.endpoint());
    (proxy, DynamoDbStore::from_config(&config))
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn connecting_at_init_opens_the_connection_the_first_request_uses() {
    let (proxy, store) = store_behind_proxy().await;
    store.connect().await.unwrap();
    // One connection, one unsigned health check, no DynamoDB operation.
    assert_eq!((proxy.take_connection_count(), proxy.take_request_count()), (1, 0));
    assert_eq!(proxy.take_health_check_count(), 1);
    let found = store.get(&id("42")).await.unwrap();
    assert_eq!(found.map(|e| e.job_title.as_str().to_owned()).as_deref(), Some("Engineer"));
    // The request went over that connection.
    assert_eq!((proxy.take_connection_count(), proxy.take_request_count()), (0, 1));
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn connecting_to_an_unreachable_engine_gives_up_within_its_timeout() {
    let (proxy, store) = store_behind_proxy().await;
    for fault in [Fault::RefuseConnections, Fault::NeverAnswer] {
        proxy.set(fault);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let err = store.connect().await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(err, StoreError::Unavailable(_)), "{fault:?}: {err:?}");
        // One try, bounded: init is not held up for long.
        assert!(elapsed < CONNECT_TIMEOUT + Duration::from_millis(500), "{fault:?}: {elapsed:?}");
        assert_eq!(proxy.take_request_count(), 0, "{fault:?}");
    }
}
