//! The crate's write-safety protocol against the local API (`cargo lambda
//! watch` on DynamoDB Local), with fault proxies on both sides of it: one in
//! front of the API (what the network does to a caller), one between the
//! functions and DynamoDB (what the table does to the functions).

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use employee_api_client::{Auth, Client, Condition, Error, ErrorCode, RetryPolicy};
use employee_api_tests::dynamodb_local::{self, all_items};
use employee_api_tests::fault_proxy::{Fault, FaultProxy};
use employee_api_tests::lambda_watch::LocalApi;

struct Stack {
    /// Between the functions and DynamoDB Local.
    table: FaultProxy,
    api: LocalApi,
    /// Between the caller and the API.
    front: FaultProxy,
}

/// The stack, and the right to set its faults (one test at a time).
fn stack() -> (&'static Stack, MutexGuard<'static, ()>) {
    static STACK: OnceLock<Stack> = OnceLock::new();
    static FAULTS: Mutex<()> = Mutex::new(());
    let stack = STACK.get_or_init(|| {
        let table = FaultProxy::start(dynamodb_local::endpoint());
        let api = LocalApi::start(&table.endpoint());
        let front = FaultProxy::start(&api.base_url);
        Stack { table, api, front }
    });
    let guard = FAULTS.lock().unwrap_or_else(|p| p.into_inner());
    stack.table.set(Fault::None);
    stack.front.set(Fault::None);
    (stack, guard)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

async fn client(stack: &Stack, retry: RetryPolicy) -> Client {
    Client::builder()
        .base_url(stack.front.endpoint())
        .auth(Auth::None)
        .retry(retry)
        .build()
        .await
        .expect("a client")
}

fn unique(prefix: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn sixteen_concurrent_updates_are_all_kept() {
    let (stack, _faults) = stack();
    block_on(async {
        let api = client(stack, RetryPolicy::default()).await;
        let id = unique("race");
        api.create(&id, "Base").await.expect("created");
        let updaters: Vec<_> = (0..16)
            .map(|i| {
                let (api, id) = (api.clone(), id.clone());
                tokio::spawn(
                    async move { api.update(&id, |e| format!("{} m{i}", e.job_title)).await },
                )
            })
            .collect();
        for updater in updaters {
            updater.await.unwrap().expect("every update lands");
        }
        let last = api.get(&id).await.unwrap();
        let mut markers: Vec<&str> = last.employee.job_title.split(' ').collect();
        assert_eq!(markers.remove(0), "Base");
        markers.sort_unstable();
        let mut expected: Vec<String> = (0..16).map(|i| format!("m{i}")).collect();
        expected.sort_unstable();
        assert_eq!(markers, expected, "every updater's change is in: {}", last.employee.job_title);
    });
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn a_create_whose_answer_was_cut_is_retried_once_and_answered_the_same() {
    let (stack, _faults) = stack();
    block_on(async {
        let api = client(stack, RetryPolicy::default()).await;
        let id = unique("cut");
        stack.front.take_message_count();
        // The API does the write; the caller gets half an answer.
        stack.front.set_for(Fault::CutResponse, 1);
        let created = api.create(&id, "Engineer").await.expect("the retry is answered 201");
        assert_eq!(stack.front.take_message_count(), 2, "the cut attempt and one retry");
        assert_eq!(created.employee.job_title, "Engineer");
        // Without the same Idempotency-Key the retry would be refused with
        // EmployeeAlreadyExists; with it, the API replays its first answer.
        assert_eq!(api.get(&id).await.unwrap(), created, "the replayed ETag is the stored one");
        let items: Vec<_> = all_items(&dynamodb_local::client(), &stack.api.table)
            .await
            .into_iter()
            .filter(|item| item.get("EmployeeId") == Some(&AttributeValue::S(id.clone())))
            .collect();
        assert_eq!(items.len(), 1, "{items:?}");

        // A remove cut the same way: done once, its answer replayed.
        stack.front.take_message_count();
        stack.front.set_for(Fault::CutResponse, 1);
        let removed = api.remove(&id, &Condition::IfMatch(created.etag.clone())).await;
        assert_eq!(removed.expect("the retry is answered 200"), created.employee);
        assert_eq!(stack.front.take_message_count(), 2);
        let gone = api.get(&id).await.unwrap_err();
        assert_eq!(gone.code(), Some(&ErrorCode::EmployeeDoesNotExist), "{gone}");
    });
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn retry_after_is_honoured_when_the_table_throttles() {
    let (stack, _faults) = stack();
    block_on(async {
        // A back-off far shorter than the API's Retry-After: only honouring
        // Retry-After makes the retry wait a second.
        let quick = RetryPolicy {
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let api = client(stack, quick.clone()).await;
        let id = unique("throttled");
        api.create(&id, "Engineer").await.unwrap();
        stack.front.take_message_count();

        // Every attempt the functions' SDK makes within one invocation is
        // throttled: the API answers 503 with Retry-After: 1, then recovers.
        let attempts = employee_api::store::dynamodb::DYNAMODB_MAX_ATTEMPTS as usize;
        stack.table.set_for(Fault::Throttling, attempts);
        let started = Instant::now();
        let read = api.get(&id).await.expect("read after the Retry-After wait");
        let waited = started.elapsed();
        assert_eq!(read.employee.job_title, "Engineer");
        assert_eq!(stack.front.take_message_count(), 2, "one 503, one retry");
        assert!(waited >= Duration::from_secs(1), "Retry-After: 1 was honoured: {waited:?}");

        // Throttled for good: bounded, and honest about it.
        stack.table.set(Fault::Throttling);
        let policy = RetryPolicy { max_attempts: 3, ..quick };
        let api = client(stack, policy).await;
        let started = Instant::now();
        let error = api.get(&id).await.unwrap_err();
        stack.table.set(Fault::None);
        match &error {
            Error::Unavailable { attempts: 3, last, .. } => {
                assert_eq!(last.code(), Some(&ErrorCode::ServiceUnavailable), "{error}");
            }
            other => panic!("expected Unavailable after 3 attempts: {other}"),
        }
        assert_eq!(stack.front.take_message_count(), 3);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(2), "two Retry-After waits: {waited:?}");
        assert!(waited < Duration::from_secs(30), "bounded: {waited:?}");
    });
}
