//! What each invocation leaves behind for operators: one log line (request
//! id, route, status, latency, error code; never bodies) and one CloudWatch
//! Embedded Metric Format document (requests by route and status, latency,
//! DynamoDB time and retries, employees added and removed).
//!
//! A Lambda instance serves one invocation at a time, so DynamoDB figures are
//! gathered in process-wide counters that each invocation reads and resets.

use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use metrics::Unit;
use metrics_cloudwatch_embedded::Collector;

/// The CloudWatch namespace of the API's metrics.
pub const NAMESPACE: &str = "EmployeeApi";

/// Counts DynamoDB calls and attempts, and times them, for the invocation
/// in progress.
#[derive(Debug, Default)]
pub struct DynamoDbCallMeter;

static CALLS: AtomicU32 = AtomicU32::new(0);
static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
static MICROS: AtomicU64 = AtomicU64::new(0);
static CALL_STARTED: Mutex<Option<Instant>> = Mutex::new(None);

impl Intercept for DynamoDbCallMeter {
    fn name(&self) -> &'static str {
        "DynamoDbCallMeter"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        CALLS.fetch_add(1, Ordering::Relaxed);
        *CALL_STARTED.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        ATTEMPTS.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(started) = CALL_STARTED.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            MICROS.fetch_add(micros, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// DynamoDB activity of one invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DynamoDbCalls {
    pub calls: u32,
    /// Attempts beyond the first of each call.
    pub retries: u32,
    pub time: Duration,
}

static ADDED: AtomicU32 = AtomicU32::new(0);
static REMOVED: AtomicU32 = AtomicU32::new(0);

/// Counts an employee created by this invocation.
pub fn employee_added() {
    ADDED.fetch_add(1, Ordering::Relaxed);
}

/// Counts an employee removed by this invocation.
pub fn employee_removed() {
    REMOVED.fetch_add(1, Ordering::Relaxed);
}

/// Reads and resets everything counted since the last call: DynamoDB calls,
/// employees added and removed.
pub fn take_effects() -> (DynamoDbCalls, u32, u32) {
    (take_dynamodb_calls(), ADDED.swap(0, Ordering::Relaxed), REMOVED.swap(0, Ordering::Relaxed))
}

/// The outcome of the invocation that started at `started`, with what it
/// counted.
pub fn outcome(
    route: &'static str,
    status: u16,
    error_code: Option<&'static str>,
    started: Instant,
) -> Outcome {
    let (dynamodb, added, removed) = take_effects();
    Outcome { route, status, error_code, latency: started.elapsed(), dynamodb, added, removed }
}

/// Reads and resets the DynamoDB counters.
fn take_dynamodb_calls() -> DynamoDbCalls {
    let calls = CALLS.swap(0, Ordering::Relaxed);
    let attempts = ATTEMPTS.swap(0, Ordering::Relaxed);
    DynamoDbCalls {
        calls,
        retries: attempts.saturating_sub(calls),
        time: Duration::from_micros(MICROS.swap(0, Ordering::Relaxed)),
    }
}

/// How one invocation ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `GET /employees/{employeeId}`…, or `invoke` for a direct invocation.
    pub route: &'static str,
    /// HTTP status; for a direct invocation 200, or the error's status.
    pub status: u16,
    pub error_code: Option<&'static str>,
    pub latency: Duration,
    pub dynamodb: DynamoDbCalls,
    /// Employees this invocation created (1 or 0) or removed (1 or 0).
    pub added: u32,
    pub removed: u32,
}

static COLLECTOR: OnceLock<Option<&'static Collector>> = OnceLock::new();

/// Sets up the metrics collector for `function` (once per process).
pub fn init(function: &'static str) {
    COLLECTOR.get_or_init(|| {
        let collector = metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace(NAMESPACE)
            .with_dimension("Function", function)
            .init()
            .ok()?;
        metrics::describe_counter!("Requests", Unit::Count, "invocations by route and status");
        metrics::describe_histogram!("Latency", Unit::Milliseconds, "invocation latency");
        metrics::describe_histogram!("DynamoDbLatency", Unit::Milliseconds, "time in DynamoDB");
        metrics::describe_counter!("DynamoDbRetries", Unit::Count, "DynamoDB attempts retried");
        metrics::describe_counter!("EmployeesAdded", Unit::Count, "employees created");
        metrics::describe_counter!("EmployeesRemoved", Unit::Count, "employees removed");
        Some(collector)
    });
}

/// Logs the invocation's line and writes its metrics document to stdout.
pub fn record(request_id: &str, outcome: &Outcome) {
    let latency_ms = outcome.latency.as_secs_f64() * 1000.0;
    tracing::info!(
        request_id,
        route = outcome.route,
        status = outcome.status,
        latency_ms,
        error_code = outcome.error_code.unwrap_or(""),
        dynamodb_calls = outcome.dynamodb.calls,
        dynamodb_retries = outcome.dynamodb.retries,
        "request"
    );
    let Some(Some(collector)) = COLLECTOR.get() else {
        return;
    };
    let labels = [("Route", outcome.route.to_owned()), ("Status", outcome.status.to_string())];
    metrics::counter!("Requests", &labels).increment(1);
    metrics::histogram!("Latency", &labels).record(latency_ms);
    if outcome.dynamodb.calls > 0 {
        let route = [("Route", outcome.route.to_owned())];
        metrics::histogram!("DynamoDbLatency", &route)
            .record(outcome.dynamodb.time.as_secs_f64() * 1000.0);
        metrics::counter!("DynamoDbRetries", &route).increment(u64::from(outcome.dynamodb.retries));
    }
    if outcome.added > 0 {
        metrics::counter!("EmployeesAdded").increment(u64::from(outcome.added));
    }
    if outcome.removed > 0 {
        metrics::counter!("EmployeesRemoved").increment(u64::from(outcome.removed));
    }
    // stdout is where Lambda (and CloudWatch's EMF extraction) reads it.
    let _ =
        collector.set_property("RequestId", request_id.to_owned()).flush(std::io::stdout().lock());
}
