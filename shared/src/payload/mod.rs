//! One invocation's payload, read in one pass from the bytes Lambda hands
//! over, into the type it is:
//! - an API Gateway HTTP API event (payload format 2.0, also what function
//!   URLs, `cargo lambda watch` and `sam local` send), recognised by its
//!   `requestContext` object;
//! - otherwise the original state machine's input for a direct invocation
//!   (`{"employee":"42"}`, `aws lambda invoke`, a Step Functions `Task`).
//!
//! Only the fields the API reads are kept; the rest is skipped unread. A
//! field of the wrong type never fails the invocation as a whole: it is kept
//! as the sentence that says what is wrong, and the request is then refused
//! with a 400 (or a `ValidationError` function error) that names it.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use headers::HeaderFields;
use lenient::{Lenient, object_kind};

mod headers;
mod lenient;
#[cfg(test)]
mod tests;

/// What an invocation carries.
#[derive(Debug)]
pub enum Payload {
    /// An HTTP request, or why its event cannot be read as one.
    Http(Result<HttpEvent, String>),
    Direct(DirectInput),
}

/// The fields of an API Gateway HTTP API event that the API reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpEvent {
    /// `requestContext.http.method`
    pub method: String,
    /// `rawPath`, else `requestContext.http.path`: decoded by API Gateway,
    /// still encoded from `cargo lambda watch` and function URLs
    /// ([`crate::route::Door`]).
    pub raw_path: String,
    /// `requestContext.domainName` and `requestContext.http.userAgent`,
    /// which tell the doors apart.
    pub domain_name: Option<String>,
    pub user_agent: Option<String>,
    /// `pathParameters.employeeId`, when the route has one.
    pub employee_id_parameter: Option<String>,
    /// `rawQueryString` (without `?`), else `queryStringParameters`.
    pub query: Query,
    pub headers: Headers,
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

/// A request's query string, as the event gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Raw(String),
    Parameters(BTreeMap<String, String>),
}

impl Default for Query {
    fn default() -> Self {
        Self::Raw(String::new())
    }
}

/// The request headers the API reads; names match in any case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    pub content_type: Option<String>,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub idempotency_key: Option<String>,
}

/// A direct invocation's input: the state machine's field names. Other
/// fields are ignored, as the state machines ignored them (a workflow's
/// state often carries more than one step needs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectInput {
    /// Why the input cannot be read as the state machine's input (it is
    /// not an object, or not JSON serde_json can read); `None` when it can.
    pub unreadable: Option<String>,
    pub employee: Option<Result<String, String>>,
    pub job_title: Option<Result<String, String>>,
    /// `idempotencyKey`: optional, not in the state machines' contract.
    pub idempotency_key: Option<Result<String, String>>,
}

impl DirectInput {
    /// The string field `name`, or the sentence that says why there is none.
    pub fn field<'a>(
        &self,
        name: &str,
        value: &'a Option<Result<String, String>>,
    ) -> Result<&'a str, String> {
        if let Some(why) = &self.unreadable {
            return Err(why.clone());
        }
        match value {
            None => Err(format!("missing field `{name}`")),
            Some(Err(wrong)) => Err(format!("{name}: {wrong}")),
            Some(Ok(text)) => Ok(text),
        }
    }
}

/// The top-level fields either shape can have.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Field {
    RequestContext,
    RawPath,
    RawQueryString,
    QueryStringParameters,
    PathParameters,
    Headers,
    Body,
    IsBase64Encoded,
    Employee,
    JobTitle,
    IdempotencyKey,
    #[serde(other)]
    Other,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RequestContext {
    http: Lenient<HttpDescription>,
    #[serde(rename = "domainName")]
    domain_name: Lenient<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct HttpDescription {
    method: Lenient<String>,
    path: Lenient<String>,
    #[serde(rename = "userAgent")]
    user_agent: Lenient<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct PathParameters {
    #[serde(rename = "employeeId")]
    employee_id: Lenient<String>,
}

object_kind!(RequestContext, HttpDescription, PathParameters, HeaderFields, Parameters);

/// `queryStringParameters`: values that are not strings are refused.
#[derive(Default)]
struct Parameters(BTreeMap<String, Lenient<String>>);

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Self)
    }
}

#[derive(Default)]
struct Fields {
    request_context: Lenient<RequestContext>,
    raw_path: Lenient<String>,
    raw_query_string: Lenient<String>,
    query_string_parameters: Lenient<Parameters>,
    path_parameters: Lenient<PathParameters>,
    headers: Lenient<HeaderFields>,
    body: Lenient<String>,
    is_base64_encoded: Lenient<bool>,
    employee: Lenient<String>,
    job_title: Lenient<String>,
    idempotency_key: Lenient<String>,
}

