//! One invocation's payload, read from the bytes Lambda hands over into the
//! type it is:
//! - an API Gateway HTTP API event (payload format 2.0, also what function
//!   URLs, `cargo lambda watch` and `sam local` send), recognised by its
//!   `requestContext` object, read into `aws_lambda_events`'
//!   [`ApiGatewayV2httpRequest`], the type `lambda_http` reads it into;
//! - otherwise the original state machine's input for a direct invocation
//!   (`{"employee":"42"}`, `aws lambda invoke`, a Step Functions `Task`).
//!
//! JSON that is not of its type never fails the invocation as a whole: it is
//! kept as the sentence that says which field is wrong, and the request is
//! refused with a 400 (or a `ValidationError` function error). The path to
//! that field is found on the error path only, by reading the payload again
//! with `serde_path_to_error`: a valid payload is read once, by serde_json.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::error::Category;
use serde_json::value::RawValue;

#[cfg(test)]
mod tests;

/// What an invocation carries.
#[derive(Debug)]
pub enum Payload {
    /// An HTTP request, or why its event cannot be read as one.
    Http(Result<Box<ApiGatewayV2httpRequest>, String>),
    Direct(DirectInput),
}

/// A direct invocation's input, or why it cannot be read as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectInput(Result<DirectFields, String>);

/// The state machines' field names. Other fields are ignored, as the state
/// machines ignored them (a workflow's state often carries more than one
/// step needs); these three must be strings wherever they appear.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectFields {
    employee: Option<String>,
    job_title: Option<String>,
    /// Optional, not in the state machines' contract.
    idempotency_key: Option<String>,
}

impl DirectInput {
    pub fn employee(&self) -> Result<&str, String> {
        required("employee", &self.fields()?.employee)
    }

    pub fn job_title(&self) -> Result<&str, String> {
        required("jobTitle", &self.fields()?.job_title)
    }

    pub fn idempotency_key(&self) -> Result<Option<&str>, String> {
        Ok(self.fields()?.idempotency_key.as_deref())
    }

    fn fields(&self) -> Result<&DirectFields, String> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

fn required<'a>(name: &str, value: &'a Option<String>) -> Result<&'a str, String> {
    value.as_deref().ok_or_else(|| format!("missing field `{name}`"))
}

/// `requestContext` alone, to tell the two shapes apart: the state
/// machines' inputs never have one.
#[derive(Deserialize)]
struct Shape<'a> {
    #[serde(rename = "requestContext", borrow, default)]
    request_context: Option<&'a RawValue>,
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The runtime reads payloads through `serde_path_to_error`, which
        // keeps the path to every field it visits (an owned string per key):
        // taken whole as raw JSON first (one copy), the payload is then read
        // by serde_json alone.
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Ok(Self::read(raw.get()))
    }
}

impl Payload {
    /// Reads a payload from JSON the runtime has checked is well formed.
    pub fn read(json: &str) -> Self {
        let json = json.trim_start();
        if !json.starts_with('{') {
            return Self::Direct(DirectInput(Err("the input must be a JSON object".to_owned())));
        }
        // An event is read in one pass; only a payload that is not one is
        // read again, to tell a malformed event from a direct input.
        if let Ok(event) = serde_json::from_str::<ApiGatewayV2httpRequest>(json) {
            return Self::Http(Ok(Box::new(event)));
        }
        let shape = serde_json::from_str::<Shape>(json);
        if shape.is_ok_and(|s| s.request_context.is_some_and(|c| c.get().starts_with('{'))) {
            Self::Http(Err(why::<ApiGatewayV2httpRequest>(json)))
        } else {
            Self::Direct(DirectInput(read(json)))
        }
    }
}

/// `json` read as a `T`, or the sentence that says which field is wrong.
fn read<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|_| why::<T>(json))
}

/// Why `json` is not a `T`: the path to the field and what is wrong with it.
fn why<T: DeserializeOwned>(json: &str) -> String {
    let reader = &mut serde_json::Deserializer::from_str(json);
    let error = match serde_path_to_error::deserialize::<_, T>(reader) {
        Ok(_) => return "it cannot be read".to_owned(),
        Err(error) => error,
    };
    let path = error.path().to_string();
    let error = error.into_inner();
    let text = error.to_string();
    // serde_json ends each message with where the reader stopped.
    let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(message, _)| message);
    // A lone surrogate escape (`"\ud800"`) or a number beyond `f64`
    // (`1e999`): valid JSON, refused where a field is read.
    let what = if error.classify() == Category::Syntax {
        format!("it holds JSON that cannot be read as text or a number: {text}")
    } else {
        text.to_owned()
    };
    if path == "." { what } else { format!("{path}: {what}") }
}
