//! OpenTelemetry traces (the `otel` cargo feature): one server span per
//! invocation and one client span per DynamoDB attempt, exported over
//! OTLP/HTTP (protobuf) after the invocation has answered.
//!
//! Attribute names follow the OpenTelemetry semantic conventions 1.42.0
//! (the `opentelemetry-semantic-conventions` crate's `SCHEMA_URL`): FaaS
//! and HTTP server spans, and AWS SDK client spans (`rpc.system` =
//! `aws-api`, `rpc.service`, `rpc.method`, `aws.dynamodb.table_names`,
//! `aws.request_id`), which the conventions keep on the older `rpc.*` names
//! on purpose (semantic-conventions PR 3176, issue 1545).
//!
//! # On, off
//! Tracing is on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, unless `OTEL_SDK_DISABLED` is
//! `true` or `OTEL_TRACES_EXPORTER` is `none`. The exporter
//! (`opentelemetry-otlp`) reads the standard variables
//! `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS`
//! (without compression: gzip is not built in); the SDK reads `OTEL_TRACES_SAMPLER`
//! and `OTEL_TRACES_SAMPLER_ARG`; [`resource`] reads `OTEL_SERVICE_NAME`
//! and `OTEL_RESOURCE_ATTRIBUTES`. Exports to X-Ray's own OTLP endpoint
//! (`https://xray.<region>.amazonaws.com/v1/traces`) are signed with SigV4
//! and the function's credentials ([`sigv4`]), so no collector is needed
//! in between. A configuration it cannot use (another
//! protocol than `http/protobuf`, a bad endpoint) is logged once at init and
//! the function runs untraced: tracing never stops the API.
//!
//! # Context
//! The invocation span continues Lambda's trace: its trace id, parent and
//! sampling decision come from the invocation's own X-Ray header
//! (`Context::xray_trace_id`; `_X_AMZN_TRACE_ID` is one per process, so
//! unusable when a process serves several invocations at once). A span the
//! header says not to sample is never recorded, nor are its children. The
//! invocation's span context is a task-local value, as the telemetry
//! counters are, so the DynamoDB attempt spans (made by an SDK interceptor
//! in the invocation's task) nest under the right invocation.
//!
//! # Export
//! Spans are buffered as they end and exported by [`TraceLayer`], which
//! runs after the runtime has posted the invocation's answer and before it
//! asks for the next event. Lambda freezes an execution environment only
//! once the runtime asks for the next event ("Lambda freezes the execution
//! environment when the runtime and each extension have completed and there
//! are no pending events",
//! <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>),
//! so the export is never frozen half-way, and the client has its answer
//! before the export starts. The export is bounded by [`export_bound`]
//! (500 ms unless `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or
//! `OTEL_EXPORTER_OTLP_TIMEOUT` says otherwise, in ms): spans it could not
//! deliver by then are dropped, and a warning line counts them.
//!
//! An export is a request to the collector, which costs more CPU than the
//! invocation's spans, so invocations share them ([`Schedule`]): after an
//! invocation the buffer is exported when the last export is
//! `OTEL_BSP_SCHEDULE_DELAY` old (1000 ms by default) or
//! `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` spans (512) wait; a function invoked
//! less often than that exports after every invocation, as with a delay of
//! `0`. Spans left in the buffer wait, frozen with the process, for the
//! next invocation or for the environment's shutdown: an internal extension
//! (registered at init, subscribed to no event) is what makes Lambda send
//! the runtime `SIGTERM` and wait 500 ms before it stops the environment
//! ("500 ms for a runtime with an internal extension",
//! <https://github.com/aws-samples/graceful-shutdown-with-aws-lambda>;
//! the Extensions API's shutdown phase,
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html#runtimes-lifecycle-shutdown>),
//! and on `SIGTERM` (or `SIGINT`) the buffer is exported within
//! [`SHUTDOWN_BOUND`] before the process exits. Where the extension cannot
//! be registered (an emulator without the Extensions API), every
//! invocation exports its own spans.

