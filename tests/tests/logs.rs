//! What the functions log: one line per request with its method, status and
//! error code — never a request body, an employee's job title or, at info
//! level, anything a client sent.

use std::io::Write;
use std::sync::{Arc, Mutex};

use employee_api::store::{Fault, MemoryStore};
use employee_api_tests::events::http_event;
use employee_api_tests::invoke::{function_for, invoke};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRET_TITLE: &str = "Zebra Whisperer 7f3a";

fn event(method: &str, path: &str, query: &str, body: Option<&str>) -> Value {
    let event = http_event(method, path).query(query).content_type("application/json");
    match body {
        Some(body) => event.body(body).build(),
        None => event.build(),
    }
}

async fn send(store: &MemoryStore, payload: Value) {
    let method = payload["requestContext"]["http"]["method"].as_str().unwrap_or("GET");
    let _ = invoke(function_for(method), store, &payload).await;
}

#[test]
fn info_logs_carry_no_bodies_or_job_titles() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let store = MemoryStore::new();
            let body = json!({"employee": "log-1", "jobTitle": SECRET_TITLE}).to_string();
            send(&store, event("POST", "/employees", "", Some(&body))).await;
            send(&store, event("POST", "/employees", "", Some(&body))).await; // 409
            let put = json!({"jobTitle": SECRET_TITLE}).to_string();
            send(&store, event("PUT", "/employees/log-2", "", Some(&put))).await;
            let unknown =
                json!({"employee": "log-3", "jobTitle": SECRET_TITLE, "extra": SECRET_TITLE})
                    .to_string();
            send(&store, event("POST", "/employees", "", Some(&unknown))).await; // 400
            send(&store, event("GET", "/employees/log-1", "", None)).await;
            let query = format!("jobTitle={}", SECRET_TITLE.replace(' ', "%20"));
            send(&store, event("GET", "/employees", &query, None)).await;
            send(&store, event("DELETE", "/employees/log-1", "", None)).await;
            // Direct invocation, and a dependency fault.
            send(&store, json!({"employee": "log-4", "jobTitle": SECRET_TITLE})).await;
            store.set_fault(Some(Fault::Unavailable));
            send(&store, event("POST", "/employees", "", Some(&body))).await;
        });
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("status=201"), "the requests were logged:\n{logs}");
    assert!(
        logs.contains("EmployeeAlreadyExists") && logs.contains("ServiceUnavailable"),
        "{logs}"
    );
    assert!(!logs.contains("Zebra"), "a job title reached the logs:\n{logs}");
    assert!(!logs.contains("jobTitle"), "a body reached the logs:\n{logs}");
}
