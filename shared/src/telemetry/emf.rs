//! One CloudWatch Embedded Metric Format document per invocation, written
//! from that invocation's own outcome: requests, latency and DynamoDB time
//! and retries by function, route and status; employees added and removed
//! by function.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{NAMESPACE, Outcome};

#[derive(Serialize)]
struct Metric {
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Unit")]
    unit: &'static str,
}

const REQUESTS: Metric = Metric { name: "Requests", unit: "Count" };
const LATENCY: Metric = Metric { name: "Latency", unit: "Milliseconds" };
const DYNAMODB_LATENCY: Metric = Metric { name: "DynamoDbLatency", unit: "Milliseconds" };
const DYNAMODB_RETRIES: Metric = Metric { name: "DynamoDbRetries", unit: "Count" };
const ADDED: Metric = Metric { name: "EmployeesAdded", unit: "Count" };
const REMOVED: Metric = Metric { name: "EmployeesRemoved", unit: "Count" };
const UNREADABLE: Metric = Metric { name: "UnreadableItems", unit: "Count" };

const BY_ROUTE: &[&[&str]] = &[&["Function", "Route", "Status"]];
const BY_FUNCTION: &[&[&str]] = &[&["Function"]];

#[derive(Serialize)]
struct Directive {
    #[serde(rename = "Namespace")]
    namespace: &'static str,
    #[serde(rename = "Dimensions")]
    dimensions: &'static [&'static [&'static str]],
    #[serde(rename = "Metrics")]
    metrics: &'static [Metric],
}

#[derive(Serialize)]
struct Metadata {
    #[serde(rename = "Timestamp")]
    timestamp: u64,
    #[serde(rename = "CloudWatchMetrics")]
    cloudwatch_metrics: Vec<Directive>,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "_aws")]
    aws: Metadata,
    #[serde(rename = "Function")]
    function: &'a str,
    #[serde(rename = "Route")]
    route: &'a str,
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "RequestId")]
    request_id: &'a str,
    #[serde(rename = "TraceId", skip_serializing_if = "Option::is_none")]
    trace_id: Option<&'a str>,
    #[serde(rename = "Requests")]
    requests: u32,
    #[serde(rename = "Latency")]
    latency: f64,
    /// One value per invocation, written as EMF's list of values.
    #[serde(rename = "DynamoDbLatency", skip_serializing_if = "Option::is_none")]
    dynamodb_latency: Option<[f64; 1]>,
    #[serde(rename = "DynamoDbRetries", skip_serializing_if = "Option::is_none")]
    dynamodb_retries: Option<u32>,
    #[serde(rename = "EmployeesAdded", skip_serializing_if = "Option::is_none")]
    added: Option<u32>,
    #[serde(rename = "EmployeesRemoved", skip_serializing_if = "Option::is_none")]
    removed: Option<u32>,
    #[serde(rename = "UnreadableItems", skip_serializing_if = "Option::is_none")]
    unreadable: Option<u32>,
}

fn document<'a>(outcome: &'a Outcome<'a>, timestamp: u64) -> Document<'a> {
    let effects = &outcome.effects;
    let called = effects.dynamodb.calls > 0;
    let by_route = Directive {
        namespace: NAMESPACE,
        dimensions: BY_ROUTE,
        metrics: if called {
            &[REQUESTS, LATENCY, DYNAMODB_LATENCY, DYNAMODB_RETRIES]
        } else {
            &[REQUESTS, LATENCY]
        },
    };
    let mut cloudwatch_metrics = vec![by_route];
    let changed: &'static [Metric] = match (effects.added > 0, effects.removed > 0) {
        (true, true) => &[ADDED, REMOVED],
        (true, false) => &[ADDED],
        (false, true) => &[REMOVED],
        (false, false) => &[],
    };
    if effects.unreadable > 0 {
        // Another writer's items a listing skipped: by function, so one
        // alarm covers every route.
        cloudwatch_metrics.push(Directive {
            namespace: NAMESPACE,
            dimensions: BY_FUNCTION,
            metrics: &[UNREADABLE],
        });
    }
    if !changed.is_empty() {
        cloudwatch_metrics.push(Directive {
            namespace: NAMESPACE,
            dimensions: BY_FUNCTION,
            metrics: changed,
        });
    }
    Document {
        aws: Metadata { timestamp, cloudwatch_metrics },
        function: outcome.function,
        route: outcome.route,
        status: outcome.status.to_string(),
        request_id: outcome.request_id,
        trace_id: outcome.trace_id,
        requests: 1,
        latency: outcome.latency.as_secs_f64() * 1000.0,
        dynamodb_latency: called.then_some([effects.dynamodb.time.as_secs_f64() * 1000.0]),
        dynamodb_retries: called.then_some(effects.dynamodb.retries),
        added: (effects.added > 0).then_some(effects.added),
        removed: (effects.removed > 0).then_some(effects.removed),
        unreadable: (effects.unreadable > 0).then_some(effects.unreadable),
    }
}

/// Writes the outcome's document to stdout as one line, in one write.
pub(super) fn write(outcome: &Outcome<'_>) {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let Ok(mut line) = serde_json::to_vec(&document(outcome, timestamp)) else {
        return;
    };
    line.push(b'\n');
    let _ = std::io::stdout().lock().write_all(&line);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::telemetry::{DynamoDbCalls, Effects};

    #[test]
    fn a_document_carries_its_invocation_and_declares_each_metric_it_holds() {
        let outcome = Outcome {
            function: "add-employee",
            request_id: "r-1",
            trace_id: Some("Root=1-2-3"),
            route: "POST /employees",
            status: 201,
            error_code: None,
            latency: Duration::from_micros(1500),
            effects: Effects {
                dynamodb: DynamoDbCalls { calls: 1, retries: 2, time: Duration::from_micros(900) },
                added: 1,
                removed: 0,
                unreadable: 0,
            },
        };
        let doc = serde_json::to_value(document(&outcome, 7)).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {"Timestamp": 7, "CloudWatchMetrics": [
                    {"Namespace": "EmployeeApi", "Dimensions": [["Function", "Route", "Status"]],
                     "Metrics": [{"Name": "Requests", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"},
                                 {"Name": "DynamoDbLatency", "Unit": "Milliseconds"}, {"Name": "DynamoDbRetries", "Unit": "Count"}]},
                    {"Namespace": "EmployeeApi", "Dimensions": [["Function"]],
                     "Metrics": [{"Name": "EmployeesAdded", "Unit": "Count"}]}
                ]},
                "Function": "add-employee", "Route": "POST /employees", "Status": "201",
                "RequestId": "r-1", "TraceId": "Root=1-2-3",
                "Requests": 1, "Latency": 1.5, "DynamoDbLatency": [0.9], "DynamoDbRetries": 2,
                "EmployeesAdded": 1
            })
        );
        let quiet = Outcome { effects: Effects::default(), trace_id: None, ..outcome };
        let doc = serde_json::to_value(document(&quiet, 7)).unwrap();
        assert_eq!(doc["_aws"]["CloudWatchMetrics"].as_array().unwrap().len(), 1);
        assert!(doc.get("DynamoDbLatency").is_none() && doc.get("TraceId").is_none());
    }
}