mod dynamodb;
mod extension;
mod http;
mod sigv4;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use lambda_runtime::LambdaInvocation;
use lambda_runtime::tower::{Layer, Service};
use opentelemetry::trace::{
    Span as _, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::resource::{EnvResourceDetector, TelemetryResourceDetector};
use opentelemetry_sdk::trace::{
    SdkTracer, SdkTracerProvider, Span, SpanData, SpanExporter as _, SpanProcessor,
};
use opentelemetry_semantic_conventions::{SCHEMA_URL, attribute as semconv};

pub(crate) use dynamodb::{AttemptSpan, CallTables};

use super::Outcome;

/// How long an export may take unless the standard variables say otherwise.
pub const DEFAULT_EXPORT_BOUND: Duration = Duration::from_millis(500);

/// How long the spans of the environment's last invocations may take to
/// leave once Lambda has sent `SIGTERM`: Lambda stops the runtime 500 ms
/// after it.
pub const SHUTDOWN_BOUND: Duration = Duration::from_millis(400);

/// The internal extension's name (unique among a function's extensions).
pub const EXTENSION_NAME: &str = "employee-api-traces";

/// The instrumentation scope's name.
const SCOPE: &str = "employee-api";

/// The process's tracing, set once at init when it is on.
static TRACING: OnceLock<Tracing> = OnceLock::new();

tokio::task_local! {
    /// The context (with the invocation's span) of the invocation whose task
    /// is running; set only for a recorded (sampled) invocation.
    static CURRENT: Context;
}

struct Tracing {
    tracer: SdkTracer,
    /// Kept so the tracer's processors live as long as the process.
    _provider: SdkTracerProvider,
    exporter: opentelemetry_otlp::SpanExporter,
    buffer: Arc<Buffer>,
    bound: Duration,
    schedule: Schedule,
    /// Whether spans may wait for a later invocation: only once the
    /// shutdown export is in place ([`install_shutdown_export`]).
    deferring: AtomicBool,
    region: String,
}

/// When buffered spans leave, from the batch span processor's standard
/// variables (read as the processor reads them: a delay in milliseconds, a
/// count of spans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// `OTEL_BSP_SCHEDULE_DELAY`: the least time between two exports.
    pub delay: Duration,
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`: this many spans leave at once,
    /// whatever the delay.
    pub batch: usize,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`: at most this many spans wait; more are
    /// dropped and counted, so an unreachable collector never grows the
    /// process.
    pub queue: usize,
}

impl Default for Schedule {
    fn default() -> Self {
        Self { delay: Duration::from_millis(1000), batch: 512, queue: 2048 }
    }
}

impl Schedule {
    /// The schedule the environment asks for; a value that is not a number
    /// keeps the default.
    pub fn from_env() -> Self {
        let number = |name: &str| variable(name)?.trim().parse::<u64>().ok();
        let default = Self::default();
        let count = |name, default: usize| {
            number(name).and_then(|n| usize::try_from(n).ok()).filter(|&n| n > 0).unwrap_or(default)
        };
        let queue = count("OTEL_BSP_MAX_QUEUE_SIZE", default.queue);
        Self {
            delay: number("OTEL_BSP_SCHEDULE_DELAY").map_or(default.delay, Duration::from_millis),
            batch: count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", default.batch).min(queue),
            queue,
        }
    }
}

/// Ended spans waiting for the next export, and those dropped because the
/// buffer was full.
#[derive(Debug)]
struct Buffer {
    waiting: Mutex<Waiting>,
    overflowed: AtomicU64,
    queue: usize,
}

#[derive(Debug, Default)]
struct Waiting {
    spans: Vec<SpanData>,
    /// When the last export started.
    exported: Option<Instant>,
}

/// Which spans an export takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    /// The buffer, if the schedule says it is time.
    Due,
    /// The buffer, whatever the schedule.
    All,
}

impl Buffer {
    fn new(queue: usize) -> Self {
        Self { waiting: Mutex::default(), overflowed: AtomicU64::new(0), queue }
    }

