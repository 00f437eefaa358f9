//! API Gateway HTTP API events (payload format 2.0) for a request as a
//! client sends it, shaped as each door delivers it: the one event builder
//! the tests share. Each door's event starts from its fixture in
//! `events/doors/` (shaped on live captures and on the emulators' source;
//! that folder's README cites them), and the door's own rule is applied to
//! the path: API Gateway and `sam local start-api` decode it (API Gateway
//! also cuts it at a decoded `?`), function URLs and `cargo lambda watch`
//! pass it on encoded.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

pub const HOST: &str = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com";

/// Where an event comes from, as far as the functions can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Door {
    /// API Gateway HTTP API with the template's routes: a route key and
    /// `pathParameters` for the routes it knows, `$default` otherwise.
    ApiGateway,
    /// API Gateway with a `$default` route only, as `sam local
    /// generate-event` makes them too: no `pathParameters`.
    ApiGatewayDefaultRoute,
    /// A Lambda function URL.
    FunctionUrl,
    /// `cargo lambda watch` and its router.
    CargoLambdaWatch,
    /// `sam local start-api`.
    SamLocalStartApi,
}

impl Door {
    pub const ALL: [Self; 5] = [
        Self::ApiGateway,
        Self::ApiGatewayDefaultRoute,
        Self::FunctionUrl,
        Self::CargoLambdaWatch,
        Self::SamLocalStartApi,
    ];

    /// The door's fixture in `events/doors/`.
    pub fn fixture(self) -> Value {
        let text = match self {
            Self::ApiGateway | Self::ApiGatewayDefaultRoute => {
                include_str!("../../events/doors/api-gateway-http-api.json")
            }
            Self::FunctionUrl => include_str!("../../events/doors/function-url.json"),
            Self::CargoLambdaWatch => include_str!("../../events/doors/cargo-lambda-watch.json"),
            Self::SamLocalStartApi => include_str!("../../events/doors/sam-local-start-api.json"),
        };
        serde_json::from_str(text).expect("the door fixtures are JSON")
    }

    /// Whether the door percent-decodes the path before the function sees it.
    pub fn decodes(self) -> bool {
        matches!(self, Self::ApiGateway | Self::ApiGatewayDefaultRoute | Self::SamLocalStartApi)
    }

    /// Whether the door delivers a request for `path` (as a client sends
    /// it) as that request: a decoding door needs the path to decode to
    /// UTF-8 (what API Gateway does with one that does not is not known),
    /// and API Gateway cuts a path at a decoded `?`, which turns it into a
    /// request for another path (`/employees/a%3Fb` reaches the function
    /// as `/employees/a`).
    pub fn delivers(self, path: &str) -> bool {
        match (self, decode(path)) {
            (Self::FunctionUrl | Self::CargoLambdaWatch, _) => true,
            (_, None) => false,
            (Self::ApiGateway | Self::ApiGatewayDefaultRoute, Some(path)) => !path.contains('?'),
            (Self::SamLocalStartApi, Some(_)) => true,
        }
    }
}

fn decode(path: &str) -> Option<String> {
    percent_encoding::percent_decode_str(path).decode_utf8().ok().map(Into::into)
}

#[derive(Debug, Clone)]
pub struct HttpEvent {
    method: String,
    path: String,
    query: String,
    headers: Map<String, Value>,
    body: Option<Vec<u8>>,
    base64: Base64,
    request_id: String,
    door: Door,
}

#[derive(Debug, Clone)]
enum Base64 {
    /// Text bodies as text; bodies that are not UTF-8 base64-encoded, as
    /// API Gateway sends them.
    WhenNeeded,
    /// Always encoded, as for binary media types.
    Always,
    /// This text, sent as it is with the base64 flag set.
    Verbatim(String),
}

/// An event for `method` on `path` (the raw path, percent-encoded as a
/// client sends it), through API Gateway's `$default` route unless
/// [`HttpEvent::door`] says otherwise.
pub fn http_event(method: &str, path: &str) -> HttpEvent {
    let mut headers = Map::new();
    headers.insert("user-agent".into(), "employee-api-tests".into());
    HttpEvent {
        method: method.to_owned(),
        path: path.to_owned(),
        query: String::new(),
        headers,
        body: None,
        base64: Base64::WhenNeeded,
        request_id: "tests".to_owned(),
        door: Door::ApiGatewayDefaultRoute,
    }
}

/// The route `method` and `path` (decoded or not) match in the template
/// and the `cargo lambda watch` router, and the id segment of the path.
fn matched_route(method: &str, path: &str) -> Option<(String, Option<String>)> {
    if path == "/employees" && matches!(method, "GET" | "POST") {
        return Some((format!("{method} /employees"), None));
    }
    let id = path.strip_prefix("/employees/")?;
    let one_segment = !id.is_empty() && !id.contains('/');
    (one_segment && matches!(method, "GET" | "PUT" | "DELETE"))
        .then(|| (format!("{method} /employees/{{employeeId}}"), Some(id.to_owned())))
}

impl HttpEvent {
    /// The door the event comes through.
    pub fn door(mut self, door: Door) -> Self {
        self.door = door;
        self
    }

