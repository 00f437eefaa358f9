//! The Lambda entry point every function shares: one typed payload in, one
//! typed answer out.
//!
//! The runtime reads each invocation's bytes straight into a [`Payload`]:
//! - an HTTP event is answered with an API Gateway HTTP response, whatever
//!   went wrong (a 4xx or 5xx with a stable code);
//! - a direct invocation is answered with the state machine's output, or
//!   with a function error whose `errorType` is the state machine's error
//!   name (`EmployeeDoesNotExist`).
//!
//! Each invocation is measured in its own telemetry scope and leaves one log
//! line and one metrics document; its DynamoDB work spends from its own
//! deadline ([`crate::deadline`]).
//!
//! A process may serve several invocations at once: on Lambda Managed
//! Instances, Lambda sets `AWS_LAMBDA_MAX_CONCURRENCY` and the runtime polls
//! for that many invocations in parallel. Nothing here is per process but
//! the function itself (its store and client), shared by reference.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde::Serialize;

use crate::apigw::{HttpRequest, HttpResponse};
use crate::config::{Config, ConfigError};
use crate::deadline;
use crate::employee::Employee;
use crate::error::ApiError;
use crate::functions::Function;
use crate::payload::Payload;
use crate::route::{Route, RouteKey};
use crate::telemetry::{self, Outcome};

/// The route name of an HTTP request that matched none.
const UNMATCHED: &str = "unmatched";
/// The route name of a direct invocation.
const INVOKE: &str = "invoke";

/// What a function returns to the runtime, which serializes it once.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Http(HttpResponse),
    /// The state machine's output: `{"employee":"42","jobTitle":"…"}`.
    Direct(Employee),
}

/// The Tokio runtime for a function: one thread, as Lambda gives an
/// on-demand function one invocation at a time (and a vCPU share at most);
/// with `AWS_LAMBDA_MAX_CONCURRENCY` above 1 (Lambda Managed Instances), a
/// worker thread per CPU, so concurrent invocations use every vCPU of the
/// execution environment.
pub fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if max_concurrency() > 1 {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build()
}

/// `AWS_LAMBDA_MAX_CONCURRENCY`, read as `lambda_runtime` reads it: 1 when
/// unset or not a positive number.
pub fn max_concurrency() -> u32 {
    std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|&c| c > 0)
        .unwrap_or(1)
}

/// A function's `main`: sets up logging, reads the configuration, builds
/// the function from it (`build` opens the store) and runs the runtime
/// loop. A configuration error is logged as its sentence and reported to
/// Lambda's `/runtime/init/error` with its stable `errorType`
/// ([`ConfigError::code`]), and the process exits with a failure status, as
/// Lambda expects of a runtime whose init failed.
pub fn start<F, B, Fut>(build: B) -> ExitCode
where
    F: Function + 'static,
    B: FnOnce(Config) -> Fut,
    Fut: Future<Output = F>,
{
    let runtime = match tokio_runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the Tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        telemetry::init_logging();
        let config = match Config::from_env() {
            Ok(config) => config,
            Err(error) => {
                report_init_error(&error).await;
                return ExitCode::FAILURE;
            }
        };
        match run(build(config).await).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(error.detail = %error, "the Lambda runtime stopped");
                ExitCode::FAILURE
            }
        }
    })
}

/// Logs a configuration error and posts it to `/runtime/init/error`, when
/// there is a Runtime API to post to (there is none when a binary is run by
/// hand).
async fn report_init_error(error: &ConfigError) {
    tracing::error!(error.code = error.code(), "{error}");
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return;
    }
    let diagnostic =
        Diagnostic { error_type: error.code().to_owned(), error_message: error.to_string() };
    let body = serde_json::to_vec(&diagnostic).unwrap_or_default();
    let request = lambda_runtime_api_client::build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", error.code())
        .header("content-type", "application/json")
        .body(lambda_runtime_api_client::body::Body::from(body));
    let sent = match (request, lambda_runtime_api_client::Client::builder().build()) {
        (Ok(request), Ok(client)) => {
            client.call(request).await.map(|_| ()).map_err(|e| e.to_string())
        }
        (Err(error), _) => Err(error.to_string()),
        (_, Err(error)) => Err(error.to_string()),
    };
    if let Err(failure) = sent {
        tracing::error!(error.detail = %failure, "could not report the error to /runtime/init/error");
    }
}

