//! No lost updates, safe retries, over HTTP: the three functions under
//! `cargo lambda watch` (8 instances each, so concurrent requests really
//! race), reaching DynamoDB Local through the fault proxy. The tests share
//! that stack and take turns (one of them cuts DynamoDB's responses), each
//! on ids and keys of its own.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use employee_api::store::dynamodb::DYNAMODB_MAX_ATTEMPTS;
use employee_api_tests::dynamodb_local::{self, all_items, client, put_items};
use employee_api_tests::fault_proxy::{Fault, FaultProxy};
use employee_api_tests::lambda_watch::LocalApi;
use reqwest::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

struct Stack {
    proxy: FaultProxy,
    api: LocalApi,
    turn: Mutex<()>,
}

/// The stack, and this test's turn on it.
async fn stack() -> (&'static Stack, MutexGuard<'static, ()>) {
    static STACK: OnceLock<Stack> = OnceLock::new();
    let stack = STACK.get_or_init(|| {
        let proxy = FaultProxy::start(dynamodb_local::endpoint());
        let api = LocalApi::start(&proxy.endpoint());
        Stack { proxy, api, turn: Mutex::new(()) }
    });
    let turn = stack.turn.lock().await;
    stack.proxy.set(Fault::None);
    (stack, turn)
}

struct Answer {
    status: u16,
    etag: String,
    location: String,
    replayed: bool,
    body: Value,
}

async fn answer(request: RequestBuilder) -> Answer {
    let response: Response = request.send().await.expect("the local API answers");
    let header = |name: &str| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
    };
    let (etag, location) = (header("etag"), header("location"));
    let replayed = header("idempotent-replayed") == "true";
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    Answer { status, etag, location, replayed, body }
}

fn post(http: &Client, api: &LocalApi, id: &str, title: &str) -> RequestBuilder {
    http.post(api.url("/employees")).json(&json!({"employee": id, "jobTitle": title}))
}

fn put(http: &Client, api: &LocalApi, id: &str, title: &str) -> RequestBuilder {
    http.put(api.url(&format!("/employees/{id}"))).json(&json!({"jobTitle": title}))
}

/// 16 clients each make 5 read-modify-write rounds on one employee: read
/// it, append a token of their own to its job title, and `PUT` it with
/// `If-Match`, starting over on 412. Every acknowledged update must be in
/// the final item: none was overwritten by a client that had not seen it.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn concurrent_read_modify_write_with_if_match_loses_no_update() {
    const CLIENTS: usize = 16;
    const ROUNDS: usize = 5;
    let (stack, _turn) = stack().await;
    let api = &stack.api;
    let http = employee_api_tests::http();
    assert_eq!(answer(post(&http, api, "race", "t")).await.status, 201);

    let clients = (0..CLIENTS).map(|client| {
        let http = http.clone();
        let url = api.url("/employees/race");
        tokio::spawn(async move {
            let (mut acknowledged, mut refused) = (Vec::new(), 0);
            for round in 0..ROUNDS {
                let token = format!("{client:x}{round}");
                for attempt in 0.. {
                    assert!(attempt < 400, "client {client} starved");
                    let read = answer(http.get(&url)).await;
                    assert_eq!(read.status, 200);
                    let title = format!("{} {token}", read.body["jobTitle"].as_str().unwrap());
                    let write = http
                        .put(&url)
                        .header("if-match", &read.etag)
                        .json(&json!({"jobTitle": title}));
                    match answer(write).await.status {
                        200 => break,
                        412 => refused += 1,
                        other => panic!("client {client}: PUT answered {other}"),
                    }
                }
                acknowledged.push(token);
            }
            (acknowledged, refused)
        })
    });
    let mut acknowledged = BTreeSet::new();
    let mut refused = 0;
    for client in clients.collect::<Vec<_>>() {
        let (tokens, refusals) = client.await.unwrap();
        acknowledged.extend(tokens);
        refused += refusals;
    }
    let last = answer(http.get(api.url("/employees/race"))).await;
    let title = last.body["jobTitle"].as_str().unwrap().to_owned();
    let stored: BTreeSet<String> = title.split(' ').skip(1).map(str::to_owned).collect();
    println!("{} updates acknowledged, {refused} refused with 412 and retried", acknowledged.len());
    assert_eq!(acknowledged.len(), CLIENTS * ROUNDS);
    assert_eq!(stored, acknowledged, "acknowledged updates missing from {title:?}");
    assert_eq!(title.split(' ').count(), CLIENTS * ROUNDS + 1, "an update applied twice");
}