    /// Takes the spans to export now, and the count of those dropped since
    /// the last export.
    fn take(&self, take: Take, schedule: &Schedule) -> (Vec<SpanData>, u64) {
        let Ok(mut waiting) = self.waiting.lock() else { return (Vec::new(), 0) };
        let now = Instant::now();
        let due = take == Take::All
            || waiting.spans.len() >= schedule.batch
            || waiting.exported.is_none_or(|at| now.duration_since(at) >= schedule.delay);
        if !due {
            return (Vec::new(), 0);
        }
        let overflowed = self.overflowed.swap(0, Ordering::Relaxed);
        if !waiting.spans.is_empty() {
            waiting.exported = Some(now);
        }
        (std::mem::take(&mut waiting.spans), overflowed)
    }
}

/// The span processor: buffers ended spans for [`TraceLayer`]. (The SDK's
/// simple processor exports each span as it ends, on the invocation's own
/// path; its batch processor exports from a thread of its own, which Lambda
/// may freeze mid-export between invocations.)
#[derive(Debug)]
struct Buffering(Arc<Buffer>);

impl SpanProcessor for Buffering {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let Ok(mut waiting) = self.0.waiting.lock() else { return };
        if waiting.spans.len() < self.0.queue {
            waiting.spans.push(span);
        } else {
            self.0.overflowed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Why tracing stayed off although an endpoint was set.
#[derive(Debug, thiserror::Error)]
pub enum TracingError {
    #[error(
        "{variable}={value} is not supported: the functions export traces over OTLP/HTTP with protobuf (http/protobuf) only"
    )]
    Protocol { variable: &'static str, value: String },
    #[error("the OTLP exporter cannot be built: {0}")]
    Exporter(String),
    /// X-Ray's endpoint, and no credentials to sign for it.
    #[error("traces for X-Ray's OTLP endpoint are signed with the function's credentials: {0}")]
    Credentials(#[from] crate::config::ConfigError),
}

impl TracingError {
    /// The stable name of the error, on its log line.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Protocol { .. } => "Configuration.UnsupportedOtlpProtocol",
            Self::Exporter(_) => "Configuration.InvalidOtlpExporter",
            Self::Credentials(error) => error.code(),
        }
    }
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The collector's endpoint, when the environment asks for traces.
fn requested() -> Option<String> {
    let endpoint = variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|| variable("OTEL_EXPORTER_OTLP_ENDPOINT"))?;
    let disabled = variable("OTEL_SDK_DISABLED").is_some_and(|v| v.trim() == "true");
    let no_exporter = variable("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim() == "none");
    (!disabled && !no_exporter).then_some(endpoint)
}

/// The bound on one export: `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else
/// `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds), else
/// [`DEFAULT_EXPORT_BOUND`].
pub fn export_bound() -> Duration {
    ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"]
        .iter()
        .find_map(|name| variable(name)?.trim().parse::<u64>().ok())
        .map_or(DEFAULT_EXPORT_BOUND, Duration::from_millis)
}

/// Sets tracing up when the environment asks for it (during init, once):
/// whether it is on. A configuration it cannot use is logged and leaves it
/// off.
pub fn init() -> bool {
    if TRACING.get().is_some() {
        return true;
    }
    let Some(endpoint) = requested() else { return false };
    let region =
        variable("AWS_REGION").or_else(|| variable("AWS_DEFAULT_REGION")).unwrap_or_default();
    match build(&region, endpoint.trim().starts_with("https://")) {
        Ok(tracing) => TRACING.set(tracing).is_ok(),
        Err(error) => {
            tracing::error!(error.code = error.code(), "{error}; traces are off");
            false
        }
    }
}

/// The tracer and its exporter; `https`: the endpoint is one (the TLS
/// client is built now rather than on first use).
fn build(region: &str, https: bool) -> Result<Tracing, TracingError> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};

    for name in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
        if let Some(value) = variable(name) {
            if value.trim() != "http/protobuf" {
                return Err(TracingError::Protocol { variable: name, value });
            }
            break;
        }
    }
    let bound = export_bound();
    let signer = signer()?;
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(http::OtlpHttpClient::new(bound, https, signer))
        .with_timeout(bound)
        .build()
        .map_err(|e| TracingError::Exporter(e.to_string()))?;
    let resource = resource(region);
    exporter.set_resource(&resource);
    let schedule = Schedule::from_env();
    let buffer = Arc::new(Buffer::new(schedule.queue));
    let provider = SdkTracerProvider::builder()
        .with_span_processor(Buffering(Arc::clone(&buffer)))
        .with_id_generator(opentelemetry_aws::trace::XrayIdGenerator::default())
        .with_resource(resource)
        .build();
    let scope = InstrumentationScope::builder(SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(SCHEMA_URL)
        .build();
    let tracer = provider.tracer_with_scope(scope);
    Ok(Tracing {
        tracer,
        _provider: provider,
        exporter,
        buffer,
        bound,
        schedule,
        deferring: AtomicBool::new(false),
        region: region.to_owned(),
    })
}

