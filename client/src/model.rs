//! The API's resources, as it sends them.

use serde::{Deserialize, Serialize};

/// An employee, with the API's field names. Fields the API may add later
/// are ignored, not refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    pub employee: String,
    #[serde(rename = "jobTitle")]
    pub job_title: String,
}

/// An employee at one revision: the `ETag` to send back in `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    #[serde(flatten)]
    pub employee: Employee,
    pub etag: String,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub employees: Vec<Employee>,
    /// Pass to the next call for the next page; `None` on the last.
    #[serde(rename = "nextCursor")]
    pub next_cursor: Option<String>,
}

/// What a `PUT` or `DELETE` requires of the stored employee.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Condition {
    /// Nothing: the write happens whatever is stored.
    #[default]
    None,
    /// `If-Match`: only while the employee is at this revision (an `ETag`,
    /// a list of them, or `*` for "exists").
    IfMatch(String),
    /// `If-None-Match: *` (`PUT` only): only if no employee has the id.
    IfAbsent,
}

/// Which employees a listing returns, and how many per request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only employees with exactly this job title.
    pub job_title: Option<String>,
    /// Employees per page (1–100; the API's default is 25).
    pub page_size: Option<u32>,
}
