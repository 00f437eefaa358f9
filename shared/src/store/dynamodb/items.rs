//! Employee items on a table other systems write too (SPEC: extra
//! attributes allowed). The API owns two attributes, `JobTitle` and
//! `Version`: it writes only those (`UpdateItem SET`, so a `Department`
//! another writer stored survives a `PUT`), reads what it can, and says
//! exactly what it cannot read rather than failing whole pages.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::conditions::Condition;
use crate::employee::Employee;
use crate::revision::{Stored, Version};
use crate::store::Expect;

pub(super) const ID: &str = "EmployeeId";
pub(super) const TITLE: &str = "JobTitle";
pub(super) const VERSION: &str = "Version";

/// An item this API cannot serve, and why (for the log and the answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unreadable {
    pub id: String,
    pub why: String,
}

/// The kind of a value, as a sentence names it.
fn kind(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "a string",
        AttributeValue::N(_) => "a number",
        AttributeValue::B(_) => "binary",
        AttributeValue::Bool(_) => "a boolean",
        AttributeValue::Null(_) => "null",
        AttributeValue::Ss(_) => "a string set",
        AttributeValue::Ns(_) => "a number set",
        AttributeValue::Bs(_) => "a binary set",
        AttributeValue::L(_) => "a list",
        AttributeValue::M(_) => "a map",
        _ => "of an unknown type",
    }
}

fn id_of(item: &HashMap<String, AttributeValue>) -> String {
    match item.get(ID) {
        Some(AttributeValue::S(id)) => id.clone(),
        _ => String::new(),
    }
}

/// The employee an item holds: its `EmployeeId` and a string `JobTitle`.
pub(super) fn employee_from(
    item: &HashMap<String, AttributeValue>,
) -> Result<Employee, Unreadable> {
    let id = id_of(item);
    let job_title = match item.get(TITLE) {
        Some(AttributeValue::S(title)) => title.clone(),
        Some(other) => {
            let why = format!("{TITLE} is {}, not a string", kind(other));
            return Err(Unreadable { id, why });
        }
        None => return Err(Unreadable { id, why: format!("{TITLE} is missing") }),
    };
    Ok(Employee::from_stored(id, job_title))
}

/// The employee and its revision: `Version`, when present, is a number this
/// API wrote (a positive integer); an item without one is tagged by its
/// content.
pub(super) fn stored_from(item: &HashMap<String, AttributeValue>) -> Result<Stored, Unreadable> {
    let employee = employee_from(item)?;
    let version = match item.get(VERSION) {
        None => None,
        Some(AttributeValue::N(number)) => match number.parse::<u64>() {
            Ok(version) if version > 0 => Some(Version::from_stored(version)),
            _ => {
                let why = format!("{VERSION} is {number}, not a version this API writes");
                return Err(Unreadable { id: employee.id.to_string(), why });
            }
        },
        Some(other) => {
            let why = format!("{VERSION} is {}, not a number", kind(other));
            return Err(Unreadable { id: employee.id.to_string(), why });
        }
    };
    Ok(Stored { employee, version })
}

/// The expression fields of a write: an `UpdateItem`, a transaction's
/// `Update`, or a `DeleteItem`.
#[derive(Debug, Default)]
pub(super) struct Expressions {
    pub update: Option<String>,
    pub condition: Option<String>,
    pub names: Option<HashMap<String, String>>,
    pub values: Option<HashMap<String, AttributeValue>>,
}

impl Expressions {
    fn from_condition(condition: Condition) -> Self {
        Self {
            update: None,
            condition: condition.expression,
            names: condition.names,
            values: condition.values,
        }
    }

    fn name(&mut self, placeholder: &str, name: &str) {
        self.names.get_or_insert_default().insert(placeholder.to_owned(), name.to_owned());
    }

    fn value(&mut self, placeholder: &str, value: AttributeValue) {
        self.values.get_or_insert_default().insert(placeholder.to_owned(), value);
    }

    /// Sets what the API owns of `employee`, at `version`, if `expect`
    /// holds; every other attribute of the item stays as it is. On an
    /// absent item it creates one with just these.
    pub fn update(employee: &Employee, version: Version, expect: &Expect) -> Self {
        let mut update = Self::from_condition(Condition::of(expect));
        update.update =
            Some("SET #owned_title = :owned_title, #owned_version = :owned_version".into());
        update.name("#owned_title", TITLE);
        update.name("#owned_version", VERSION);
        update.value(":owned_title", AttributeValue::S(employee.job_title.as_str().to_owned()));
        update.value(":owned_version", AttributeValue::N(version.get().to_string()));
        update
    }

