//! A write's [`Expect`] as a DynamoDB condition expression.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{ID, TITLE, VERSION};
use crate::store::Expect;

/// The three condition fields of a write, each `None` when not needed
/// (DynamoDB refuses empty attribute maps).
#[derive(Debug, Default)]
pub(super) struct Condition {
    pub expression: Option<String>,
    pub names: Option<HashMap<String, String>>,
    pub values: Option<HashMap<String, AttributeValue>>,
}

impl Condition {
    pub fn of(expect: &Expect) -> Self {
        let names = |pairs: &[(&str, &str)]| {
            Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
        };
        match expect {
            Expect::Anything => Self::default(),
            Expect::Absent => Self {
                expression: Some("attribute_not_exists(#id)".to_owned()),
                names: names(&[("#id", ID)]),
                values: None,
            },
            Expect::Present => Self {
                expression: Some("attribute_exists(#id)".to_owned()),
                names: names(&[("#id", ID)]),
                values: None,
            },
            Expect::OneOf { versions, unversioned } => {
                let mut values = HashMap::new();
                let mut alternatives = Vec::new();
                // DynamoDB refuses names the expression does not use.
                let mut used = Vec::new();
                if !versions.is_empty() {
                    let placeholders: Vec<String> = versions
                        .iter()
                        .enumerate()
                        .map(|(n, version)| {
                            let placeholder = format!(":v{n}");
                            values.insert(
                                placeholder.clone(),
                                AttributeValue::N(version.get().to_string()),
                            );
                            placeholder
                        })
                        .collect();
                    alternatives.push(format!("#v IN ({})", placeholders.join(", ")));
                    used.push(("#v", VERSION));
                }
                if let Some(title) = unversioned {
                    values.insert(":seen".to_owned(), AttributeValue::S(title.as_str().to_owned()));
                    alternatives.push(
                        "(attribute_exists(#id) AND attribute_not_exists(#v) AND #t = :seen)"
                            .to_owned(),
                    );
                    used.extend([("#id", ID), ("#v", VERSION), ("#t", TITLE)]);
                }
                if alternatives.is_empty() {
                    // Nothing can match (the use cases answer 412 before
                    // getting here): a condition no item satisfies.
                    alternatives
                        .push("(attribute_exists(#id) AND attribute_not_exists(#id))".into());
                }
                Self {
                    expression: Some(alternatives.join(" OR ")),
                    names: names(&used),
                    values: (!values.is_empty()).then_some(values),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::employee::JobTitle;
    use crate::revision::Version;

    #[test]
    fn versions_and_an_unversioned_title_become_one_condition() {
        let expect = Expect::OneOf {
            versions: vec![Version::from_stored(3), Version::from_stored(9)],
            unversioned: Some(JobTitle::parse("Engineer").unwrap()),
        };
        let condition = Condition::of(&expect);
        assert_eq!(
            condition.expression.as_deref(),
            Some(
                "#v IN (:v0, :v1) OR (attribute_exists(#id) AND attribute_not_exists(#v) AND #t = :seen)"
            )
        );
        let values = condition.values.unwrap();
        assert_eq!(values[":v1"], AttributeValue::N("9".into()));
        assert_eq!(values[":seen"], AttributeValue::S("Engineer".into()));
        assert!(Condition::of(&Expect::Anything).expression.is_none());
    }
}