/// The signer for X-Ray's OTLP endpoint, when the traces go there
/// ([`sigv4`]): the region is the endpoint's, the credentials the
/// function's.
fn signer() -> Result<Option<Arc<sigv4::Signer>>, TracingError> {
    // As the exporter reads them: unset or empty is absent.
    let raw = |name| std::env::var(name).ok().filter(|value: &String| !value.is_empty());
    let url = sigv4::traces_url(
        raw("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").as_deref(),
        raw("OTEL_EXPORTER_OTLP_ENDPOINT").as_deref(),
    );
    let Some(region) = url.as_deref().and_then(sigv4::xray_region) else { return Ok(None) };
    let credentials = crate::config::credential_source(&|name| std::env::var(name).ok())?;
    Ok(Some(sigv4::Signer::new(region, credentials)))
}

/// The process's resource: `service.name` is `OTEL_SERVICE_NAME`, else the
/// Lambda function's name; the cloud and FaaS attributes Lambda's
/// environment gives; then `OTEL_RESOURCE_ATTRIBUTES`.
fn resource(region: &str) -> Resource {
    let function_name = variable("AWS_LAMBDA_FUNCTION_NAME");
    let mut attributes = vec![
        KeyValue::new(semconv::CLOUD_PROVIDER, "aws"),
        KeyValue::new(semconv::CLOUD_PLATFORM, "aws_lambda"),
        KeyValue::new(semconv::CLOUD_REGION, region.to_owned()),
    ];
    let lambda = [
        (semconv::FAAS_NAME, function_name.clone()),
        (semconv::FAAS_VERSION, variable("AWS_LAMBDA_FUNCTION_VERSION")),
        (semconv::FAAS_INSTANCE, variable("AWS_LAMBDA_LOG_STREAM_NAME")),
    ];
    attributes.extend(lambda.into_iter().filter_map(|(k, v)| Some(KeyValue::new(k, v?))));
    if let Some(memory) =
        variable("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|m| m.trim().parse::<i64>().ok())
    {
        attributes.push(KeyValue::new(semconv::FAAS_MAX_MEMORY, memory * 1024 * 1024));
    }
    // Then what the environment says wins: OTEL_RESOURCE_ATTRIBUTES, and
    // OTEL_SERVICE_NAME over both.
    let mut builder = Resource::builder_empty()
        .with_attributes(attributes)
        .with_detector(Box::new(TelemetryResourceDetector));
    if let Some(name) = function_name {
        builder = builder.with_service_name(name);
    }
    builder = builder.with_detector(Box::new(EnvResourceDetector::new()));
    if let Some(name) = variable("OTEL_SERVICE_NAME") {
        builder = builder.with_service_name(name.trim().to_owned());
    }
    builder.build()
}

/// Whether this is the process's first invocation.
static COLD: AtomicBool = AtomicBool::new(true);

/// Starts the invocation's span, under the trace of the invocation's X-Ray
/// header: the context holding it (for [`scope`]), or `None` when tracing
/// is off or the header says not to sample.
fn start(context: &lambda_runtime::Context) -> Option<Context> {
    let tracing = TRACING.get()?;
    let cold = COLD.swap(false, Ordering::Relaxed);
    let parent = context
        .xray_trace_id
        .as_deref()
        .and_then(opentelemetry_aws::trace::xray_propagator::span_context_from_str)
        .map_or_else(Context::new, |remote| Context::new().with_remote_span_context(remote));
    let span = tracing
        .tracer
        .span_builder(context.env_config.function_name.clone())
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new(semconv::FAAS_INVOCATION_ID, context.request_id.clone()),
            KeyValue::new(semconv::FAAS_NAME, context.env_config.function_name.clone()),
            KeyValue::new(semconv::FAAS_COLDSTART, cold),
            KeyValue::new(semconv::CLOUD_PROVIDER, "aws"),
            KeyValue::new(semconv::CLOUD_REGION, tracing.region.clone()),
            KeyValue::new(semconv::CLOUD_RESOURCE_ID, context.invoked_function_arn.clone()),
        ])
        .start_with_context(&tracing.tracer, &parent);
    if !span.is_recording() {
        return None;
    }
    Some(parent.with_span(span))
}

