//! What the subjects are asked: the events of each workload, and the answer
//! each must give.

use serde_json::{Value, json};

use crate::runtime_api::Workload;

fn event_file(name: &str) -> Value {
    let path = employee_api_tests::workspace_root().join("events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("event file")).expect("event JSON")
}

fn status_is(output: &Value, status: u16) -> bool {
    output["statusCode"] == status
}

/// `GET /employees/42` (events/get-employee.json).
pub struct Get {
    event: String,
    status: u16,
}

impl Get {
    pub fn new(status: u16) -> Self {
        Self { event: event_file("get-employee.json").to_string(), status }
    }
}

impl Workload for Get {
    fn event(&mut self, _n: usize) -> String {
        self.event.clone()
    }

    fn accept(&self, output: &Value) -> bool {
        status_is(output, self.status)
    }
}

/// `POST /employees` of a new id each time (with a new `Idempotency-Key`
/// each time, when keyed).
pub struct Add {
    template: Value,
    prefix: String,
    keyed: bool,
}

impl Add {
    pub fn new(prefix: &str) -> Self {
        Self { template: event_file("add-employee.json"), prefix: prefix.to_owned(), keyed: false }
    }

    pub fn keyed(prefix: &str) -> Self {
        Self { keyed: true, ..Self::new(prefix) }
    }
}

impl Workload for Add {
    fn event(&mut self, n: usize) -> String {
        let mut event = self.template.clone();
        let id = format!("{}-{n}", self.prefix);
        if self.keyed {
            event["headers"]["idempotency-key"] = format!("\"{id}\"").into();
        }
        event["body"] = json!({"employee": id, "jobTitle": "Engineer"}).to_string().into();
        event.to_string()
    }

    fn accept(&self, output: &Value) -> bool {
        status_is(output, 201)
    }
}

/// `DELETE /employees/{id}` of the ids `Add` created, in the same order.
pub struct Remove {
    template: Value,
    prefix: String,
}

impl Remove {
    pub fn new(prefix: &str) -> Self {
        Self { template: event_file("remove-employee.json"), prefix: prefix.to_owned() }
    }
}

impl Workload for Remove {
    fn event(&mut self, n: usize) -> String {
        let id = format!("{}-{n}", self.prefix);
        let mut event = self.template.clone();
        event["rawPath"] = format!("/employees/{id}").into();
        event["requestContext"]["http"]["path"] = format!("/employees/{id}").into();
        event["pathParameters"]["employeeId"] = id.into();
        event.to_string()
    }

    fn accept(&self, output: &Value) -> bool {
        status_is(output, 200)
    }
}
