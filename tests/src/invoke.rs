//! The functions' entry point called in-process, the way the Lambda runtime
//! calls it: a payload's JSON read into the runtime's payload type, handed
//! to one of the three functions by name, and its answer serialized. This
//! is the one place tests choose a function by name.

use employee_api::functions::{AddEmployee, GetEmployee, RemoveEmployee, WriteRules};
use employee_api::lambda;
use employee_api::payload::Payload;
use employee_api::store::{StoreDelete, StoreGet, StoreList, StorePut, StoreRecord, StoreTransact};

/// Everything a store must do to serve the three functions.
pub trait Store:
    StoreGet + StoreList + StorePut + StoreDelete + StoreTransact + StoreRecord + Sync
{
}

impl<S> Store for S where
    S: StoreGet + StoreList + StorePut + StoreDelete + StoreTransact + StoreRecord + Sync
{
}
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;

/// The three functions, by the names the template and `cargo lambda` use.
pub const FUNCTIONS: [&str; 3] = ["get-employee", "add-employee", "remove-employee"];

/// The function API Gateway routes `method` to. Methods without a route
/// reach get-employee, as through a `$default` route.
pub fn function_for(method: &str) -> &'static str {
    match method {
        "POST" | "PUT" => "add-employee",
        "DELETE" => "remove-employee",
        _ => "get-employee",
    }
}

/// Invokes `function`, serving from `store`, with `payload` (an API Gateway
/// event or a direct input): its JSON output, or its function error.
pub async fn invoke<S: Store>(
    function: &str,
    store: &S,
    payload: &Value,
) -> Result<Value, Diagnostic> {
    invoke_with(function, store, payload, Context::default()).await
}

/// [`invoke`], with the invocation's context (request id, trace id).
pub async fn invoke_with<S: Store>(
    function: &str,
    store: &S,
    payload: &Value,
    context: Context,
) -> Result<Value, Diagnostic> {
    invoke_with_rules(function, store, payload, context, WriteRules::default()).await
}

/// [`invoke_with`], with the functions' write rules (`REQUIRE_IF_MATCH`).
pub async fn invoke_with_rules<S: Store>(
    function: &str,
    store: &S,
    payload: &Value,
    context: Context,
    rules: WriteRules,
) -> Result<Value, Diagnostic> {
    let bytes = serde_json::to_vec(payload).expect("a JSON value serializes");
    let payload: Payload = serde_json::from_slice(&bytes).expect("every JSON payload is read");
    let event = LambdaEvent::new(payload, context);
    let answer = match function {
        "get-employee" => lambda::handle(&GetEmployee(store), event).await,
        "add-employee" => lambda::handle(&AddEmployee(store, rules), event).await,
        "remove-employee" => lambda::handle(&RemoveEmployee(store, rules), event).await,
        other => panic!("there is no function {other:?}; there are {FUNCTIONS:?}"),
    }?;
    Ok(serde_json::to_value(answer).expect("an answer serializes"))
}

/// An API Gateway HTTP response, as a test reads it.
#[derive(Debug, Clone)]
pub struct HttpAnswer(pub Value);

impl HttpAnswer {
    pub fn status(&self) -> u64 {
        self.0["statusCode"].as_u64().unwrap_or(0)
    }

    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.0["headers"][name].as_str().unwrap_or("")
    }

    /// The body, read as JSON (`Null` when it is not JSON).
    pub fn body(&self) -> Value {
        self.0["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null)
    }
}

/// Asserts that `answer` is the error `code` with `status`, and a message.
pub fn assert_error(answer: &HttpAnswer, status: u64, code: &str) {
    assert_eq!(answer.status(), status, "{:?}", answer.0);
    let body = answer.body();
    assert_eq!(body["error"], code, "{:?}", answer.0);
    assert!(body["message"].is_string(), "{:?}", answer.0);
}

/// Invokes `function` with an HTTP event, which always gets an HTTP answer.
pub async fn request<S: Store>(function: &str, store: &S, event: &Value) -> HttpAnswer {
    let answer = invoke(function, store, event).await;
    HttpAnswer(answer.unwrap_or_else(|d| panic!("an HTTP event ended in a function error: {d:?}")))
}
