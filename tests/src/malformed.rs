//! A catalogue of malformed and hostile requests, each with the exact status
//! and error code it must get. The same cases run through the real entry
//! point with API Gateway event shapes (`tests/malformed_events.rs`) and over
//! HTTP on the local stack (`tests/malformed_http.rs`).
//!
//! Every case runs against a table holding only [`SEED`]; none may change it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::events::{Door, http_event};

/// The employees in the table before the cases run.
pub const SEED: &[(&str, &str)] = &[("42", "Engineer"), ("7", "Manager")];

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub method: &'static str,
    /// The raw path, percent-encoded as a client sends it.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
    /// Send the body base64-encoded in the event (as API Gateway does for
    /// binary media); `Some(text)` sends `text` verbatim as the "base64" body.
    pub base64: Option<Option<String>>,
    pub status: u16,
    pub code: &'static str,
    /// Whether the case can be sent over HTTP through `cargo lambda watch`:
    /// its router answers unrouted methods and paths itself, it cannot carry
    /// a non-UTF-8 JSON body, and HTTP clients normalise dot segments.
    pub over_http: bool,
}

impl Case {
    fn new(name: impl Into<String>, method: &'static str, path: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            method,
            path: path.into(),
            query: String::new(),
            content_type: None,
            body: None,
            base64: None,
            status: 400,
            code: "ValidationError",
            over_http: true,
        }
    }

    fn json(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some("application/json".into());
        self.body = Some(body.into());
        self
    }

    fn content_type(mut self, value: &str) -> Self {
        self.content_type = Some(value.into());
        self
    }

    fn query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }

    fn expect(mut self, status: u16, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }

    fn event_only(mut self) -> Self {
        self.over_http = false;
        self
    }

    /// The function API Gateway would route this request to (methods without
    /// a route reach get-employee, as through a `$default` route).
    pub fn function(&self) -> &'static str {
        crate::invoke::function_for(self.method)
    }
}

