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
//! line and one metrics document.
//!
//! A process may serve several invocations at once: on Lambda Managed
//! Instances, Lambda sets `AWS_LAMBDA_MAX_CONCURRENCY` and the runtime polls
//! for that many invocations in parallel. Nothing here is per process but
//! the function itself (its store and client), shared by reference.

use std::sync::Arc;
use std::time::Instant;

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde::Serialize;

use crate::apigw::{HttpRequest, HttpResponse};
use crate::employee::Employee;
use crate::error::ApiError;
use crate::functions::Function;
use crate::payload::{HttpEvent, Payload};
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

/// Runs the Lambda runtime loop for `function`: one invocation at a time,
/// or `AWS_LAMBDA_MAX_CONCURRENCY` at once, each in a task of its own.
pub async fn run<F: Function + 'static>(function: F) -> Result<(), Error> {
    let function = Arc::new(function);
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Payload>| {
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
    let (ended, effects) = telemetry::measure(answer(function, payload)).await;
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
    event: Result<HttpEvent, String>,
) -> (&'static str, Result<HttpResponse, ApiError>) {
    let request = event
        .map_err(|e| ApiError::Validation(format!("the request is not valid HTTP: {e}")))
        .and_then(HttpRequest::try_from);
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
