//! An HTTP request, read from its API Gateway event: its body decoded once,
//! then read as JSON or its query string read into the struct a route
//! expects.

use std::collections::BTreeMap;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::route::{self, Door};

/// Bodies above this size are refused with 413 (an employee is < 500 bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// The path as the door delivered it (decoded or not: [`Door`]).
    pub raw_path: String,
    pub door: Door,
    pub employee_id_parameter: Option<String>,
    pub query: Query,
    pub content_type: Option<String>,
    /// `If-Match`, `If-None-Match` and `Idempotency-Key`, as sent.
    pub write_headers: WriteHeaders,
    /// The body as sent, base64-decoded if API Gateway encoded it.
    pub body: Vec<u8>,
}

/// A request's query string, as the event gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// `rawQueryString`, without `?`: what every door sends.
    Raw(String),
    /// `queryStringParameters`, in an event without `rawQueryString`.
    Parameters(BTreeMap<String, String>),
}

impl Default for Query {
    fn default() -> Self {
        Self::Raw(String::new())
    }
}

/// The headers that make a write conditional or idempotent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteHeaders {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub idempotency_key: Option<String>,
}

impl TryFrom<ApiGatewayV2httpRequest> for HttpRequest {
    type Error = ApiError;

    fn try_from(event: ApiGatewayV2httpRequest) -> Result<Self, ApiError> {
        let body = match event.body {
            None => Vec::new(),
            Some(body) if event.is_base64_encoded => STANDARD.decode(body).map_err(|_| {
                ApiError::Validation(
                    "the request body is flagged base64 but is not valid base64".into(),
                )
            })?,
            Some(body) => body.into_bytes(),
        };
        let context = event.request_context;
        let door = Door::of(context.domain_name.as_deref(), context.http.user_agent.as_deref());
        // `rawPath` is read from `path` too when it is absent (the
        // library's alias); `requestContext.http.path` comes last.
        let raw_path = event.raw_path.or(context.http.path).unwrap_or_default();
        let query = match event.raw_query_string {
            Some(raw) => Query::Raw(raw),
            // The library splits each value at its commas; joined again, a
            // value reads as it was sent.
            None => {
                let parameters = &event.query_string_parameters;
                let joined = parameters.iter().filter_map(|(name, _)| {
                    Some((name.to_owned(), parameters.all(name)?.join(",")))
                });
                Query::Parameters(joined.collect())
            }
        };
        // Names match in any case (`HeaderMap`); a value is text, as read.
        let header = |name: &str| {
            let value = event.headers.get(name)?;
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        };
        let mut path_parameters = event.path_parameters;
        Ok(Self {
            method: context.http.method.as_str().to_owned(),
            raw_path,
            door,
            employee_id_parameter: path_parameters.remove("employeeId"),
            query,
            content_type: header("content-type"),
            write_headers: WriteHeaders {
                if_match: header("if-match"),
                if_none_match: header("if-none-match"),
                idempotency_key: header("idempotency-key"),
            },
            body,
        })
    }
}

impl HttpRequest {
    /// What the paths this request's answer names start with (a stage,
    /// `/prod`, or nothing), encoded as a client writes it.
    pub fn base(&self) -> String {
        route::encoded_base(route::base_of(&self.raw_path).unwrap_or_default(), self.door)
    }

    /// The `Idempotency-Key`, if the request has one (400 if it is invalid).
    pub fn idempotency_key(&self) -> Result<Option<IdempotencyKey>, ApiError> {
        let key = self.write_headers.idempotency_key.as_deref();
        Ok(key.map(IdempotencyKey::from_header).transpose()?)
    }