fn cursor(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

/// Every case. Names are unique.
pub fn cases() -> Vec<Case> {
    let post = |name: &str, body: &[u8]| Case::new(name, "POST", "/employees").json(body.to_vec());
    let post_str = |name: &str, body: &str| post(name, body.as_bytes());
    let new_employee =
        |id: &str, title: &str| serde_json::json!({"employee": id, "jobTitle": title}).to_string();
    let mut cases = vec![
        // Broken and truncated JSON.
        post_str("json: lone brace", "{"),
        post_str("json: truncated after a field", r#"{"employee":"n1""#),
        post_str("json: truncated inside a string", r#"{"employee":"n1","jobTitle":"Eng"#),
        post_str("json: trailing brace", r#"{"employee":"n1","jobTitle":"x"}}"#),
        post_str("json: trailing garbage", r#"{"employee":"n1","jobTitle":"x"} x"#),
        post_str("json: single quotes", "{'employee':'n1','jobTitle':'x'}"),
        post_str("json: unquoted keys", r#"{employee:"n1",jobTitle:"x"}"#),
        post_str("json: trailing comma", r#"{"employee":"n1","jobTitle":"x",}"#),
        post_str("json: comment", r#"{"employee":"n1", /* c */ "jobTitle":"x"}"#),
        post_str("json: NaN", r#"{"employee":NaN,"jobTitle":"x"}"#),
        post_str("json: bad escape", r#"{"employee":"n\q1","jobTitle":"x"}"#),
        post_str("json: lone surrogate", r#"{"employee":"\ud800","jobTitle":"x"}"#),
        // `cargo lambda watch` answers a non-UTF-8 JSON body with its own 500
        // before any function runs; API Gateway base64-encodes it instead.
        post("json: invalid UTF-8", b"{\"employee\":\"n\xff1\",\"jobTitle\":\"x\"}").event_only(),
        post(
            "json: UTF-8 byte order mark",
            b"\xef\xbb\xbf{\"employee\":\"n1\",\"jobTitle\":\"x\"}",
        ),
        post_str("json: empty body", ""),
        post_str("json: white space only", " \n\t "),
        post_str("json: deeply nested", &format!("{}{}", "[".repeat(500), "]".repeat(500))),
        post_str(
            "json: deeply nested field",
            &format!(r#"{{"employee":{}{},"jobTitle":"x"}}"#, "[".repeat(300), "]".repeat(300)),
        ),
        post_str("json: number too large", r#"{"employee":1e999,"jobTitle":"x"}"#),
        // JSON that is not an object.
        post_str("not an object: null", "null"),
        post_str("not an object: true", "true"),
        post_str("not an object: number", "42"),
        post_str("not an object: string", r#""n1""#),
        post_str("not an object: empty array", "[]"),
        post_str("not an object: array of fields", r#"["n1","x"]"#),
        post_str("not an object: array of objects", r#"[{"employee":"n1","jobTitle":"x"}]"#),
        // Missing, unknown and wrongly typed fields.
        post_str("fields: empty object", "{}"),
        post_str("fields: no jobTitle", r#"{"employee":"n1"}"#),
        post_str("fields: no employee", r#"{"jobTitle":"x"}"#),
        post_str("fields: unknown extra", r#"{"employee":"n1","jobTitle":"x","salary":1}"#),
        post_str("fields: wrong case Employee", r#"{"Employee":"n1","jobTitle":"x"}"#),
        post_str("fields: wrong case JobTitle", r#"{"employee":"n1","JobTitle":"x"}"#),
        post_str("fields: table attribute names", r#"{"EmployeeId":"n1","JobTitle":"x"}"#),
        post_str("fields: snake case", r#"{"employee":"n1","job_title":"x"}"#),
        post_str("fields: duplicate key", r#"{"employee":"n1","employee":"n2","jobTitle":"x"}"#),
        post_str("types: employee null", r#"{"employee":null,"jobTitle":"x"}"#),
        post_str("types: employee number", r#"{"employee":1,"jobTitle":"x"}"#),
        post_str("types: employee bool", r#"{"employee":true,"jobTitle":"x"}"#),
        post_str("types: employee array", r#"{"employee":["n1"],"jobTitle":"x"}"#),
        post_str("types: employee DynamoDB shape", r#"{"employee":{"S":"n1"},"jobTitle":"x"}"#),
        post_str("types: jobTitle number", r#"{"employee":"n1","jobTitle":2}"#),
        post_str("types: jobTitle null", r#"{"employee":"n1","jobTitle":null}"#),
        post_str("types: jobTitle object", r#"{"employee":"n1","jobTitle":{}}"#),
        // Ids and titles that break the rules.
        post_str("id: empty", &new_employee("", "x")),
        post_str("id: one space", &new_employee(" ", "x")),
        post_str("id: leading space", &new_employee(" n1", "x")),
        post_str("id: trailing space", &new_employee("n1 ", "x")),
        post_str("id: leading tab", &new_employee("\tn1", "x")),
        post_str("id: newline inside", &new_employee("n\n1", "x")),
        post_str("id: NUL", &new_employee("n\u{0}1", "x")),
        post_str("id: BEL", &new_employee("n\u{7}1", "x")),
        post_str("id: DEL", &new_employee("n\u{7f}1", "x")),
        post_str("id: C1 control NEL", &new_employee("n\u{85}1", "x")),
        post_str("id: leading no-break space", &new_employee("\u{a0}n1", "x")),
        post_str("id: trailing ideographic space", &new_employee("n1\u{3000}", "x")),
        post_str("id: 129 ASCII characters", &new_employee(&"i".repeat(129), "x")),
        post_str("id: 129 two-byte characters", &new_employee(&"é".repeat(129), "x")),
        post_str("id: 129 emoji", &new_employee(&"🦀".repeat(129), "x")),
        post_str("id: slash", &new_employee("a/b", "x")),
        post_str("id: only a slash", &new_employee("/", "x")),
        post_str("id: dot", &new_employee(".", "x")),
        post_str("id: dot dot", &new_employee("..", "x")),
        // API Gateway cuts a path at a decoded `?`: such an id could never be
        // read back, so it is never created over HTTP.
        post_str("id: question mark", &new_employee("a?b", "x")),
        post_str("id: only a question mark", &new_employee("?", "x")),
        post_str("title: empty", &new_employee("n1", "")),
        post_str("title: spaces only", &new_employee("n1", "   ")),
        post_str("title: leading space", &new_employee("n1", " Engineer")),
        post_str("title: trailing newline", &new_employee("n1", "Engineer\n")),
        post_str("title: carriage return inside", &new_employee("n1", "Eng\rineer")),
        post_str("title: escape character", &new_employee("n1", "\u{1b}[31mEngineer")),
        post_str("title: 257 characters", &new_employee("n1", &"t".repeat(257))),
        post_str("title: 257 emoji", &new_employee("n1", &"🦀".repeat(257))),
        // Size.
        post_str(
            "size: 16 KiB + 1 body",
            &format!(r#"{{"employee":"n1","jobTitle":"{}"}}"#, "x".repeat(16 * 1024 - 30)),
        )
        .expect(413, "PayloadTooLarge"),
        post_str("size: 1 MiB body", &"x".repeat(1024 * 1024)).expect(413, "PayloadTooLarge"),
        // Conflicts: well-formed, but the id exists; nothing is overwritten.
        post_str("conflict: existing id", &new_employee("42", "Impostor"))
            .expect(409, "EmployeeAlreadyExists"),
        // Media types.
        post_str("media: text/plain", &new_employee("n1", "x"))
            .content_type("text/plain")
            .expect(415, "UnsupportedMediaType"),
        post_str("media: form", &new_employee("n1", "x"))
            .content_type("application/x-www-form-urlencoded")
            .expect(415, "UnsupportedMediaType"),
        post_str("media: multipart", &new_employee("n1", "x"))
            .content_type("multipart/form-data; boundary=x")
            .expect(415, "UnsupportedMediaType"),
        post_str("media: xml", &new_employee("n1", "x"))
            .content_type("application/xml")
            .expect(415, "UnsupportedMediaType"),
        post_str("media: application/jsonx", &new_employee("n1", "x"))
            .content_type("application/jsonx")
            .expect(415, "UnsupportedMediaType"),
        post_str("media: bare json", &new_employee("n1", "x"))
            .content_type("json")
            .expect(415, "UnsupportedMediaType"),
        post_str("media: JSON with charset, bad body", "{")
            .content_type("application/json; charset=utf-8"),
        post_str("media: +json suffix, bad body", "[]").content_type("application/problem+json"),
        Case {
            body: Some(b"{".to_vec()),
            content_type: None,
            ..Case::new("media: no content type, bad body", "POST", "/employees")
        },
        // PUT.
        Case::new("put: empty object", "PUT", "/employees/p1").json("{}"),
        Case::new("put: other employee in body", "PUT", "/employees/p1")
            .json(r#"{"employee":"p2","jobTitle":"x"}"#),
        Case::new("put: unknown field", "PUT", "/employees/p1").json(r#"{"jobTitle":"x","a":1}"#),
        Case::new("put: null employee", "PUT", "/employees/p1")
            .json(r#"{"employee":null,"jobTitle":"x"}"#),
        Case::new("put: numeric employee", "PUT", "/employees/p1")
            .json(r#"{"employee":1,"jobTitle":"x"}"#),
        Case::new("put: array body", "PUT", "/employees/p1").json("[]"),
        Case::new("put: bad title", "PUT", "/employees/p1").json(r#"{"jobTitle":" x"}"#),
        Case::new("put: title control character", "PUT", "/employees/p1")
            .json(r#"{"jobTitle":"x\u0000"}"#),
        Case::new("put: text/plain", "PUT", "/employees/p1")
            .json(r#"{"jobTitle":"x"}"#)
            .content_type("text/plain")
            .expect(415, "UnsupportedMediaType"),
        Case::new("put: oversized", "PUT", "/employees/p1")
            .json(format!(r#"{{"jobTitle":"{}"}}"#, "x".repeat(17 * 1024)))
            .expect(413, "PayloadTooLarge"),
        Case::new("put: padded id in path", "PUT", "/employees/%20p1").json(r#"{"jobTitle":"x"}"#),
        Case::new("put: encoded slash in path", "PUT", "/employees/a%2Fb")
            .json(r#"{"jobTitle":"x"}"#),
        Case::new("put: encoded question mark in path", "PUT", "/employees/a%3Fb")
            .json(r#"{"jobTitle":"x"}"#),
        Case::new("put: 129-character id", "PUT", format!("/employees/{}", "i".repeat(129)))
            .json(r#"{"jobTitle":"x"}"#),
        Case::new("put: invalid UTF-8 in path", "PUT", "/employees/%FF")
            .json(r#"{"jobTitle":"x"}"#),
        Case::new("put: on the collection", "PUT", "/employees")
            .json(r#"{"jobTitle":"x"}"#)
            .expect(405, "MethodNotAllowed")
            .event_only(),
        // GET one.
        Case::new("get: padded id", "GET", "/employees/%20"),
        Case::new("get: NUL id", "GET", "/employees/%00"),
        Case::new("get: BEL id", "GET", "/employees/x%07"),
        Case::new("get: invalid UTF-8", "GET", "/employees/%FF%FE"),
        Case::new("get: truncated percent escape", "GET", "/employees/%E2%82"),
        Case::new("get: encoded slash", "GET", "/employees/a%2Fb"),
        Case::new("get: encoded dot", "GET", "/employees/%2E").event_only(),
        Case::new("get: encoded dot dot", "GET", "/employees/%2E%2E").event_only(),
        Case::new("get: raw slash in id", "GET", "/employees/a/b").event_only(),
        Case::new("get: empty id", "GET", "/employees/").event_only(),
        Case::new("get: 10 KB path", "GET", format!("/employees/{}", "a".repeat(10_000))),
        Case::new("get: missing employee", "GET", "/employees/nobody")
            .expect(404, "EmployeeDoesNotExist"),
        // GET many.
        Case::new("list: limit 0", "GET", "/employees").query("limit=0"),
        Case::new("list: limit 101", "GET", "/employees").query("limit=101"),
        Case::new("list: negative limit", "GET", "/employees").query("limit=-1"),
        Case::new("list: word limit", "GET", "/employees").query("limit=ten"),
        Case::new("list: empty limit", "GET", "/employees").query("limit="),
        Case::new("list: fractional limit", "GET", "/employees").query("limit=1.5"),
        Case::new("list: huge limit", "GET", "/employees").query("limit=99999999999999999999"),
        Case::new("list: plus-signed limit", "GET", "/employees").query("limit=%2B5"),
        Case::new("list: repeated limit", "GET", "/employees").query("limit=1&limit=2"),
        Case::new("list: empty jobTitle", "GET", "/employees").query("jobTitle="),
        Case::new("list: padded jobTitle", "GET", "/employees").query("jobTitle=%20Engineer"),
        Case::new("list: control character jobTitle", "GET", "/employees").query("jobTitle=a%07"),
        Case::new("list: 257-character jobTitle", "GET", "/employees")
            .query(format!("jobTitle={}", "t".repeat(257))),
        Case::new("list: unknown parameter", "GET", "/employees").query("jobtitle=Engineer"),
        Case::new("list: unrelated parameter", "GET", "/employees").query("foo=bar"),
        Case::new("list: empty cursor", "GET", "/employees").query("cursor="),
        Case::new("list: cursor not base64", "GET", "/employees").query("cursor=!!!"),
        Case::new("list: cursor not JSON", "GET", "/employees")
            .query(format!("cursor={}", cursor("not json"))),
        Case::new("list: cursor JSON array", "GET", "/employees")
            .query(format!("cursor={}", cursor("[]"))),
        Case::new("list: cursor with unknown field", "GET", "/employees")
            .query(format!("cursor={}", cursor(r#"{"e":"42","x":1}"#))),
        Case::new("list: cursor with empty key", "GET", "/employees")
            .query(format!("cursor={}", cursor(r#"{"e":""}"#))),
        Case::new("list: cursor with a number key", "GET", "/employees")
            .query(format!("cursor={}", cursor(r#"{"e":42}"#))),
        Case::new("list: cursor key over 2 KiB", "GET", "/employees")
            .query(format!("cursor={}", cursor(&format!(r#"{{"e":"{}"}}"#, "k".repeat(2049))))),
        Case::new("list: cursor of 7000 characters", "GET", "/employees")
            .query(format!("cursor={}", "A".repeat(7000))),
        Case::new("list: cursor from another filter", "GET", "/employees")
            .query(format!("jobTitle=Manager&cursor={}", cursor(r#"{"e":"42","j":"Engineer"}"#))),
        Case::new("list: filtered cursor without the filter", "GET", "/employees")
            .query(format!("cursor={}", cursor(r#"{"e":"42","j":"Engineer"}"#))),
        // A well-formed cursor naming a key this table never held (forged,
        // or from another deployment) resumes after it: 200, nothing leaks.
        Case::new("list: forged well-formed cursor", "GET", "/employees")
            .query(format!("cursor={}", cursor(r#"{"e":"zzz-never-stored"}"#)))
            .expect(200, ""),
        // DELETE.
        Case::new("delete: padded id", "DELETE", "/employees/%20x"),
        Case::new("delete: encoded slash", "DELETE", "/employees/a%2Fb"),
        Case::new("delete: invalid UTF-8", "DELETE", "/employees/%C3"),
        Case::new("delete: 129-character id", "DELETE", format!("/employees/{}", "d".repeat(129))),
        Case::new("delete: missing employee", "DELETE", "/employees/nobody")
            .expect(404, "EmployeeDoesNotExist"),
        Case::new("delete: the collection", "DELETE", "/employees")
            .expect(405, "MethodNotAllowed")
            .event_only(),
        // Methods and paths API Gateway would not route (reachable through a
        // `$default` route or a function URL).
        Case::new("method: PATCH", "PATCH", "/employees/42")
            .json(r#"{"jobTitle":"x"}"#)
            .expect(405, "MethodNotAllowed")
            .event_only(),
        Case::new("method: POST on an employee", "POST", "/employees/42")
            .json(r#"{"employee":"42","jobTitle":"x"}"#)
            .expect(405, "MethodNotAllowed")
            .event_only(),
        Case::new("method: HEAD", "HEAD", "/employees/42")
            .expect(405, "MethodNotAllowed")
            .event_only(),
        Case::new("method: OPTIONS", "OPTIONS", "/employees")
            .expect(405, "MethodNotAllowed")
            .event_only(),
        Case::new("method: TRACE", "TRACE", "/employees/42")
            .expect(405, "MethodNotAllowed")
            .event_only(),
        Case::new("path: root", "GET", "/").expect(404, "RouteNotFound").event_only(),
        Case::new("path: singular", "GET", "/employee/42")
            .expect(404, "RouteNotFound")
            .event_only(),
        Case::new("path: prefix match", "GET", "/employeesX")
            .expect(404, "RouteNotFound")
            .event_only(),
        Case::new("path: 10 KB unknown path", "GET", format!("/{}", "z".repeat(10_000)))
            .expect(404, "RouteNotFound")
            .event_only(),
    ];
    // Base64 bodies, as API Gateway sends binary media: only events carry them.
    let mut base64_case = |name: &str, encoded: Option<String>, body: &str| {
        let mut case = post_str(name, body).event_only();
        case.base64 = Some(encoded);
        cases.push(case);
    };
    base64_case("base64: not base64", Some("not base64!".into()), "");
    base64_case("base64: truncated", Some("eyJlbXBsb3llZSI6".into()), "");
    base64_case("base64: URL-safe alphabet", Some("eyJ-_w==".into()), "");
    base64_case("base64: valid, broken JSON", None, "{\"employee\":");
    base64_case("base64: valid, unknown field", None, r#"{"employee":"n1","jobTitle":"x","z":0}"#);
    base64_case("base64: valid, padded id", None, r#"{"employee":"n1 ","jobTitle":"x"}"#);
    cases
}

/// The event for `case` as `door` delivers it (a route the template does
/// not have arrives as through a `$default` route: no `pathParameters`, the
/// id in the raw path). Bodies that are not UTF-8 travel base64-encoded, as
/// API Gateway sends them.
pub fn event(case: &Case, door: Door) -> serde_json::Value {
    let mut event = http_event(case.method, &case.path).query(&case.query).door(door);
    if let Some(content_type) = &case.content_type {
        event = event.content_type(content_type);
    }
    if let Some(body) = &case.body {
        event = event.body(body.clone());
    }
    match &case.base64 {
        Some(Some(verbatim)) => event = event.base64_verbatim(verbatim),
        Some(None) => event = event.base64(),
        None => {}
    }
    event.request_id("malformed").build()
}
