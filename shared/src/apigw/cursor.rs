//! The opaque `cursor` of `GET /employees`: the key of the last employee of a
//! page, base64url-encoded JSON, so clients cannot depend on its shape.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::store::PageKey;

/// Longer cursors are refused before decoding: a real one holds two keys of at
/// most 2 KiB each (DynamoDB's key size limit).
const MAX_CURSOR_CHARS: usize = 6 * 1024;
const MAX_KEY_BYTES: usize = 2048;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorV1 {
    /// The last employee id of the page.
    e: String,
    /// The job title the listing was filtered on, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    j: Option<String>,
}

pub fn encode(key: &PageKey) -> String {
    let cursor = CursorV1 { e: key.employee_id.clone(), j: key.job_title.clone() };
    // Serialising two strings cannot fail.
    let json = serde_json::to_vec(&cursor).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor for a listing filtered on `job_title` (or unfiltered).
/// A cursor made for another filter is refused: resuming with it would skip
/// or repeat employees.
pub fn decode(cursor: &str, job_title: Option<&str>) -> Result<PageKey, ApiError> {
    let invalid = || ApiError::Validation("cursor is not a cursor this API returned".to_owned());
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_CHARS {
        return Err(invalid());
    }
    let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let decoded: CursorV1 = serde_json::from_slice(&json).map_err(|_| invalid())?;
    let key_ok = |s: &str| !s.is_empty() && s.len() <= MAX_KEY_BYTES;
    if !key_ok(&decoded.e) || !decoded.j.as_deref().is_none_or(key_ok) {
        return Err(invalid());
    }
    if decoded.j.as_deref() != job_title {
        return Err(ApiError::Validation(
            "cursor belongs to a listing with a different jobTitle".to_owned(),
        ));
    }
    Ok(PageKey { employee_id: decoded.e, job_title: decoded.j })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(e: &str, j: Option<&str>) -> PageKey {
        PageKey { employee_id: e.to_owned(), job_title: j.map(str::to_owned) }
    }

    #[test]
    fn round_trips_with_and_without_a_job_title() {
        for k in [key("42", None), key("Zoë/7", Some("R&D Engineer"))] {
            let encoded = encode(&k);
            assert!(encoded.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            assert_eq!(decode(&encoded, k.job_title.as_deref()).unwrap(), k);
        }
    }

    #[test]
    fn refuses_a_cursor_from_another_filter() {
        let encoded = encode(&key("42", Some("Engineer")));
        assert!(decode(&encoded, None).is_err());
        assert!(decode(&encoded, Some("Manager")).is_err());
        let unfiltered = encode(&key("42", None));
        assert!(decode(&unfiltered, Some("Engineer")).is_err());
    }

    #[test]
    fn refuses_garbage() {
        let too_long = "A".repeat(MAX_CURSOR_CHARS + 1);
        let forged = [
            "",
            "!!!",
            "eyJ9",                                  // `{"}`: broken JSON
            &URL_SAFE_NO_PAD.encode(b"[]"),          // not an object
            &URL_SAFE_NO_PAD.encode(br#"{"e":""}"#), // empty key
            &URL_SAFE_NO_PAD.encode(br#"{"e":"1","x":2}"#),
            &URL_SAFE_NO_PAD.encode(br#"{"e":7}"#),
            &too_long,
        ];
        for cursor in forged {
            let err = decode(cursor, None).unwrap_err();
            assert!(matches!(err, ApiError::Validation(_)), "{cursor:?}");
        }
    }
}