    /// Reads the JSON body into `T`, after checking its media type and size.
    /// Unknown fields, wrong types and malformed JSON are 400s; `T` decides
    /// which fields exist (`#[serde(deny_unknown_fields)]`).
    pub fn json_body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.require_json_media_type()?;
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
        }
        // serde would also read a struct from a JSON array; only objects are bodies.
        if self.body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::Validation("the request body must be a JSON object".to_owned()));
        }
        serde_json::from_slice(&self.body)
            .map_err(|err| ApiError::Validation(format!("the request body is not valid: {err}")))
    }

    fn require_json_media_type(&self) -> Result<(), ApiError> {
        // No Content-Type at all is read as JSON: `sam local generate-event`
        // and some clients send none. A declared non-JSON type is refused.
        let Some(value) = &self.content_type else {
            return Ok(());
        };
        let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let is_json = essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"));
        if is_json {
            Ok(())
        } else {
            Err(ApiError::UnsupportedMediaType(
                "the request body must be sent as application/json".into(),
            ))
        }
    }

    /// Reads the query string into `T`. `T` names the parameters a route
    /// knows and refuses the others (`#[serde(deny_unknown_fields)]`), and
    /// a repeated parameter is refused too, so a typo (`jobtitle=`) is an
    /// error rather than a silently unfiltered listing.
    pub fn query<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let parsed = match &self.query {
            Query::Raw(raw) => serde_urlencoded::from_str(raw),
            Query::Parameters(parameters) => serde_urlencoded::from_str(
                &serde_urlencoded::to_string(parameters).unwrap_or_default(),
            ),
        };
        parsed.map_err(|err| ApiError::Validation(format!("the query string is not valid: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Params {
        a: Option<String>,
        #[serde(rename = "bC")]
        b: Option<String>,
    }

    fn request(query: Query, content_type: Option<&str>, body: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            raw_path: "/".into(),
            door: Door::ApiGateway,
            employee_id_parameter: None,
            query,
            content_type: content_type.map(str::to_owned),
            write_headers: WriteHeaders::default(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn query_parameters_are_decoded_and_unknown_or_repeated_ones_refused() {
        let params = |raw: &str| request(Query::Raw(raw.into()), None, "").query::<Params>();
        assert_eq!(
            params("a=x%20y&bC=z+w").unwrap(),
            Params { a: Some("x y".into()), b: Some("z w".into()) }
        );
        assert_eq!(params("").unwrap(), Params { a: None, b: None });
        for bad in ["c=1", "a=1&a=2", "bc=1", "A=1"] {
            let err = params(bad).unwrap_err();
            assert!(matches!(err, ApiError::Validation(_)), "{bad}");
        }
        let map = Query::Parameters(BTreeMap::from([("bC".into(), "a b&c".into())]));
        let from_map = request(map, None, "").query::<Params>().unwrap();
        assert_eq!(from_map.b.as_deref(), Some("a b&c"));
    }

    #[test]
    fn json_media_types_are_accepted_and_others_refused() {
        #[derive(Deserialize)]
        struct Empty {}
        for ok in [
            None,
            Some("application/json"),
            Some("Application/JSON; charset=utf-8"),
            Some("application/problem+json"),
        ] {
            assert!(request(Query::default(), ok, "{}").json_body::<Empty>().is_ok(), "{ok:?}");
        }
        for refused in ["text/plain", "json", "application/jsonx", "multipart/form-data"] {
            let err = request(Query::default(), Some(refused), "{}").json_body::<Empty>();
            assert!(matches!(err, Err(ApiError::UnsupportedMediaType(_))), "{refused}");
        }
    }

    #[test]
    fn a_base64_body_is_decoded_once_and_a_broken_one_refused() {
        let event = |body: &str| {
            let mut event = ApiGatewayV2httpRequest::default();
            event.body = Some(body.into());
            event.is_base64_encoded = true;
            event
        };
        let request = HttpRequest::try_from(event("e30=")).unwrap();
        assert_eq!(request.body, b"{}");
        assert!(matches!(
            HttpRequest::try_from(event("not base64!")),
            Err(ApiError::Validation(_))
        ));
    }

    fn from_event(event: serde_json::Value) -> HttpRequest {
        let event: ApiGatewayV2httpRequest = serde_json::from_value(event).unwrap();
        HttpRequest::try_from(event).unwrap()
    }

    #[test]
    fn an_event_gives_what_the_api_reads() {
        let request = from_event(serde_json::json!({
            "version": "2.0",
            "routeKey": "GET /employees/{employeeId}",
            "rawPath": "/employees/42",
            "rawQueryString": "a=1",
            "headers": {"Content-Type": "application/json", "x-other": "1", "If-Match": "\"v1\", \"v2\"",
                "if-none-match": "*", "IDEMPOTENCY-KEY": "k"},
            "pathParameters": {"employeeId": "42", "other": "x"},
            "requestContext": {"http": {"method": "GET", "path": "/employees/42", "userAgent": "curl"},
                "domainName": "abc.lambda-url.us-east-1.on.aws", "requestId": "r"},
            "body": "{}",
            "isBase64Encoded": false,
            "cookies": ["a"]
        }));
        assert_eq!(request.method, "GET");
        assert_eq!(request.raw_path, "/employees/42");
        assert_eq!(request.door, Door::FunctionUrl);
        assert_eq!(request.employee_id_parameter.as_deref(), Some("42"));
        assert_eq!(request.query, Query::Raw("a=1".into()));
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
        // A list of tags stays one value, as sent.
        assert_eq!(request.write_headers.if_match.as_deref(), Some("\"v1\", \"v2\""));
        assert_eq!(request.write_headers.if_none_match.as_deref(), Some("*"));
        assert_eq!(request.write_headers.idempotency_key.as_deref(), Some("k"));
        assert_eq!(request.body, b"{}");
    }

    #[test]
    fn missing_fields_take_their_defaults() {
        let request = from_event(serde_json::json!({
            "requestContext": {"http": {"method": "GET", "path": "/p"}},
            "queryStringParameters": {"limit": "2", "jobTitle": "a,b"},
            "pathParameters": null, "body": null, "headers": null
        }));
        assert_eq!(request.raw_path, "/p");
        assert_eq!(request.door, Door::ApiGateway);
        let parameters = [("jobTitle".into(), "a,b".into()), ("limit".into(), "2".into())];
        assert_eq!(request.query, Query::Parameters(BTreeMap::from(parameters)));
        assert_eq!((request.employee_id_parameter, request.body), (None, Vec::new()));
        assert_eq!(request.content_type, None);
    }
}
