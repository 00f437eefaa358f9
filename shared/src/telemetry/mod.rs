//! What each invocation leaves behind for operators: one log line (request
//! id, route, status, latency, error code, DynamoDB calls and retries, in
//! the invocation's span, which adds the trace id; never bodies) and one
//! CloudWatch Embedded Metric Format document (with the request and trace
//! ids).
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

/// Sets up logging as Lambda's advanced logging controls ask: the level from
/// `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (which may also hold per-crate
/// directives), else `INFO`; JSON lines when `AWS_LAMBDA_LOG_FORMAT` is
/// `JSON` (the template sets it), text otherwise. As `lambda_runtime`'s
/// default subscriber does, with one difference: a JSON line carries its
/// fields at the top level and the invocation's span (`requestId`,
/// `xrayTraceId`) once, not twice (as the current span and again as a list of
/// one), which halves what each line costs to write.
pub fn init_logging() {
    use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter};
    use lambda_runtime::tracing::subscriber::fmt;

    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let level = variable("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| variable("RUST_LOG"))
        .and_then(|level| level.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let filter = EnvFilter::builder().with_default_directive(level.into()).from_env_lossy();
    let builder = fmt().with_target(false).without_time().with_env_filter(filter);
    let json = variable("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    // A subscriber set earlier (a test's) stays: `try_init` leaves it.
    let _ = if json {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.try_init()
    };
}

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
    skipped: Cell<u32>,
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

/// Counts items a listing left out because this API cannot read them.
pub fn items_skipped(items: u32) {
    count(|c| c.skipped.set(c.skipped.get().saturating_add(items)));
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
    /// Items a listing left out because this API cannot read them.
    pub unreadable: u32,
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
                unreadable: c.skipped.get(),
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
    // The trace id is on the line already, with the request id: the
    // runtime's span for the invocation carries both (`xrayTraceId`).
    tracing::info!(
        request_id = outcome.request_id,
        route = outcome.route,
        status = outcome.status,
        latency_ms,
        error_code = outcome.error_code.unwrap_or(""),
        dynamodb_calls = outcome.effects.dynamodb.calls,
        dynamodb_retries = outcome.effects.dynamodb.retries,
        unreadable_items = outcome.effects.unreadable,
        "request"
    );
    emf::write(outcome);
    #[cfg(feature = "otel")]
    trace::end(outcome);
}

// Last in the file: declared here, the module leaves the line numbers of the
// code above (which tracing's call sites record) as they are without it.
#[cfg(feature = "otel")]
pub mod trace;
