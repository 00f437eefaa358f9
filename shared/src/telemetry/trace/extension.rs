//! The internal extension that makes Lambda send the runtime `SIGTERM`
//! before it shuts an execution environment down (see the module above),
//! registered over the Extensions API with the runtime's own client
//! (`lambda_runtime_api_client`), as the `lambda-extension` crate does,
//! without that crate's Logs and Telemetry API servers (about 550 KB of
//! binary for two requests).
//!
//! Registration: `POST /2020-01-01/extension/register` with the
//! `Lambda-Extension-Name` header and the events to subscribe to (none
//! here); the answer's `Lambda-Extension-Identifier` header names the
//! extension in its later requests. Then `GET /2020-01-01/extension/event/next`,
//! which tells Lambda the extension's init is done and, with no event
//! subscribed, never answers
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html#runtimes-extensions-registration-api>).

use std::future::Future;

use http::Method;
use http_body_util::BodyExt as _;
use lambda_runtime_api_client::{Client, body::Body, build_request};

const REGISTER: &str = "/2020-01-01/extension/register";
const NEXT: &str = "/2020-01-01/extension/event/next";
const NAME_HEADER: &str = "Lambda-Extension-Name";
const ID_HEADER: &str = "Lambda-Extension-Identifier";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Registers the extension `name`, subscribed to no event (during init:
/// Lambda takes registrations only before the runtime's first poll). What
/// it returns asks for the extension's next event, for as long as the
/// Runtime API keeps the request open; it must run for Lambda to end init.
pub(super) async fn register(name: &str) -> Result<impl Future<Output = ()> + use<>, BoxError> {
    let address =
        std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| "AWS_LAMBDA_RUNTIME_API is not set")?;
    let client = Client::builder().with_endpoint(address.parse()?).build()?;
    let request = build_request()
        .method(Method::POST)
        .uri(REGISTER)
        .header(NAME_HEADER, name)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"events":[]}"#))?;
    let response = client.call(request).await?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the Extensions API answered the registration with {status}").into());
    }
    let id = response
        .headers()
        .get(ID_HEADER)
        .ok_or("the registration's answer has no Lambda-Extension-Identifier")?
        .to_str()?
        .to_owned();
    response.into_body().collect().await?;
    Ok(async move {
        loop {
            let Ok(request) = build_request()
                .method(Method::GET)
                .uri(NEXT)
                .header(ID_HEADER, &id)
                .body(Body::empty())
            else {
                return;
            };
            // An event (none is subscribed) is read and the next one asked
            // for; an error ends the loop rather than spin on it.
            match client.call(request).await {
                Ok(response) if response.status().is_success() => {
                    let _ = response.into_body().collect().await;
                }
                _ => return,
            }
        }
    })
}
