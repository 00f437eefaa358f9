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

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

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
    /// still encoded from `cargo lambda watch` and function URLs.
    pub raw_path: String,
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
}

/// A direct invocation's input: the state machine's field names. Other
/// fields are ignored, as the state machines ignored them (a workflow's
/// state often carries more than one step needs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectInput {
    /// `None` when the input is an object; otherwise what it is instead.
    pub not_an_object: Option<String>,
    pub employee: Option<Result<String, String>>,
    pub job_title: Option<Result<String, String>>,
}

impl DirectInput {
    /// The string field `name`, or the sentence that says why there is none.
    pub fn field<'a>(
        &self,
        name: &str,
        value: &'a Option<Result<String, String>>,
    ) -> Result<&'a str, String> {
        if let Some(what) = &self.not_an_object {
            return Err(format!("invalid type: {what}, expected an object"));
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
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct RequestContext {
    http: HttpDescription,
}

#[derive(Deserialize)]
struct HttpDescription {
    method: String,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
struct PathParameters {
    #[serde(rename = "employeeId")]
    employee_id: Option<String>,
}

/// A field's value, or what is wrong with it. The value is first taken as
/// raw JSON, so a wrong type leaves the rest of the payload readable.
type Lenient<T> = Result<T, String>;

fn lenient<'de, T: DeserializeOwned, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<Lenient<T>, A::Error> {
    let raw: Box<RawValue> = map.next_value()?;
    Ok(serde_json::from_str(raw.get()).map_err(|e| e.to_string()))
}

#[derive(Default)]
struct Fields {
    /// Present, and an object.
    request_context: Option<Lenient<RequestContext>>,
    raw_path: Option<Lenient<String>>,
    raw_query_string: Option<Lenient<Option<String>>>,
    query_string_parameters: Option<Lenient<Option<BTreeMap<String, String>>>>,
    path_parameters: Option<Lenient<Option<PathParameters>>>,
    headers: Option<Lenient<Option<Headers>>>,
    body: Option<Lenient<Option<String>>>,
    is_base64_encoded: Option<Lenient<Option<bool>>>,
    employee: Option<Lenient<String>>,
    job_title: Option<Lenient<String>>,
}

impl Fields {
    fn http(self, context: Lenient<RequestContext>) -> Result<HttpEvent, String> {
        fn named<T>(name: &str, value: Option<Lenient<T>>) -> Result<Option<T>, String> {
            value.transpose().map_err(|e| format!("{name}: {e}"))
        }
        let context = context.map_err(|e| format!("requestContext: {e}"))?;
        let raw_path = named("rawPath", self.raw_path)?.or(context.http.path).unwrap_or_default();
        let query = match named("rawQueryString", self.raw_query_string)?.flatten() {
            Some(raw) => Query::Raw(raw),
            None => Query::Parameters(
                named("queryStringParameters", self.query_string_parameters)?
                    .flatten()
                    .unwrap_or_default(),
            ),
        };
        Ok(HttpEvent {
            method: context.http.method,
            raw_path,
            employee_id_parameter: named("pathParameters", self.path_parameters)?
                .flatten()
                .and_then(|p| p.employee_id),
            query,
            headers: named("headers", self.headers)?.flatten().unwrap_or_default(),
            body: named("body", self.body)?.flatten(),
            is_base64_encoded: named("isBase64Encoded", self.is_base64_encoded)?
                .flatten()
                .unwrap_or(false),
        })
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PayloadVisitor)
    }
}

struct PayloadVisitor;

impl PayloadVisitor {
    fn not_an_object<E>(what: impl fmt::Display) -> Result<Payload, E> {
        let input = DirectInput { not_an_object: Some(what.to_string()), ..DirectInput::default() };
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
                Field::RequestContext => {
                    let raw: Box<RawValue> = map.next_value()?;
                    fields.request_context = raw.get().starts_with('{').then(|| {
                        serde_json::from_str(raw.get())
                            .map_err(|e: serde_json::Error| e.to_string())
                    });
                }
                Field::RawPath => fields.raw_path = Some(lenient(&mut map)?),
                Field::RawQueryString => fields.raw_query_string = Some(lenient(&mut map)?),
                Field::QueryStringParameters => {
                    fields.query_string_parameters = Some(lenient(&mut map)?);
                }
                Field::PathParameters => fields.path_parameters = Some(lenient(&mut map)?),
                Field::Headers => fields.headers = Some(lenient(&mut map)?),
                Field::Body => fields.body = Some(lenient(&mut map)?),
                Field::IsBase64Encoded => fields.is_base64_encoded = Some(lenient(&mut map)?),
                Field::Employee => fields.employee = Some(lenient(&mut map)?),
                Field::JobTitle => fields.job_title = Some(lenient(&mut map)?),
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match fields.request_context.take() {
            Some(context) => Payload::Http(fields.http(context)),
            None => Payload::Direct(DirectInput {
                not_an_object: None,
                employee: fields.employee,
                job_title: fields.job_title,
            }),
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

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeadersVisitor)
    }
}

