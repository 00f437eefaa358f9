//! The Lambda entry point every function shares.
//!
//! A function is invoked two ways:
//! - by API Gateway (or `cargo lambda watch`, a function URL, `sam local`)
//!   with an HTTP API payload 2.0 event, answered with an HTTP response;
//! - directly (`aws lambda invoke`, a Step Functions `Task`), with the
//!   original state machine's input (`{"employee":"42"}`), answered with its
//!   output, or with a function error whose `errorType` is the state
//!   machine's error name (`EmployeeDoesNotExist`).
//!
//! `lambda_http::run` only knows the first. This module does what it does
//! for HTTP events — the same `lambda_http` conversion to `http::Request` —
//! but first makes the event safe for that conversion, which panics on a
//! body flagged base64 that is not base64 and on a path, query or `Host`
//! that is not valid in a URI (API Gateway HTTP APIs hand over decoded
//! paths, so spaces, `?` and non-ASCII do arrive). Found by the property
//! tests in `shared/tests/properties.rs`.

use std::future::Future;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_http::http::header;
use lambda_http::lambda_runtime::{self, Diagnostic, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::Value;

use crate::http::ApiError;
use crate::http::errors::ErrorCode;
use crate::http::request::Resource;
use crate::telemetry;

/// Runs the Lambda runtime loop: HTTP events go to `http`, direct
/// invocations to `direct`.
pub async fn run<H, HF, D, DF>(http: H, direct: D) -> Result<(), Error>
where
    H: Fn(Request) -> HF,
    HF: Future<Output = Response<Body>>,
    D: Fn(Value) -> DF,
    DF: Future<Output = Result<Value, ApiError>>,
{
    let http = &http;
    let direct = &direct;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        dispatch(event, http, direct).await
    }))
    .await
}

/// Handles one invocation.
pub async fn dispatch<H, HF, D, DF>(
    event: LambdaEvent<Value>,
    http: &H,
    direct: &D,
) -> Result<Value, Diagnostic>
where
    H: Fn(Request) -> HF,
    HF: Future<Output = Response<Body>>,
    D: Fn(Value) -> DF,
    DF: Future<Output = Result<Value, ApiError>>,
{
    let started = Instant::now();
    let LambdaEvent { payload, context } = event;
    let request_id = context.request_id.clone();
    // Counters left by an earlier invocation that failed midway are not ours.
    telemetry::take_effects();
    if !is_http_event(&payload) {
        let result = direct(payload).await;
        let (status, error_code) = match &result {
            Ok(_) => (200, None),
            Err(error) => {
                let (status, code) = error.status_and_code();
                (status.as_u16(), Some(code))
            }
        };
        telemetry::record(&request_id, &telemetry::outcome("invoke", status, error_code, started));
        return result.map_err(diagnostic);
    }
    let mut route = "unmatched";
    let response = match serde_json::from_value::<ApiGatewayV2httpRequest>(payload) {
        // Headers or a method that HTTP cannot carry.
        Err(e) => {
            ApiError::Validation(format!("the request is not valid HTTP: {e}")).into_response()
        }
        Ok(event) => match undecodable_body(&event) {
            Some(refusal) => refusal.into_response(),
            None => {
                let request: Request = LambdaRequest::ApiGatewayV2(uri_safe(event)).into();
                route = route_key(&request);
                http(request.with_lambda_context(context)).await
            }
        },
    };
    let error_code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    let status = response.status().as_u16();
    telemetry::record(&request_id, &telemetry::outcome(route, status, error_code, started));
    serde_json::to_value(api_gateway_response(response))
        .map_err(|e| diagnostic(ApiError::Internal(e.to_string())))
}

/// The API Gateway route a request matches, for logs and metrics (a fixed
/// set of names: ids never become metric dimensions).
fn route_key(request: &Request) -> &'static str {
    let resource = Resource::of(request);
    match (request.method().as_str(), resource) {
        ("GET", Ok(Resource::Collection)) => "GET /employees",
        ("POST", Ok(Resource::Collection)) => "POST /employees",
        ("GET", Ok(Resource::Employee(_))) => "GET /employees/{employeeId}",
        ("PUT", Ok(Resource::Employee(_))) => "PUT /employees/{employeeId}",
        ("DELETE", Ok(Resource::Employee(_))) => "DELETE /employees/{employeeId}",
        _ => "unmatched",
    }
}