impl Fields {
    fn http(self, context: RequestContext) -> Result<HttpEvent, String> {
        let http = context.http.named("requestContext.http")?.unwrap_or_default();
        let method = http
            .method
            .named("requestContext.http.method")?
            .ok_or("requestContext.http: missing field `method`")?;
        let raw_path = match self.raw_path.named("rawPath")? {
            Some(path) => path,
            None => http.path.named("requestContext.http.path")?.unwrap_or_default(),
        };
        // Only ever compared with what a door writes: a value of another
        // kind is no door's.
        let domain_name = context.domain_name.0.and_then(Result::ok);
        let user_agent = http.user_agent.0.and_then(Result::ok);
        let query = match self.raw_query_string.named("rawQueryString")? {
            Some(raw) => Query::Raw(raw),
            None => {
                let parameters = self.query_string_parameters.named("queryStringParameters")?;
                let mut read = BTreeMap::new();
                for (name, value) in parameters.map(|p| p.0).unwrap_or_default() {
                    if let Some(value) = value.named(&format!("queryStringParameters.{name}"))? {
                        read.insert(name, value);
                    }
                }
                Query::Parameters(read)
            }
        };
        let employee_id_parameter = match self.path_parameters.named("pathParameters")? {
            Some(parameters) => parameters.employee_id.named("pathParameters.employeeId")?,
            None => None,
        };
        let headers = self.headers.named("headers")?.unwrap_or_default();
        Ok(HttpEvent {
            method,
            raw_path,
            domain_name,
            user_agent,
            employee_id_parameter,
            query,
            headers: Headers {
                content_type: headers.content_type.named("headers.content-type")?,
                if_match: headers.if_match.named("headers.if-match")?,
                if_none_match: headers.if_none_match.named("headers.if-none-match")?,
                idempotency_key: headers.idempotency_key.named("headers.idempotency-key")?,
            },
            body: self.body.named("body")?,
            is_base64_encoded: self.is_base64_encoded.named("isBase64Encoded")?.unwrap_or(false),
        })
    }

    fn direct(self) -> DirectInput {
        let field = |value: Lenient<String>| value.0;
        DirectInput {
            unreadable: None,
            employee: field(self.employee),
            job_title: field(self.job_title),
            idempotency_key: field(self.idempotency_key),
        }
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The runtime reads payloads through `serde_path_to_error`, which
        // keeps the path to every field it visits (an owned string per key).
        // Taken whole as raw JSON first (one copy), the payload is then read
        // by serde_json alone, in one pass.
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let mut reader = serde_json::Deserializer::from_str(raw.get());
        match reader.deserialize_any(PayloadVisitor) {
            Ok(payload) => Ok(payload),
            // Valid JSON (the runtime has read it whole) that serde_json
            // cannot read as text or as a number where a field is read: a
            // lone surrogate escape (`"\ud800"`), a number beyond `f64`
            // (`1e999`). Refused like any other unreadable input, with a
            // stable code, never with the runtime's type name.
            Err(error) => Ok(Payload::unreadable(raw.get(), &error)),
        }
    }
}

impl Payload {
    fn unreadable(raw: &str, error: &serde_json::Error) -> Self {
        let why = format!("it holds JSON that cannot be read as text or a number: {error}");
        let mut reader = serde_json::Deserializer::from_str(raw);
        if reader.deserialize_any(ShapeVisitor).unwrap_or(false) {
            Self::Http(Err(why))
        } else {
            Self::Direct(DirectInput { unreadable: Some(why), ..DirectInput::default() })
        }
    }
}

/// Whether a payload is an HTTP event (an object with an object as
/// `requestContext`), read without decoding a string or a number. Anything
/// else is an error of the visitor's, which is read as "not an event".
struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with an object as requestContext")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut http = false;
        while let Some(field) = map.next_key::<Field>()? {
            if matches!(field, Field::RequestContext) {
                map.next_value::<IsObject>()?;
                http = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(http)
    }
}

/// An object, its entries skipped unread; any other value is an error.
struct IsObject;

impl<'de> Deserialize<'de> for IsObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = IsObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IsObject, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(IsObject)
            }
        }
        deserializer.deserialize_any(ObjectVisitor)
    }
}

struct PayloadVisitor;

impl PayloadVisitor {
    fn not_an_object<E>(what: impl fmt::Display) -> Result<Payload, E> {
        let why = format!("invalid type: {what}, expected an object");
        let input = DirectInput { unreadable: Some(why), ..DirectInput::default() };
        Ok(Payload::Direct(input))
    }
}

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = Payload;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an API Gateway event or the state machine's input")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Payload, A::Error> {
        let mut fields = Fields::default();
        // A repeated key keeps its last value, as a JSON object read whole would.
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::RequestContext => fields.request_context = map.next_value()?,
                Field::RawPath => fields.raw_path = map.next_value()?,
                Field::RawQueryString => fields.raw_query_string = map.next_value()?,
                Field::QueryStringParameters => {
                    fields.query_string_parameters = map.next_value()?
                }
                Field::PathParameters => fields.path_parameters = map.next_value()?,
                Field::Headers => fields.headers = map.next_value()?,
                Field::Body => fields.body = map.next_value()?,
                Field::IsBase64Encoded => fields.is_base64_encoded = map.next_value()?,
                Field::Employee => fields.employee = map.next_value()?,
                Field::JobTitle => fields.job_title = map.next_value()?,
                Field::IdempotencyKey => fields.idempotency_key = map.next_value()?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // Only an object as `requestContext` makes an HTTP event: the state
        // machines' inputs never have one.
        Ok(match fields.request_context.0.take() {
            Some(Ok(context)) => Payload::Http(fields.http(context)),
            _ => Payload::Direct(fields.direct()),
        })
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Payload, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::not_an_object("sequence")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Payload, E> {
        Self::not_an_object(de::Unexpected::Str(value))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Payload, E> {
        Self::not_an_object(de::Unexpected::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Payload, E> {
        Self::not_an_object(de::Unexpected::Signed(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Payload, E> {
        Self::not_an_object(de::Unexpected::Unsigned(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Payload, E> {
        Self::not_an_object(de::Unexpected::Float(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Payload, E> {
        Self::not_an_object(de::Unexpected::Unit)
    }
}