    /// The raw query string, without `?`.
    pub fn query(mut self, query: &str) -> Self {
        self.query = query.to_owned();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_owned(), value.into());
        self
    }

    pub fn content_type(self, value: &str) -> Self {
        self.header("content-type", value)
    }

    /// A body sent with `Content-Type: application/json`.
    pub fn json_body(self, body: impl Into<Vec<u8>>) -> Self {
        self.content_type("application/json").body(body)
    }

    /// A body, with whatever `Content-Type` the event has (maybe none).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sends the body base64-encoded.
    pub fn base64(mut self) -> Self {
        self.base64 = Base64::Always;
        self
    }

    /// Sends `text` verbatim as a body flagged base64 (which it may not be).
    pub fn base64_verbatim(mut self, text: &str) -> Self {
        self.base64 = Base64::Verbatim(text.to_owned());
        self
    }

    /// The door's own id of the request (`requestContext.requestId`).
    pub fn request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }

    /// The event, as the door delivers the request.
    ///
    /// # Panics
    /// If the door decodes paths and this one does not decode to UTF-8
    /// ([`Door::delivers`]).
    pub fn build(self) -> Value {
        let door = self.door;
        let (body, is_base64) = match (self.base64, self.body) {
            (Base64::Verbatim(text), _) => (Some(text), true),
            (_, None) => (None, false),
            (Base64::Always, Some(body)) => (Some(STANDARD.encode(body)), true),
            (Base64::WhenNeeded, Some(body)) => match String::from_utf8(body) {
                Ok(text) => (Some(text), false),
                Err(e) => (Some(STANDARD.encode(e.into_bytes())), true),
            },
        };
        let decoded = || {
            decode(&self.path).unwrap_or_else(|| {
                panic!("{door:?} decodes paths; {:?} does not decode to UTF-8", self.path)
            })
        };
        let (raw_path, context_path) = match door {
            // API Gateway cuts the decoded path at its first `?`.
            Door::ApiGateway | Door::ApiGatewayDefaultRoute => {
                let mut path = decoded();
                path.truncate(path.find('?').unwrap_or(path.len()));
                (path.clone(), path)
            }
            Door::SamLocalStartApi => (decoded(), decoded()),
            Door::FunctionUrl => {
                let lossy = percent_encoding::percent_decode_str(&self.path).decode_utf8_lossy();
                (self.path.clone(), lossy.into_owned())
            }
            Door::CargoLambdaWatch => (self.path.clone(), self.path.clone()),
        };
        let route = match door {
            Door::ApiGatewayDefaultRoute | Door::FunctionUrl => None,
            _ => matched_route(&self.method, &raw_path),
        };
        let mut event = door.fixture();
        let user_agent = self.headers.get("user-agent").cloned().unwrap_or_default();
        let mut headers = match event["headers"].take() {
            Value::Object(fixture) => fixture,
            _ => Map::new(),
        };
        headers.retain(|name, _| !name.eq_ignore_ascii_case("content-length"));
        for (name, value) in self.headers {
            headers.retain(|existing, _| !existing.eq_ignore_ascii_case(&name));
            headers.insert(name, value);
        }
        event["headers"] = Value::Object(headers);
        event["rawPath"] = raw_path.into();
        // `cargo lambda watch` sends no query string as `null`.
        event["rawQueryString"] = match door {
            Door::CargoLambdaWatch if self.query.is_empty() => Value::Null,
            _ => self.query.into(),
        };
        let context = &mut event["requestContext"];
        context["http"]["method"] = self.method.as_str().into();
        context["http"]["path"] = context_path.into();
        context["requestId"] = self.request_id.into();
        // Only the emulators write a fixed agent of their own.
        if !matches!(door, Door::CargoLambdaWatch | Door::SamLocalStartApi) {
            context["http"]["userAgent"] = user_agent;
        }
        let object = event.as_object_mut().expect("an event is an object");
        object.remove("pathParameters");
        object.remove("body");
        let route_key = match (&route, door) {
            (Some((key, _)), Door::ApiGateway | Door::SamLocalStartApi) => key.as_str(),
            _ => "$default",
        };
        object.insert("routeKey".into(), route_key.into());
        object["requestContext"]["routeKey"] = route_key.into();
        if let Some((_, Some(id))) = route {
            object.insert("pathParameters".into(), json!({ "employeeId": id }));
        } else if door == Door::SamLocalStartApi {
            object.insert("pathParameters".into(), json!({}));
        }
        if let Some(body) = body {
            object.insert("body".into(), body.into());
        }
        object.insert("isBase64Encoded".into(), is_base64.into());
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_door_delivers_the_path_its_own_way() {
        let event = |door| http_event("GET", "/employees/a%2541").door(door).build();
        let api = event(Door::ApiGateway);
        assert_eq!(
            (api["rawPath"].as_str(), api["pathParameters"]["employeeId"].as_str()),
            (Some("/employees/a%41"), Some("a%41"))
        );
        assert_eq!(api["routeKey"], "GET /employees/{employeeId}");
        let url = event(Door::FunctionUrl);
        assert_eq!(url["rawPath"], "/employees/a%2541");
        assert_eq!(url["requestContext"]["http"]["path"], "/employees/a%41");
        assert!(url.get("pathParameters").is_none());
        let watch = event(Door::CargoLambdaWatch);
        assert_eq!(watch["pathParameters"]["employeeId"], "a%2541");
        let cut = http_event("GET", "/employees/a%3Fb").door(Door::ApiGateway).build();
        assert_eq!(cut["pathParameters"]["employeeId"], "a");
        assert!(!Door::ApiGateway.delivers("/employees/%FF"));
        assert!(!Door::ApiGateway.delivers("/employees/a%3Fb"));
        assert!(Door::FunctionUrl.delivers("/employees/%FF"));
    }
}