/// Runs `invocation` with `trace` as its task's span context, so the spans
/// it makes (the DynamoDB attempts) are children of its span, and [`end`]
/// finds it.
async fn scope<F: Future>(trace: Option<Context>, invocation: F) -> F::Output {
    match trace {
        Some(cx) => CURRENT.scope(cx, invocation).await,
        None => invocation.await,
    }
}

/// Names the running invocation's span for what the invocation turned out
/// to be, records how it ended and ends it (from [`super::record`]).
pub fn end(outcome: &Outcome<'_>) {
    let Ok(cx) = CURRENT.try_with(Context::clone) else { return };
    let span = cx.span();
    // `GET /employees/{employeeId}`, `unmatched`, or `invoke`.
    match outcome.route.split_once(' ') {
        Some((method, route)) => {
            span.update_name(Cow::Borrowed(outcome.route));
            span.set_attributes([
                KeyValue::new(semconv::FAAS_TRIGGER, "http"),
                KeyValue::new(semconv::HTTP_REQUEST_METHOD, method),
                KeyValue::new(semconv::HTTP_ROUTE, route),
                KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(outcome.status)),
            ]);
        }
        None if outcome.route == "invoke" => {
            span.set_attribute(KeyValue::new(semconv::FAAS_TRIGGER, "other"));
        }
        None => {
            span.set_attributes([
                KeyValue::new(semconv::FAAS_TRIGGER, "http"),
                KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(outcome.status)),
            ]);
        }
    }
    if let Some(code) = outcome.error_code {
        // The API's stable code for every refused request; `error.type` (and
        // an error status) only for a server error: a 4xx is a request the
        // server handled (HTTP server span conventions).
        span.set_attribute(KeyValue::new("employee_api.error_code", code));
        if outcome.status >= 500 {
            span.set_attribute(KeyValue::new(semconv::ERROR_TYPE, code));
            span.set_status(Status::error(code));
        }
    }
    span.end();
}

/// The running invocation's context, when it is recorded.
fn current() -> Option<Context> {
    CURRENT.try_with(Context::clone).ok()
}

/// The process's tracer, and the invocation context a span made now nests
/// under: `None` outside a recorded invocation.
fn for_child() -> Option<(&'static SdkTracer, Context, &'static str)> {
    let tracing = TRACING.get()?;
    Some((&tracing.tracer, current()?, tracing.region.as_str()))
}

/// Exports the spans the schedule says are due ([`Take::All`] with no
/// shutdown export in place), within the export bound or `cap` if sooner:
/// spans not delivered in time are dropped and counted in a warning line.
/// How many left.
async fn export(take: Take, cap: Duration) -> u64 {
    let Some(tracing) = TRACING.get() else { return 0 };
    let bound = tracing.bound.min(cap);
    let take = if tracing.deferring.load(Ordering::Relaxed) { take } else { Take::All };
    let (spans, overflowed) = tracing.buffer.take(take, &tracing.schedule);
    if spans.is_empty() && overflowed == 0 {
        return 0;
    }
    let count = spans.len() as u64;
    let failure = if spans.is_empty() {
        None
    } else {
        match tokio::time::timeout(bound, tracing.exporter.export(spans)).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error.to_string()),
            Err(_) => Some(format!("no answer from the collector within {bound:?}")),
        }
    };
    let dropped = overflowed + if failure.is_some() { count } else { 0 };
    if dropped > 0 {
        tracing::warn!(
            spans_dropped = dropped,
            error.detail = failure.as_deref().unwrap_or("the span buffer was full"),
            "traces not exported"
        );
    }
    if failure.is_some() { 0 } else { count }
}

