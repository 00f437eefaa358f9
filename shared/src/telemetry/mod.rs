//! What each invocation leaves behind for operators: one log line (request
//! id, trace id, route, status, latency, error code, DynamoDB calls; never
//! bodies) and one CloudWatch Embedded Metric Format document.
//!
//! What an invocation counts belongs to that invocation, never to the
//! process: a process may serve several invocations at once (Lambda Managed
//! Instances). The entry point runs each invocation inside [`measure`],
//! which gives it its own [`Counters`] as a task-local value; the DynamoDB
//! call meter (an SDK interceptor, which runs in the invocation's task) and
//! the use cases add to them, and the entry point reads them when the
//! invocation ends.

mod emf;
mod meter;

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

pub use meter::DynamoDbCallMeter;

/// The CloudWatch namespace of the API's metrics.
pub const NAMESPACE: &str = "EmployeeApi";

tokio::task_local! {
    /// The counters of the invocation whose task is running.
    static COUNTERS: Counters;
}

/// What one invocation did, counted while it runs.
#[derive(Debug, Default)]
struct Counters {
    calls: Cell<u32>,
    attempts: Cell<u32>,
    dynamodb_time: Cell<Duration>,
    added: Cell<u32>,
    removed: Cell<u32>,
}

/// Adds to the running invocation's counters; outside an invocation (store
/// tests, the connection opened during init) there is nothing to count.
fn count(add: impl FnOnce(&Counters)) {
    let _ = COUNTERS.try_with(add);
}

fn increment(cell: &Cell<u32>) {
    cell.set(cell.get().saturating_add(1));
}

/// Counts an employee created by this invocation.
pub fn employee_added() {
    count(|c| increment(&c.added));
}

/// Counts an employee removed by this invocation.
pub fn employee_removed() {
    count(|c| increment(&c.removed));
}

/// DynamoDB activity of one invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DynamoDbCalls {
    pub calls: u32,
    /// Attempts beyond the first of each call.
    pub retries: u32,
    pub time: Duration,
}

/// What an invocation did besides answering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects {
    pub dynamodb: DynamoDbCalls,
    /// Employees this invocation created (1 or 0) or removed (1 or 0).
    pub added: u32,
    pub removed: u32,
}

/// Runs `invocation` with counters of its own, and returns its output with
/// what it counted.
pub async fn measure<F: Future>(invocation: F) -> (F::Output, Effects) {
    COUNTERS
        .scope(Counters::default(), async {
            let output = invocation.await;
            let effects = COUNTERS.with(|c| Effects {
                dynamodb: DynamoDbCalls {
                    calls: c.calls.get(),
                    retries: c.attempts.get().saturating_sub(c.calls.get()),
                    time: c.dynamodb_time.get(),
                },
                added: c.added.get(),
                removed: c.removed.get(),
            });
            (output, effects)
        })
        .await
}

/// How one invocation ended.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    /// The Lambda function (`get-employee`…).
    pub function: &'static str,
    pub request_id: &'a str,
    /// X-Ray's trace id, from the invocation's context.
    pub trace_id: Option<&'a str>,
    /// `GET /employees/{employeeId}`…, `unmatched`, or `invoke` for a
    /// direct invocation.
    pub route: &'static str,
    /// HTTP status; for a direct invocation 200, or the error's status.
    pub status: u16,
    pub error_code: Option<&'static str>,
    pub latency: Duration,
    pub effects: Effects,
}

/// Logs the invocation's line and writes its metrics document to stdout,
/// where Lambda (and CloudWatch's EMF extraction) reads them.
pub fn record(outcome: &Outcome<'_>) {
    let latency_ms = outcome.latency.as_secs_f64() * 1000.0;
    tracing::info!(
        request_id = outcome.request_id,
        trace_id = outcome.trace_id.unwrap_or(""),
        route = outcome.route,
        status = outcome.status,
        latency_ms,
        error_code = outcome.error_code.unwrap_or(""),
        dynamodb_calls = outcome.effects.dynamodb.calls,
        dynamodb_retries = outcome.effects.dynamodb.retries,
        "request"
    );
    emf::write(outcome);
}