/// API Gateway HTTP API and function URL events carry a `requestContext`;
/// the state machine's inputs never do.
pub fn is_http_event(payload: &Value) -> bool {
    payload.get("requestContext").is_some_and(Value::is_object)
}

/// Characters `http::Uri` refuses in a query string; non-ASCII is always
/// escaped.
const QUERY_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');
/// In a path `?` would also start the query.
const PATH_ESCAPES: &AsciiSet = &QUERY_ESCAPES.add(b'?');

/// Whether `value` can stand as the authority of a URL.
fn is_authority(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

/// Percent-encodes what a URI cannot hold in the raw path and query, and
/// drops a `Host` or `X-Forwarded-Proto` header that cannot be part of a
/// URL (the request context's domain name is used instead). Decoding the
/// path, as the handlers do, gives back the same id.
fn uri_safe(mut event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpRequest {
    if let Some(path) = &event.raw_path {
        let mut escaped = utf8_percent_encode(path, PATH_ESCAPES).to_string();
        if !escaped.starts_with('/') {
            escaped.insert(0, '/');
        }
        event.raw_path = Some(escaped);
    }
    if let Some(query) = &event.raw_query_string {
        event.raw_query_string = Some(utf8_percent_encode(query, QUERY_ESCAPES).to_string());
    }
    if event.headers.get(header::HOST).is_some_and(|h| !h.to_str().is_ok_and(is_authority)) {
        event.headers.remove(header::HOST);
    }
    if event.request_context.domain_name.as_deref().is_some_and(|d| !is_authority(d)) {
        event.request_context.domain_name = Some("localhost".to_owned());
    }
    let forwarded_proto = event.headers.get("x-forwarded-proto");
    if forwarded_proto.is_some_and(|p| p != "https" && p != "http") {
        event.headers.remove("x-forwarded-proto");
    }
    event
}

fn undecodable_body(event: &ApiGatewayV2httpRequest) -> Option<ApiError> {
    let body = event.body.as_deref()?;
    (event.is_base64_encoded && STANDARD.decode(body).is_err()).then(|| {
        ApiError::Validation("the request body is flagged base64 but is not valid base64".into())
    })
}

/// A function error as Lambda reports it: `errorType` is the stable code
/// (`EmployeeDoesNotExist`, as the state machine's `Fail` state named it).
pub fn diagnostic(error: ApiError) -> Diagnostic {
    let (status, code) = error.status_and_code();
    if status.is_server_error() {
        tracing::error!(error.code = code, error.detail = %error, "invocation failed");
    }
    Diagnostic { error_type: code.to_owned(), error_message: error.client_message() }
}

fn api_gateway_response(response: Response<Body>) -> ApiGatewayV2httpResponse {
    let (parts, body) = response.into_parts();
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = parts.headers;
    out.body = match body {
        Body::Empty => None,
        Body::Binary(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(Body::Text(text)),
            Err(e) => {
                out.is_base64_encoded = true;
                Some(Body::Text(STANDARD.encode(e.into_bytes())))
            }
        },
        text => Some(text),
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_events_are_told_from_direct_inputs() {
        assert!(is_http_event(&serde_json::json!({"requestContext": {}, "rawPath": "/"})));
        assert!(!is_http_event(&serde_json::json!({"employee": "42"})));
        assert!(!is_http_event(&serde_json::json!({"requestContext": "x"})));
        assert!(!is_http_event(&serde_json::json!("42")));
    }

    #[test]
    fn responses_keep_status_headers_and_a_text_body() {
        let response = crate::http::response::json(
            lambda_http::http::StatusCode::CREATED,
            &serde_json::json!({"a": 1}),
        );
        let out = api_gateway_response(response);
        assert_eq!(out.status_code, 201);
        assert_eq!(out.headers["content-type"], "application/json");
        assert_eq!(out.body, Some(Body::Text(r#"{"a":1}"#.into())));
        assert!(!out.is_base64_encoded);
    }
}
