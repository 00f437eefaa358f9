//! Idempotency keys (IETF httpapi draft "The Idempotency-Key HTTP Header
//! Field"): what a client sends, what identifies its request, and the
//! answer recorded for it, so a retry gets the first answer again instead
//! of doing the write twice.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::employee::{Employee, InvalidField};
use crate::revision::Versioned;

pub const MAX_KEY_CHARS: usize = 255;

/// A client's idempotency key: 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The `Idempotency-Key` header's value: a Structured Field string, as
    /// the draft defines it (`"8e03978e-…"`, with `\"` and `\\` escapes), or
    /// the bare form many clients send (`8e03978e-…`, as Stripe's do).
    /// Parameters after the string are refused.
    pub fn from_header(value: &str) -> Result<Self, InvalidField> {
        let value = value.trim_matches([' ', '\t']);
        match value.strip_prefix('"') {
            Some(quoted) => Self::parse(structured_field_string(quoted)?),
            None => Self::parse(value),
        }
    }

    /// A key as it is, e.g. a direct invocation's `idempotencyKey`.
    pub fn parse(key: impl Into<String>) -> Result<Self, InvalidField> {
        let key = key.into();
        if key.is_empty() || key.len() > MAX_KEY_CHARS {
            return Err(InvalidField::new(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters (got {})",
                key.chars().count()
            )));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidField::new(
                "Idempotency-Key must be visible ASCII characters only (no spaces)",
            ));
        }
        Ok(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The rest of an RFC 8941 sf-string after its opening quote, unescaped.
fn structured_field_string(quoted: &str) -> Result<String, InvalidField> {
    let invalid = || InvalidField::new("Idempotency-Key is not a valid Structured Field string");
    let mut text = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped @ ('"' | '\\')) => text.push(escaped),
                _ => return Err(invalid()),
            },
            '"' => return if chars.as_str().is_empty() { Ok(text) } else { Err(invalid()) },
            ' '..='~' => text.push(c),
            _ => return Err(invalid()),
        }
    }
    Err(invalid())
}

/// What identifies a request for its key: a hash of the parts that decide
/// its outcome (route, id, job title, preconditions), so the same key with
/// another request is recognised as such.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(parts: &[&str]) -> Self {
        let mut hash = Sha256::new();
        for part in parts {
            // Length-prefixed: ("ab", "c") and ("a", "bc") differ.
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        Self(URL_SAFE_NO_PAD.encode(hash.finalize()))
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A keyed request: its record's key (the key, scoped to one route of one
/// function) and its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotent {
    pub record_key: String,
    pub fingerprint: Fingerprint,
}

impl Idempotent {
    /// `scope` names the route (`POST /employees`) or, for a direct
    /// invocation, the function; `parts` are what the request asks for.
    pub fn new(scope: &str, key: &IdempotencyKey, parts: &[&str]) -> Self {
        let mut all = vec![scope];
        all.extend_from_slice(parts);
        Self { record_key: format!("{scope}#{}", key.as_str()), fingerprint: Fingerprint::of(&all) }
    }

    pub fn record(&self, answer: Answer) -> Record {
        Record { key: self.record_key.clone(), fingerprint: self.fingerprint.clone(), answer }
    }
}

/// What a keyed request came to, as recorded for its retries: what the
/// write did, or the final error it ended with (which wrote nothing). Each
/// door renders it (`apigw/`: status, headers and body; `direct.rs`: the
/// state machine's output or `errorType`), through `error.rs` for errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Created(Versioned),
    Replaced(Versioned),
    Removed(Employee),
    Refused(Refusal),
}

/// The final errors of a keyed write: nothing was written, and every retry
/// gets the same error again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    AlreadyExists,
    DoesNotExist,
    PreconditionFailed,
}

/// What the idempotency table holds for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub fingerprint: Fingerprint,
    pub answer: Answer,
}

/// The answer to a keyed request: the first one, or a replay of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed {
    pub answer: Answer,
    pub replayed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_a_structured_field_string_or_a_bare_token() {
        let key = |header: &str| IdempotencyKey::from_header(header).map(|k| k.0);
        let uuid = "8e03978e-40d5-43e8-bc93-6894a57f9324";
        assert_eq!(key(&format!("\"{uuid}\"")).unwrap(), uuid);
        assert_eq!(key(uuid).unwrap(), uuid);
        assert_eq!(key(&format!(" \"{uuid}\"\t")).unwrap(), uuid);
        assert_eq!(key(r#""a\"b\\c""#).unwrap(), r#"a"b\c"#);
        assert_eq!(key("\"x\"").unwrap(), "x");
        assert_eq!(key(&"k".repeat(255)).unwrap().len(), 255);
    }

    #[test]
    fn bad_keys_are_refused() {
        let long = "k".repeat(256);
        let quoted_long = format!("\"{long}\"");
        for bad in [
            "",
            "\"\"",
            "\"unterminated",
            "\"a\"b",
            "\"a\";p=1",
            r#""a\x""#,
            "\"a b\"",
            "a b",
            "caf\u{e9}",
            "\"caf\u{e9}\"",
            "a\u{7f}",
            &long,
            &quoted_long,
        ] {
            assert!(IdempotencyKey::from_header(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let key = IdempotencyKey::parse("k").unwrap();
        let a = Idempotent::new("POST /employees", &key, &["7", "Engineer"]);
        assert_eq!(a, Idempotent::new("POST /employees", &key, &["7", "Engineer"]));
        assert_eq!(a.record_key, "POST /employees#k");
        assert_ne!(
            a.fingerprint,
            Idempotent::new("POST /employees", &key, &["7", "Manager"]).fingerprint
        );
        assert_ne!(
            a.fingerprint,
            Idempotent::new("POST /employees", &key, &["7E", "ngineer"]).fingerprint
        );
    }
}
