//! The domain: an employee is an id and a job title, each valid by construction.
//!
//! `EmployeeId::parse` and `JobTitle::parse` are the only ways to build these
//! types from untrusted input, so every value that exists has passed the rules
//! once and nothing downstream checks again.

use std::fmt;

use serde::Serialize;

/// Why a value was refused. The message is meant for the API's caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidField(String);

impl InvalidField {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

/// The identifier of an employee (the table's partition key, `EmployeeId`).
///
/// 1–128 characters, no control characters, no leading or trailing white
/// space. Over HTTP an id must also fit in one path segment of
/// `/employees/{employeeId}` through every door (`route::http_id`); a
/// direct invocation, like the original sample's state machines, takes ids
/// such as `a/b` too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EmployeeId(String);

/// A job title (the table's `JobTitle` attribute): 1–256 characters, no
/// control characters, no leading or trailing white space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct JobTitle(String);

pub const EMPLOYEE_ID_MAX_CHARS: usize = 128;
pub const JOB_TITLE_MAX_CHARS: usize = 256;

impl EmployeeId {
    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidField> {
        let value = value.into();
        check_text("employee", &value, EMPLOYEE_ID_MAX_CHARS)?;
        Ok(Self(value))
    }

    /// Wraps a value read back from the table without re-checking it: items
    /// written by other clients (such as the original sample) are served as
    /// they are rather than failing the whole request.
    pub(crate) fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl JobTitle {
    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidField> {
        let value = value.into();
        check_text("jobTitle", &value, JOB_TITLE_MAX_CHARS)?;
        Ok(Self(value))
    }

    /// See [`EmployeeId::from_stored`].
    pub(crate) fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), InvalidField> {
    if value.is_empty() {
        return Err(InvalidField::new(format!("{field} must not be empty")));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(InvalidField::new(format!(
            "{field} must be at most {max_chars} characters (got {chars})"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidField::new(format!("{field} must not contain control characters")));
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(InvalidField::new(format!("{field} must not start or end with white space")));
    }
    Ok(())
}

impl fmt::Display for EmployeeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for JobTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An employee record, as the API returns it: `{"employee":…,"jobTitle":…}`,
/// the output names of the original state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Employee {
    #[serde(rename = "employee")]
    pub id: EmployeeId,
    #[serde(rename = "jobTitle")]
    pub job_title: JobTitle,
}

impl Employee {
    pub fn new(id: EmployeeId, job_title: JobTitle) -> Self {
        Self { id, job_title }
    }

    /// An employee as a store or a record holds it, not checked again.
    pub fn from_stored(id: impl Into<String>, job_title: impl Into<String>) -> Self {
        Self::new(EmployeeId::from_stored(id.into()), JobTitle::from_stored(job_title.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_unicode_values() {
        for ok in ["42", "a", "Zoë Ångström", "社員-7", "a b", "x.y", "..a", "🦀"] {
            assert_eq!(EmployeeId::parse(ok).unwrap().as_str(), ok);
            assert_eq!(JobTitle::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let max_id = "é".repeat(EMPLOYEE_ID_MAX_CHARS);
        assert!(EmployeeId::parse(max_id.clone()).is_ok());
        assert!(EmployeeId::parse(format!("{max_id}é")).is_err());
        let max_title = "🦀".repeat(JOB_TITLE_MAX_CHARS);
        assert!(JobTitle::parse(max_title.clone()).is_ok());
        assert!(JobTitle::parse(format!("{max_title}x")).is_err());
    }

    #[test]
    fn refuses_empty_padded_and_control_characters() {
        let bad = [
            "",
            " ",
            " 42",
            "42 ",
            "\t42",
            "42\n",
            "4\u{0}2",
            "4\u{7f}2",
            "4\u{85}2",
            "\u{a0}42",
            "42\u{3000}",
        ];
        for value in bad {
            assert!(EmployeeId::parse(value).is_err(), "id {value:?}");
            assert!(JobTitle::parse(value).is_err(), "title {value:?}");
        }
    }

    #[test]
    fn ids_a_path_cannot_hold_are_still_ids() {
        // The HTTP door refuses these (route::http_id); the table may hold them.
        for value in ["a/b", "/", ".", "..", "a?b"] {
            assert_eq!(EmployeeId::parse(value).unwrap().as_str(), value);
        }
        assert!(JobTitle::parse("R&D / QA").is_ok());
    }

    #[test]
    fn error_messages_name_the_field() {
        let err = EmployeeId::parse("").unwrap_err();
        assert_eq!(err.message(), "employee must not be empty");
        let err = JobTitle::parse(" x").unwrap_err();
        assert_eq!(err.message(), "jobTitle must not start or end with white space");
    }

    #[test]
    fn employee_serialises_with_the_state_machine_output_names() {
        let e =
            Employee::new(EmployeeId::parse("42").unwrap(), JobTitle::parse("Engineer").unwrap());
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"employee":"42","jobTitle":"Engineer"}"#
        );
    }
}
