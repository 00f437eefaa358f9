//! The floor: a `lambda_http` function that answers every request with a
//! constant, built with the same release profile as the real functions. Its
//! start-up and latency are what the runtime and the HTTP adapter cost alone.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"hello":"world"}"#))
            .map_err(Error::from)
    }))
    .await
}