/// Runs the Lambda runtime loop for `function`: one invocation at a time,
/// or `AWS_LAMBDA_MAX_CONCURRENCY` at once, each in a task of its own.
pub async fn run<F: Function + 'static>(function: F) -> Result<(), Error> {
    let function = Arc::new(function);
    runtime::run_concurrent(service_fn(move |event: LambdaEvent<Payload>| {
        let function = Arc::clone(&function);
        async move { handle(&*function, event).await }
    }))
    .await
}

/// Answers one invocation, and records it.
pub async fn handle<F: Function>(
    function: &F,
    event: LambdaEvent<Payload>,
) -> Result<Answer, Diagnostic> {
    let started = Instant::now();
    let LambdaEvent { payload, context } = event;
    let measured = telemetry::measure(answer(function, payload));
    let (ended, effects) = deadline::scope(context.deadline, measured).await;
    telemetry::record(&Outcome {
        function: F::NAME,
        request_id: &context.request_id,
        trace_id: context.xray_trace_id.as_deref(),
        route: ended.route,
        status: ended.status,
        error_code: ended.error_code,
        latency: started.elapsed(),
        effects,
    });
    ended.answer
}

/// An answer, with what its log line and metrics say about it.
struct Ended {
    answer: Result<Answer, Diagnostic>,
    route: &'static str,
    status: u16,
    error_code: Option<&'static str>,
}

async fn answer<F: Function>(function: &F, payload: Payload) -> Ended {
    match payload {
        Payload::Http(event) => {
            let (route, result) = http(function, event).await;
            let (response, error_code) = match result {
                Ok(response) => (response, None),
                Err(error) => {
                    error.log_if_server_error();
                    (HttpResponse::error(&error), Some(error.code()))
                }
            };
            let status = response.status_code;
            Ended { answer: Ok(Answer::Http(response)), route, status, error_code }
        }
        Payload::Direct(input) => match function.direct(&input).await {
            Ok(employee) => Ended {
                answer: Ok(Answer::Direct(employee)),
                route: INVOKE,
                status: 200,
                error_code: None,
            },
            Err(error) => {
                let (status, code) = error.status_and_code();
                Ended {
                    answer: Err(diagnostic(&error)),
                    route: INVOKE,
                    status,
                    error_code: Some(code),
                }
            }
        },
    }
}

/// Routes an HTTP event once and hands it to the function. The route's
/// name is known, for the log, as soon as the method and path are.
async fn http<F: Function>(
    function: &F,
    event: Result<Box<ApiGatewayV2httpRequest>, String>,
) -> (&'static str, Result<HttpResponse, ApiError>) {
    let request = event
        .map_err(|e| ApiError::Validation(format!("the request is not valid HTTP: {e}")))
        .and_then(|event| HttpRequest::try_from(*event));
    let request = match request {
        Ok(request) => request,
        Err(error) => return (UNMATCHED, Err(error)),
    };
    let id_parameter = request.employee_id_parameter.as_deref();
    let (key, raw_id) = match RouteKey::parse(&request.method, id_parameter, &request.raw_path) {
        Ok(parsed) => parsed,
        Err(error) => return (UNMATCHED, Err(error)),
    };
    let result = match Route::new(key, raw_id, request.door) {
        Ok(route) => function.http(route, &request).await,
        Err(error) => Err(error),
    };
    (key.name(), result)
}

/// A function error as Lambda reports it: `errorType` is the stable code
/// (`EmployeeDoesNotExist`, as the state machine's `Fail` state named it).
pub fn diagnostic(error: &ApiError) -> Diagnostic {
    error.log_if_server_error();
    Diagnostic { error_type: error.code().to_owned(), error_message: error.client_message() }
}

// The runtime loop: `lambda_runtime`'s, or with the `otel` feature the same
// loop with each invocation traced (telemetry::trace::runtime). Declared last
// in the file, so that without the feature the line numbers of the code
// above (which tracing's call sites record) stay as they are.
#[cfg(not(feature = "otel"))]
use lambda_runtime as runtime;
#[cfg(feature = "otel")]
use telemetry::trace::runtime;