/// A header the API reads.
enum HeaderName {
    ContentType,
    Other,
}

impl<'de> Deserialize<'de> for HeaderName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = HeaderName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<HeaderName, E> {
                Ok(if name.eq_ignore_ascii_case("content-type") {
                    HeaderName::ContentType
                } else {
                    HeaderName::Other
                })
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = Headers;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of header names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers, A::Error> {
        let mut headers = Headers::default();
        while let Some(name) = map.next_key::<HeaderName>()? {
            match name {
                HeaderName::ContentType => headers.content_type = Some(map.next_value()?),
                HeaderName::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Read the way the Lambda runtime reads a payload.
    fn read(payload: serde_json::Value) -> Payload {
        let bytes = serde_json::to_vec(&payload).unwrap();
        let jd = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(jd).expect("every JSON payload is read")
    }

    fn http(payload: serde_json::Value) -> Result<HttpEvent, String> {
        match read(payload) {
            Payload::Http(event) => event,
            other => panic!("not read as HTTP: {other:?}"),
        }
    }

    #[test]
    fn an_http_event_keeps_what_the_api_reads() {
        let event = http(json!({
            "version": "2.0",
            "routeKey": "GET /employees/{employeeId}",
            "rawPath": "/employees/42",
            "rawQueryString": "a=1",
            "headers": {"Content-Type": "application/json", "x-other": "1"},
            "pathParameters": {"employeeId": "42", "other": "x"},
            "requestContext": {"http": {"method": "GET", "path": "/employees/42"}, "requestId": "r"},
            "body": "{}",
            "isBase64Encoded": false,
            "cookies": ["a"]
        }))
        .unwrap();
        assert_eq!(event.method, "GET");
        assert_eq!(event.raw_path, "/employees/42");
        assert_eq!(event.employee_id_parameter.as_deref(), Some("42"));
        assert_eq!(event.query, Query::Raw("a=1".into()));
        assert_eq!(event.headers.content_type.as_deref(), Some("application/json"));
        assert_eq!(event.body.as_deref(), Some("{}"));
        assert!(!event.is_base64_encoded);
    }

    #[test]
    fn missing_fields_take_their_defaults() {
        let event = http(json!({"requestContext": {"http": {"method": "GET", "path": "/p"}},
            "queryStringParameters": {"limit": "2"}, "pathParameters": null, "body": null}))
        .unwrap();
        assert_eq!(event.raw_path, "/p");
        assert_eq!(event.query, Query::Parameters(BTreeMap::from([("limit".into(), "2".into())])));
        assert_eq!((event.employee_id_parameter, event.body), (None, None));
    }

    #[test]
    fn a_wrongly_typed_http_field_is_named_not_fatal() {
        let err = http(json!({"requestContext": {"http": {"method": "GET"}}, "rawPath": 5}));
        assert!(err.unwrap_err().starts_with("rawPath: invalid type: integer `5`"));
        let err = http(json!({"requestContext": {"http": {}}, "rawPath": "/"}));
        assert!(err.unwrap_err().contains("missing field `method`"));
        let err = http(
            json!({"requestContext": {"http": {"method": "GET"}}, "headers": {"content-type": 1}}),
        );
        assert!(err.unwrap_err().starts_with("headers: "));
    }

    #[test]
    fn anything_without_a_request_context_object_is_a_direct_input() {
        let Payload::Direct(input) = read(json!({"employee": "42", "step": 3})) else { panic!() };
        assert_eq!(input.field("employee", &input.employee), Ok("42"));
        assert_eq!(
            input.field("jobTitle", &input.job_title),
            Err("missing field `jobTitle`".into())
        );
        let Payload::Direct(input) = read(json!({"employee": 42, "requestContext": "x"})) else {
            panic!()
        };
        let err = input.field("employee", &input.employee).unwrap_err();
        assert!(err.starts_with("employee: invalid type: integer `42`"), "{err}");
        for payload in [json!("42"), json!(null), json!([1]), json!(4.5), json!(true)] {
            let Payload::Direct(input) = read(payload.clone()) else { panic!("{payload}") };
            let err = input.field("employee", &input.employee).unwrap_err();
            assert!(err.ends_with("expected an object"), "{payload}: {err}");
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let bytes = br#"{"employee":"1","employee":"2"}"#;
        let Payload::Direct(input) = serde_json::from_slice(bytes).unwrap() else { panic!() };
        assert_eq!(input.employee, Some(Ok("2".into())));
    }
}