    /// Deletes if `expect` holds and the item, if there is one, is one the
    /// API can read (a string `JobTitle`, a numeric `Version` or none): the
    /// answer names what was removed, so an item the API cannot read is
    /// left in place, and said so, as a `GET` of it is.
    pub fn delete(expect: &Expect) -> Self {
        let mut delete = Self::from_condition(Condition::of(expect));
        let readable = "(attribute_not_exists(#id) OR (attribute_type(#t, :string_type) \
                        AND (attribute_not_exists(#v) OR attribute_type(#v, :number_type))))";
        // DynamoDB refuses redundant parentheses: only alternatives need them.
        delete.condition = Some(match delete.condition.take() {
            Some(expected) if expected.contains(" OR ") => format!("({expected}) AND {readable}"),
            Some(expected) => format!("{expected} AND {readable}"),
            None => readable.to_owned(),
        });
        delete.name("#id", ID);
        delete.name("#t", TITLE);
        delete.name("#v", VERSION);
        delete.value(":string_type", AttributeValue::S("S".to_owned()));
        delete.value(":number_type", AttributeValue::S("N".to_owned()));
        delete
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::employee::{EmployeeId, JobTitle};

    fn item(attributes: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([(ID.to_owned(), AttributeValue::S("42".to_owned()))]);
        item.extend(attributes.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        item
    }

    fn s(text: &str) -> AttributeValue {
        AttributeValue::S(text.to_owned())
    }

    fn n(text: &str) -> AttributeValue {
        AttributeValue::N(text.to_owned())
    }

    #[test]
    fn other_writers_attributes_are_ignored_when_reading() {
        let stored = stored_from(&item(&[
            (TITLE, s("Engineer")),
            (VERSION, n("7")),
            ("Department", s("R&D")),
            ("Salary", n("100")),
            ("Tags", AttributeValue::Ss(vec!["a".into()])),
        ]))
        .unwrap();
        assert_eq!(stored.employee.job_title.as_str(), "Engineer");
        assert_eq!(stored.version, Some(Version::from_stored(7)));
        assert_eq!(stored_from(&item(&[(TITLE, s("x"))])).unwrap().version, None);
    }

    #[test]
    fn what_cannot_be_read_is_said_exactly() {
        let why =
            |attributes: &[(&str, AttributeValue)]| stored_from(&item(attributes)).unwrap_err().why;
        assert_eq!(why(&[]), "JobTitle is missing");
        assert_eq!(why(&[(TITLE, n("3"))]), "JobTitle is a number, not a string");
        assert_eq!(
            why(&[(TITLE, s("x")), (VERSION, s("v1"))]),
            "Version is a string, not a number"
        );
        assert_eq!(
            why(&[(TITLE, s("x")), (VERSION, n("-1"))]),
            "Version is -1, not a version this API writes"
        );
        assert_eq!(
            why(&[(TITLE, s("x")), (VERSION, n("1.5"))]),
            "Version is 1.5, not a version this API writes"
        );
        // The removed employee needs only its title.
        let odd_version = item(&[(TITLE, s("x")), (VERSION, s("v1"))]);
        assert_eq!(employee_from(&odd_version).unwrap().job_title.as_str(), "x");
    }

    #[test]
    fn an_update_sets_only_what_the_api_owns_under_its_condition() {
        let employee =
            Employee::new(EmployeeId::parse("42").unwrap(), JobTitle::parse("E").unwrap());
        let update = Expressions::update(&employee, Version::from_stored(9), &Expect::Absent);
        assert_eq!(
            update.update.as_deref(),
            Some("SET #owned_title = :owned_title, #owned_version = :owned_version")
        );
        assert_eq!(update.condition.as_deref(), Some("attribute_not_exists(#id)"));
        let names = update.names.unwrap();
        assert_eq!((names["#id"].as_str(), names["#owned_title"].as_str()), (ID, TITLE));
        assert_eq!(update.values.unwrap()[":owned_version"], n("9"));
        let unconditional =
            Expressions::update(&employee, Version::from_stored(9), &Expect::Anything);
        assert_eq!(unconditional.condition, None);
    }

    #[test]
    fn a_delete_requires_an_item_it_can_name() {
        let readable = "(attribute_not_exists(#id) OR (attribute_type(#t, :string_type) \
                        AND (attribute_not_exists(#v) OR attribute_type(#v, :number_type))))";
        let anything = Expressions::delete(&Expect::Anything);
        assert_eq!(anything.condition.as_deref(), Some(readable));
        let present = Expressions::delete(&Expect::Present);
        let expected = format!("attribute_exists(#id) AND {readable}");
        assert_eq!(present.condition.as_deref(), Some(expected.as_str()));
        let versions = Version::from_stored(1);
        let either = Expect::OneOf {
            versions: vec![versions],
            unversioned: Some(JobTitle::parse("E").unwrap()),
        };
        let condition = Expressions::delete(&either).condition.unwrap();
        assert!(condition.starts_with("(#v IN (:v0) OR (attribute_exists"), "{condition}");
    }
}
