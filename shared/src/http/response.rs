//! JSON responses.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A response with `value` as its JSON body.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    // Our bodies are plain structs of strings: serialising them cannot fail,
    // but a panic in a request path is never the right answer.
    let (status, body) = match serde_json::to_string(value) {
        Ok(body) => (status, body),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"InternalError","message":"The request failed because of an internal error."}"#
                .to_owned(),
        ),
    };
    // Text, not bytes: API Gateway then passes it on without base64.
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
