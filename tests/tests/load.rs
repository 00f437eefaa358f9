//! Races and load through the local stack (`cargo lambda watch` + DynamoDB
//! Local), checked against a model of what the table must hold.
//!
//! The load run prints its throughput and latency; nothing here asserts a
//! speed (machines are shared and noisy), only correctness.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use employee_api_tests::dynamodb_local::{all_items, client};
use employee_api_tests::lambda_watch::local_api;
use employee_api_tests::stats::percentile;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// Requests in the load run (`LOAD_REQUESTS` overrides).
fn total_requests() -> usize {
    std::env::var("LOAD_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000)
}

const WORKERS: usize = 32;
const IDS_PER_WORKER: usize = 16;

/// A tiny deterministic generator (xorshift), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    server_errors: Vec<String>,
    mismatches: Vec<String>,
}

/// One worker: owns its ids, so its model of them is exact whatever the
/// other 31 workers do at the same time.
async fn worker(
    http: Client,
    base: String,
    worker: usize,
    requests: usize,
) -> (BTreeMap<String, String>, Tally) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (worker as u64 + 1));
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let mut tally = Tally::default();
    for n in 0..requests {
        let id = format!("load-{worker:02}-{:02}", rng.below(IDS_PER_WORKER));
        let title = format!("Title {}", rng.below(4));
        let op = rng.below(100);
        let started = Instant::now();
        let (what, request) = match op {
            0..=24 => ("GET", http.get(format!("{base}/employees/{id}"))),
            25..=44 => (
                "POST",
                http.post(format!("{base}/employees"))
                    .json(&json!({"employee": id, "jobTitle": title})),
            ),
            45..=69 => (
                "PUT",
                http.put(format!("{base}/employees/{id}")).json(&json!({"jobTitle": title})),
            ),
            70..=89 => ("DELETE", http.delete(format!("{base}/employees/{id}"))),
            _ => (
                "LIST",
                http.get(format!(
                    "{base}/employees?jobTitle={}&limit=5",
                    title.replace(' ', "%20")
                )),
            ),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                tally.server_errors.push(format!("{what} {id}: {e}"));
                continue;
            }
        };
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        tally.latencies.push(started.elapsed());
        if status.is_server_error() {
            tally.server_errors.push(format!("{what} {id}: {status} {body}"));
            continue;
        }
        let current = model.get(&id).cloned();
        let expected_ok = match (what, &current) {
            ("GET", Some(t)) => status == StatusCode::OK && body["jobTitle"] == *t,
            ("GET", None) => status == StatusCode::NOT_FOUND,
            ("POST", Some(_)) => status == StatusCode::CONFLICT,
            ("POST", None) => {
                model.insert(id.clone(), title.clone());
                status == StatusCode::CREATED
            }
            ("PUT", existing) => {
                let ok = if existing.is_some() {
                    status == StatusCode::OK
                } else {
                    status == StatusCode::CREATED
                };
                model.insert(id.clone(), title.clone());
                ok
            }
            ("DELETE", Some(t)) => {
                let ok = status == StatusCode::OK && body["jobTitle"] == *t;
                model.remove(&id);
                ok
            }
            ("DELETE", None) => status == StatusCode::NOT_FOUND,
            _ => status == StatusCode::OK && body["employees"].is_array(),
        };
        if !expected_ok {
            tally
                .mismatches
                .push(format!("request {n}: {what} {id} (model {current:?}) got {status} {body}"));
        }
    }
    (model, tally)
}

