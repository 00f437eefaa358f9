//! The alarms and the topic they notify.

use employee_api_tests::template::{Deployment, is_ref, template};
use serde_yaml_ng::Value;

/// The alarms CloudFormation would create with `overrides`.
fn alarms(overrides: &[(&str, &str)]) -> Vec<(String, Value)> {
    let template = template();
    let deployment = Deployment::new(&template, overrides);
    deployment
        .resources()
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
        .collect()
}

/// Every metric an alarm watches, as `(namespace, metric name, extended statistic)`.
fn watched(alarm: &Value) -> Vec<(String, String, String)> {
    let properties = &alarm["Properties"];
    let mut metrics = Vec::new();
    if let Some(name) = properties["MetricName"].as_str() {
        metrics.push((
            properties["Namespace"].as_str().unwrap_or_default().to_owned(),
            name.to_owned(),
            properties["ExtendedStatistic"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    for query in properties["Metrics"].as_sequence().into_iter().flatten() {
        let stat = &query["MetricStat"];
        if let Some(name) = stat["Metric"]["MetricName"].as_str() {
            metrics.push((
                stat["Metric"]["Namespace"].as_str().unwrap_or_default().to_owned(),
                name.to_owned(),
                stat["Stat"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    metrics
}

#[test]
fn alarms_watch_the_5xx_rate_throttles_and_each_functions_p99_duration() {
    let alarms = alarms(&[]);
    let all: Vec<(String, String, String)> =
        alarms.iter().flat_map(|(_, alarm)| watched(alarm)).collect();
    let has = |namespace: &str, name: &str, stat: &str| {
        all.iter().any(|(n, m, s)| n == namespace && m == name && s == stat)
    };
    assert!(
        has("AWS/ApiGateway", "5xx", "Sum") && has("AWS/ApiGateway", "Count", "Sum"),
        "{all:?}"
    );
    let rate = alarms
        .iter()
        .find(|(_, a)| watched(a).iter().any(|(_, m, _)| m == "5xx"))
        .map(|(_, a)| a)
        .unwrap();
    let expression = rate["Properties"]["Metrics"]
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|q| q["Expression"].as_str())
        .expect("a rate expression");
    assert!(expression.contains("100 * errors / requests"), "{expression}");
    assert_eq!(all.iter().filter(|(_, m, _)| m == "Throttles").count(), 3, "{all:?}");
    assert_eq!(
        all.iter().filter(|(n, m, s)| n == "AWS/Lambda" && m == "Duration" && s == "p99").count(),
        3,
        "one p99 duration alarm per function: {all:?}"
    );
}

#[test]
fn alarms_notify_the_topic_only_when_one_is_given() {
    for (_, alarm) in alarms(&[]) {
        assert!(alarm["Properties"]["AlarmActions"].is_null(), "{alarm:?}");
    }
    let topic = "arn:aws:sns:eu-west-1:123456789012:oncall";
    for (id, alarm) in alarms(&[("AlarmTopicArn", topic)]) {
        for key in ["AlarmActions", "OKActions"] {
            let actions = &alarm["Properties"][key];
            assert_eq!(actions.as_sequence().map(Vec::len), Some(1), "{id} {key}");
            assert!(is_ref(&actions[0], "AlarmTopicArn"), "{id} {key}: {actions:?}");
        }
    }
}
