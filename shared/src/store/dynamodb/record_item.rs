//! An idempotency record as the table holds it: the request's key and
//! fingerprint, its expiry, and its [`Answer`] as the outcome the write came
//! to (`Outcome`, with `EmployeeId`, `JobTitle` and `ETag` where it has
//! them). Records of the first format, which held the HTTP answer as sent
//! (`Status`, `Location`, `ETag`, `Body`), are read into the same answer
//! until they expire.

use serde::{Deserialize, Serialize};

use crate::employee::Employee;
use crate::idempotency::{Answer, Fingerprint, Record, Refusal};
use crate::revision::{ETag, Versioned};

#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RecordItem {
    #[serde(rename = "IdempotencyKey")]
    key: String,
    #[serde(rename = "Fingerprint")]
    fingerprint: String,
    #[serde(rename = "ExpiresAt")]
    pub(super) expires_at: u64,
    /// `Created`, `Replaced`, `Removed`, or the refusal: `AlreadyExists`,
    /// `DoesNotExist`, `PreconditionFailed`.
    #[serde(rename = "Outcome", default, skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
    #[serde(rename = "EmployeeId", default, skip_serializing_if = "Option::is_none")]
    employee_id: Option<String>,
    #[serde(rename = "JobTitle", default, skip_serializing_if = "Option::is_none")]
    job_title: Option<String>,
    /// The tag's text (`v…`); the first format kept the header, in quotes.
    #[serde(rename = "ETag", default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    /// The first format: the status and the JSON body as sent.
    #[serde(rename = "Status", default, skip_serializing)]
    status: Option<u16>,
    #[serde(rename = "Body", default, skip_serializing)]
    body: Option<String>,
}

impl RecordItem {
    pub(super) fn new(record: &Record, expires_at: u64) -> Self {
        let mut item = Self {
            key: record.key.clone(),
            fingerprint: record.fingerprint.as_str().to_owned(),
            expires_at,
            ..Self::default()
        };
        let (outcome, employee, etag) = match &record.answer {
            Answer::Created(v) => ("Created", Some(&v.employee), Some(&v.etag)),
            Answer::Replaced(v) => ("Replaced", Some(&v.employee), Some(&v.etag)),
            Answer::Removed(employee) => ("Removed", Some(employee), None),
            Answer::Refused(Refusal::AlreadyExists) => ("AlreadyExists", None, None),
            Answer::Refused(Refusal::DoesNotExist) => ("DoesNotExist", None, None),
            Answer::Refused(Refusal::PreconditionFailed) => ("PreconditionFailed", None, None),
        };
        item.outcome = Some(outcome.to_owned());
        item.employee_id = employee.map(|e| e.id.as_str().to_owned());
        item.job_title = employee.map(|e| e.job_title.as_str().to_owned());
        item.etag = etag.map(ETag::to_string);
        item
    }

    /// The record, or what makes it unreadable.
    pub(super) fn into_record(self) -> Result<Record, String> {
        let answer = match self.outcome.as_deref() {
            Some(outcome) => self.answer(outcome)?,
            None => self.first_format_answer()?,
        };
        Ok(Record {
            key: self.key,
            fingerprint: Fingerprint::from_stored(self.fingerprint),
            answer,
        })
    }

    fn answer(&self, outcome: &str) -> Result<Answer, String> {
        let employee = || match (&self.employee_id, &self.job_title) {
            (Some(id), Some(title)) => Ok(Employee::from_stored(id, title)),
            _ => Err(format!("a {outcome} record without EmployeeId and JobTitle")),
        };
        Ok(match outcome {
            "Created" => Answer::Created(self.versioned(employee()?)?),
            "Replaced" => Answer::Replaced(self.versioned(employee()?)?),
            "Removed" => Answer::Removed(employee()?),
            "AlreadyExists" => Answer::Refused(Refusal::AlreadyExists),
            "DoesNotExist" => Answer::Refused(Refusal::DoesNotExist),
            "PreconditionFailed" => Answer::Refused(Refusal::PreconditionFailed),
            other => return Err(format!("unknown outcome {other:?}")),
        })
    }

    /// The first format's HTTP answer: 201 created, 200 with an `ETag`
    /// replaced, 200 without one removed; an error by its code.
    fn first_format_answer(&self) -> Result<Answer, String> {
        #[derive(Deserialize)]
        struct Body {
            employee: Option<String>,
            #[serde(rename = "jobTitle")]
            job_title: Option<String>,
            error: Option<String>,
        }
        let (Some(status), Some(body)) = (self.status, &self.body) else {
            return Err("a record without Outcome, Status or Body".to_owned());
        };
        let body: Body = serde_json::from_str(body).map_err(|e| format!("Body: {e}"))?;
        let employee = match (&body.employee, &body.job_title) {
            (Some(id), Some(title)) => Some(Employee::from_stored(id, title)),
            _ => None,
        };
        Ok(match (status, employee, body.error.as_deref()) {
            (201, Some(employee), _) => Answer::Created(self.versioned(employee)?),
            (200, Some(employee), _) if self.etag.is_some() => {
                Answer::Replaced(self.versioned(employee)?)
            }
            (200, Some(employee), _) => Answer::Removed(employee),
            (409, _, Some("EmployeeAlreadyExists")) => Answer::Refused(Refusal::AlreadyExists),
            (404, _, Some("EmployeeDoesNotExist")) => Answer::Refused(Refusal::DoesNotExist),
            (412, _, Some("PreconditionFailed")) => Answer::Refused(Refusal::PreconditionFailed),
            (status, _, error) => return Err(format!("an answer {status} {error:?}")),
        })
    }

    fn versioned(&self, employee: Employee) -> Result<Versioned, String> {
        let text = self.etag.as_deref().ok_or("a write's record without ETag")?;
        let etag = ETag::parse(text.trim_matches('"')).ok_or(format!("ETag {text:?}"))?;
        Ok(Versioned { employee, etag })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::Version;

    fn record(answer: Answer) -> Record {
        Record { key: "k".into(), fingerprint: Fingerprint::from_stored("f".into()), answer }
    }

    #[test]
    fn every_answer_reads_back_as_written() {
        let employee = Employee::from_stored("42", "Engineer");
        let versioned =
            Versioned { employee: employee.clone(), etag: ETag::Version(Version::from_stored(7)) };
        for answer in [
            Answer::Created(versioned.clone()),
            Answer::Replaced(versioned),
            Answer::Removed(employee),
            Answer::Refused(Refusal::AlreadyExists),
            Answer::Refused(Refusal::DoesNotExist),
            Answer::Refused(Refusal::PreconditionFailed),
        ] {
            let item = RecordItem::new(&record(answer.clone()), 1);
            assert_eq!(item.into_record(), Ok(record(answer)));
        }
    }

    #[test]
    fn a_record_that_says_too_little_is_unreadable() {
        let item =
            |outcome: &str| RecordItem { outcome: Some(outcome.into()), ..RecordItem::default() };
        assert!(item("Created").into_record().is_err());
        assert!(item("Teleported").into_record().is_err());
        assert!(RecordItem::default().into_record().is_err());
        let teapot =
            RecordItem { status: Some(418), body: Some("{}".into()), ..RecordItem::default() };
        assert!(teapot.into_record().is_err());
    }
}