fn id_and_title(item: &std::collections::HashMap<String, AttributeValue>) -> (String, String) {
    match (&item["EmployeeId"], &item["JobTitle"]) {
        (AttributeValue::S(id), AttributeValue::S(title)) => (id.clone(), title.clone()),
        other => panic!("malformed item {other:?}"),
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_mixed_requests_leave_exactly_what_the_model_predicts() {
    let api = local_api();
    let total = total_requests();
    let http = employee_api_tests::http_builder().pool_max_idle_per_host(WORKERS).build().unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..WORKERS)
        .map(|w| {
            let per_worker = total / WORKERS + usize::from(w < total % WORKERS);
            tokio::spawn(worker(http.clone(), api.base_url.clone(), w, per_worker))
        })
        .collect();
    let mut model = BTreeMap::new();
    let mut tally = Tally::default();
    for task in tasks {
        let (worker_model, worker_tally) = task.await.unwrap();
        model.extend(worker_model);
        tally.latencies.extend(worker_tally.latencies);
        tally.server_errors.extend(worker_tally.server_errors);
        tally.mismatches.extend(worker_tally.mismatches);
    }
    let elapsed = started.elapsed();
    tally.latencies.sort();
    println!(
        "load: {} requests, concurrency {WORKERS}, in {:.1} s = {:.0} requests/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        tally.latencies.len(),
        elapsed.as_secs_f64(),
        tally.latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&tally.latencies, 50.0).as_secs_f64() * 1000.0,
        percentile(&tally.latencies, 99.0).as_secs_f64() * 1000.0,
        percentile(&tally.latencies, 100.0).as_secs_f64() * 1000.0,
    );
    assert!(
        tally.server_errors.is_empty(),
        "{} server errors: {:?}",
        tally.server_errors.len(),
        &tally.server_errors[..tally.server_errors.len().min(10)]
    );
    assert!(
        tally.mismatches.is_empty(),
        "{} answers the model contradicts: {:?}",
        tally.mismatches.len(),
        &tally.mismatches[..tally.mismatches.len().min(10)]
    );
    assert_eq!(tally.latencies.len(), total);

    let client = client();
    let stored: BTreeMap<String, String> = all_items(&client, &api.table)
        .await
        .iter()
        .map(id_and_title)
        .filter(|(id, _)| id.starts_with("load-"))
        .collect();
    let lost: Vec<_> = model.iter().filter(|(id, t)| stored.get(*id) != Some(*t)).collect();
    let phantom: Vec<_> = stored.keys().filter(|id| !model.contains_key(*id)).collect();
    assert!(lost.is_empty(), "lost or wrong writes: {lost:?}");
    assert!(phantom.is_empty(), "phantom writes: {phantom:?}");
}

async fn current_title(http: &Client, url: &str) -> Option<String> {
    let response = http.get(url).send().await.unwrap();
    match response.status().as_u16() {
        404 => None,
        200 => {
            Some(response.json::<Value>().await.unwrap()["jobTitle"].as_str().unwrap().to_owned())
        }
        other => panic!("GET {url}: {other}"),
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn interleaved_puts_and_deletes_of_one_id_leave_a_state_some_serial_order_explains() {
    let api = local_api();
    let http = employee_api_tests::http();
    let url = api.url("/employees/interleave-1");
    for round in 0..5 {
        let before = current_title(&http, &url).await;
        let written: BTreeSet<String> =
            (0..16).step_by(2).map(|n| format!("Round {round} writer {n}")).collect();
        let tasks: Vec<_> = (0..16)
            .map(|n| {
                let (http, url) = (http.clone(), url.clone());
                tokio::spawn(async move {
                    let request = if n % 2 == 0 {
                        http.put(url)
                            .json(&json!({"jobTitle": format!("Round {round} writer {n}")}))
                    } else {
                        http.delete(url)
                    };
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    (n, status, response.json::<Value>().await.unwrap_or(Value::Null))
                })
            })
            .collect();
        for task in tasks {
            let (n, status, body) = task.await.unwrap();
            match (n % 2 == 0, status) {
                (true, 200 | 201) | (false, 404) => {}
                (false, 200) => {
                    // A delete removes what was there: the state before the
                    // round or one of this round's writes, nothing else.
                    let title = body["jobTitle"].as_str().unwrap().to_owned();
                    assert!(
                        written.contains(&title) || before.as_ref() == Some(&title),
                        "round {round}: DELETE {n} returned {title:?}, which no write stored"
                    );
                }
                _ => panic!("round {round}: request {n} got {status} {body}"),
            }
        }
        // Every write of the round happened, so the last operation was one
        // of them or a delete after them.
        let after = current_title(&http, &url).await;
        assert!(
            after.as_ref().is_none_or(|t| written.contains(t)),
            "round {round}: final state {after:?} is no serial order's outcome"
        );
    }
}