/// Registers the internal extension that makes Lambda send `SIGTERM` before
/// it shuts the environment down, and exports what is left on it (during
/// init, before the runtime's first poll, which ends init). Without it
/// (an emulator with no Extensions API, a delay of `0`), every invocation
/// exports its own spans.
async fn install_shutdown_export() {
    use tokio::signal::unix::{SignalKind, signal};

    let Some(tracing) = TRACING.get() else { return };
    if tracing.schedule.delay.is_zero() {
        return;
    }
    let extension = match extension::register(EXTENSION_NAME).await {
        Ok(extension) => extension,
        Err(error) => return no_shutdown_export(&*error),
    };
    // The extension asks for its next event, and so tells Lambda its init
    // is done; subscribed to none, it never gets one.
    tokio::spawn(extension);
    // Only now: once handled, the signals no longer end the process by
    // themselves (a failed registration leaves them as they were).
    let signals =
        signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)));
    let (mut terminate, mut interrupt) = match signals {
        Ok(signals) => signals,
        Err(error) => return no_shutdown_export(&error),
    };
    tracing.deferring.store(true, Ordering::Relaxed);
    tokio::spawn(async move {
        let signal = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        let spans = export(Take::All, SHUTDOWN_BOUND).await;
        tracing::info!(signal, spans_exported = spans, "shutting down");
        std::process::exit(0);
    });
}

fn no_shutdown_export(error: &(dyn std::fmt::Display + '_)) {
    tracing::warn!(
        error.detail = %error,
        "no export at shutdown (the internal extension or the signal handler could not be set up): every invocation exports its spans"
    );
}

/// A runtime layer that runs each invocation inside its span and exports
/// the buffered spans once the invocation's answer has been posted, before
/// the runtime asks for the next event.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer;

impl<S> Layer<S> for TraceLayer {
    type Service = Exporting<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Exporting(inner)
    }
}

#[derive(Debug, Clone)]
pub struct Exporting<S>(S);

impl<S> Service<LambdaInvocation> for Exporting<S>
where
    S: Service<LambdaInvocation, Response = ()>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = ();
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<(), S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let trace = start(&invocation.context);
        // The handler runs when this future is polled, inside the scope.
        let answered = self.0.call(invocation);
        Box::pin(async move {
            let result = scope(trace, answered).await;
            export(Take::Due, Duration::MAX).await;
            result
        })
    }
}

/// The runtime loop with traces: `lambda_runtime::run_concurrent` when
/// tracing is off; when on, the same runtime with [`TraceLayer`] inside the
/// runtime's own tracing layer (so its log lines carry the request id).
pub mod runtime {
    use std::fmt::Debug;

    use futures_core::Stream;
    use lambda_runtime::{
        Diagnostic, Error, IntoFunctionResponse, LambdaEvent, Runtime, layers::TracingLayer,
    };
    use serde::{Deserialize, Serialize};

    /// As [`lambda_runtime::run_concurrent`], traced when the environment
    /// asks for traces ([`super::init`]).
    pub async fn run_concurrent<A, F, R, B, S, D, E>(handler: F) -> Result<(), Error>
    where
        F: lambda_runtime::Service<LambdaEvent<A>, Response = R> + Clone + Send + 'static,
        F::Future: std::future::Future<Output = Result<R, F::Error>> + Send + 'static,
        F::Error: Into<Diagnostic> + Debug,
        A: for<'de> Deserialize<'de> + Send + 'static,
        R: IntoFunctionResponse<B, S> + Send + 'static,
        B: Serialize + Send + 'static,
        S: Stream<Item = Result<D, E>> + Unpin + Send + 'static,
        D: Into<bytes::Bytes> + Send + 'static,
        E: Into<Error> + Send + Debug + 'static,
    {
        if !super::init() {
            return lambda_runtime::run_concurrent(handler).await;
        }
        super::install_shutdown_export().await;
        Runtime::new(handler)
            .layer(super::TraceLayer)
            .layer(TracingLayer::new())
            .run_concurrent()
            .await
    }
}
