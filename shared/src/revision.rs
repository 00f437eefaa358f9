//! Revisions of a stored employee, and the entity tags (`ETag`) that name
//! them, so that a write can require the revision its client last saw.
//!
//! Every write of this API stores a `Version` (N): a fresh random number,
//! not a counter. A tag therefore names one revision of one incarnation of
//! an item: an employee deleted and created again never matches a tag of
//! the old one (a counter would restart at 1 and match), and a writer needs
//! no read to know the tag of what it writes.
//!
//! Items without a `Version` (the original sample's, or another client's)
//! are tagged from their content: a hash of `JobTitle`. A write that names
//! such a tag is conditioned on `attribute_not_exists(Version) AND JobTitle
//! = <the title that hashes to it>`, so a change by a writer that does not
//! know about versions is never overwritten silently either.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::employee::{Employee, JobTitle};

/// The `Version` attribute of an item this API wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(u64);

impl Version {
    /// A new revision: 63 random bits (so it is also a positive `i64`).
    /// Two revisions of one item collide with a chance of 2⁻⁶³.
    pub fn new() -> Self {
        Self(fastrand::u64(1..=i64::MAX as u64))
    }

    pub fn from_stored(value: u64) -> Self {
        Self(value)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl Default for Version {
    fn default() -> Self {
        Self::new()
    }
}

/// A strong entity tag of this API, as its opaque text (without quotes):
/// `v<version>` for a versioned item, `c<hash>` for an unversioned one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ETag {
    Version(Version),
    /// The first 96 bits of SHA-256 over the job title, base64url.
    Content(String),
}

impl ETag {
    /// The tag of an unversioned item with this job title.
    pub fn of_content(job_title: &JobTitle) -> Self {
        let digest = Sha256::digest(job_title.as_str().as_bytes());
        Self::Content(URL_SAFE_NO_PAD.encode(&digest[..12]))
    }

    /// Reads the text between the quotes of a tag a client sent back. Tags
    /// this API never issues are `None`: they match nothing.
    pub fn parse(opaque: &str) -> Option<Self> {
        if let Some(digits) = opaque.strip_prefix('v') {
            let canonical = digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
            return digits.parse().ok().filter(|_| canonical).map(|v| Self::Version(Version(v)));
        }
        let hash = opaque.strip_prefix('c')?;
        let valid = hash.len() == 16 && URL_SAFE_NO_PAD.decode(hash).is_ok();
        valid.then(|| Self::Content(hash.to_owned()))
    }

    /// The header value: the tag in double quotes.
    pub fn header(&self) -> String {
        format!("\"{self}\"")
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Version(v) => write!(f, "v{}", v.0),
            Self::Content(hash) => write!(f, "c{hash}"),
        }
    }
}

/// An employee as stored, with its version if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub employee: Employee,
    pub version: Option<Version>,
}

impl Stored {
    pub fn etag(&self) -> ETag {
        match self.version {
            Some(version) => ETag::Version(version),
            None => ETag::of_content(&self.employee.job_title),
        }
    }
}

/// An employee, and the tag of the revision a write just stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub employee: Employee,
    pub etag: ETag,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::employee::EmployeeId;

    fn stored(title: &str, version: Option<u64>) -> Stored {
        let employee =
            Employee::new(EmployeeId::parse("42").unwrap(), JobTitle::parse(title).unwrap());
        Stored { employee, version: version.map(Version::from_stored) }
    }

    #[test]
    fn a_versioned_item_is_tagged_by_its_version_and_the_tag_reads_back() {
        let tag = stored("Engineer", Some(7)).etag();
        assert_eq!(tag.header(), "\"v7\"");
        assert_eq!(ETag::parse("v7"), Some(tag));
    }

    #[test]
    fn an_unversioned_item_is_tagged_by_its_job_title() {
        let engineer = stored("Engineer", None).etag();
        assert_eq!(engineer, stored("Engineer", None).etag());
        assert_ne!(engineer, stored("Manager", None).etag());
        let text = engineer.to_string();
        assert!(text.starts_with('c') && text.len() == 17, "{text}");
        assert_eq!(ETag::parse(&text), Some(engineer));
    }

    #[test]
    fn tags_this_api_never_issues_match_nothing() {
        for foreign in
            ["", "v", "v01", "v-1", "v1.0", "v99999999999999999999", "cshort", "x1", "W/v1"]
        {
            assert_eq!(ETag::parse(foreign), None, "{foreign:?}");
        }
    }

    #[test]
    fn new_versions_are_positive_and_differ() {
        let (a, b) = (Version::new(), Version::new());
        assert!(a.get() >= 1 && a.get() <= i64::MAX as u64);
        assert_ne!(a, b);
    }
}