/// DynamoDB stores the item, but its answer is cut on the way back (every
/// attempt): the client gets a 503. Its retry with the same key gets the
/// first request's 201, body and Location; there is one item.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_keyed_post_retried_after_its_response_was_cut_replays_the_201() {
    let (stack, _turn) = stack().await;
    let (api, http) = (&stack.api, employee_api_tests::http());
    let keyed = || post(&http, api, "cut", "Engineer").header("idempotency-key", "\"cut-1\"");

    stack.proxy.set(Fault::CutResponse);
    let lost = answer(keyed()).await;
    stack.proxy.set(Fault::None);
    assert_eq!((lost.status, lost.body["error"].as_str()), (503, Some("ServiceUnavailable")));

    let retry = answer(keyed()).await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert!(retry.replayed, "the write was done by the first request");
    assert_eq!(retry.body, json!({"employee": "cut", "jobTitle": "Engineer"}));
    assert_eq!(retry.location, "/employees/cut");
    let read = answer(http.get(api.url("/employees/cut"))).await;
    assert_eq!(read.etag, retry.etag);
    // Without a key, the same retry could not tell its own write from another's.
    assert_eq!(answer(post(&http, api, "cut", "Engineer")).await.status, 409);
    let items = all_items(&client(), &api.table).await;
    assert_eq!(items.iter().filter(|i| i["EmployeeId"].as_s().unwrap() == "cut").count(), 1);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let (stack, _turn) = stack().await;
    let (api, http) = (&stack.api, employee_api_tests::http());
    let first = post(&http, api, "reuse", "Engineer").header("idempotency-key", "reuse-1");
    assert_eq!(answer(first).await.status, 201);
    let other = post(&http, api, "reuse", "Manager").header("idempotency-key", "reuse-1");
    let refused = answer(other).await;
    assert_eq!(
        (refused.status, refused.body["error"].as_str()),
        (422, Some("IdempotencyKeyReused"))
    );
    let read = answer(http.get(api.url("/employees/reuse"))).await;
    assert_eq!(read.body["jobTitle"], "Engineer");
}

/// Eight identical keyed POSTs at once: one write, seven replays of its
/// answer; never a 5xx, never a 409.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn eight_concurrent_identical_keyed_posts_write_once() {
    let (stack, _turn) = stack().await;
    let api = &stack.api;
    let http = employee_api_tests::http();
    let requests = (0..8).map(|_| {
        let request = post(&http, api, "burst", "Engineer").header("idempotency-key", "burst-1");
        tokio::spawn(answer(request))
    });
    let mut answers = Vec::new();
    for request in requests.collect::<Vec<_>>() {
        answers.push(request.await.unwrap());
    }
    for a in &answers {
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body, json!({"employee": "burst", "jobTitle": "Engineer"}));
        assert_eq!(
            (a.location.as_str(), a.etag.as_str()),
            ("/employees/burst", answers[0].etag.as_str())
        );
    }
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1, "exactly one write");
    let records = all_items(&client(), &api.idempotency_table).await;
    let burst =
        records.iter().filter(|r| r["IdempotencyKey"].as_s().unwrap().ends_with("#burst-1"));
    assert_eq!(burst.count(), 1);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_retried_keyed_delete_gets_the_same_200_body() {
    let (stack, _turn) = stack().await;
    let (api, http) = (&stack.api, employee_api_tests::http());
    assert_eq!(answer(post(&http, api, "gone", "Engineer")).await.status, 201);
    let delete = || http.delete(api.url("/employees/gone")).header("idempotency-key", "gone-1");
    let first = answer(delete()).await;
    assert_eq!(
        (first.status, &first.body),
        (200, &json!({"employee": "gone", "jobTitle": "Engineer"}))
    );
    let retry = answer(delete()).await;
    assert_eq!((retry.status, retry.replayed, &retry.body), (200, true, &first.body));
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn an_item_written_by_another_client_without_a_version_is_updated_with_if_match() {
    let (stack, _turn) = stack().await;
    let (api, http) = (&stack.api, employee_api_tests::http());
    put_items(&client(), &api.table, &[("legacy", "Written elsewhere")]).await;
    let read = answer(http.get(api.url("/employees/legacy"))).await;
    assert!(read.etag.starts_with("\"c"), "{}", read.etag);
    let stale = answer(put(&http, api, "legacy", "Ours").header("if-match", "\"v1\"")).await;
    assert_eq!(stale.status, 412);
    let updated = answer(put(&http, api, "legacy", "Ours").header("if-match", &read.etag)).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert!(updated.etag.starts_with("\"v"), "{}", updated.etag);
    let again = answer(http.get(api.url("/employees/legacy"))).await;
    assert_eq!((again.body["jobTitle"].as_str(), again.etag), (Some("Ours"), updated.etag));
}

/// A plain write refused because a keyed write's transaction holds the
/// item is retried by the SDK (bounded), then answered 503, never 500.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn a_write_refused_for_a_transaction_conflict_is_retried_then_503() {
    let (stack, _turn) = stack().await;
    let (api, http) = (&stack.api, employee_api_tests::http());
    stack.proxy.take_request_count();
    stack.proxy.set(Fault::TransactionConflict);
    let refused = answer(put(&http, api, "held", "Engineer")).await;
    stack.proxy.set(Fault::None);
    let attempts = stack.proxy.take_request_count();
    assert_eq!((refused.status, refused.body["error"].as_str()), (503, Some("ServiceUnavailable")));
    assert_eq!(attempts, DYNAMODB_MAX_ATTEMPTS as usize);
    assert_eq!(answer(put(&http, api, "held", "Engineer")).await.status, 201);
}
