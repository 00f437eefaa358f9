//! `If-Match` and `If-None-Match` (RFC 9110 §13.1) read into the
//! [`Precondition`] a write carries.
//!
//! `If-Match` is `*` or a list of entity tags, compared strongly: a weak tag
//! (`W/"…"`) never matches, nor does a tag this API never issued, nor does a
//! value that is not a list of tags at all (as RFC 9110 compares tags, not
//! syntax: 412, like any tag that names no current revision). On `PUT`,
//! `If-None-Match` is supported as `*` (create only); a list of tags there
//! is refused (400) rather than half-implemented. Both headers at once can
//! never both hold: 412.

use crate::employees::Precondition;
use crate::error::ApiError;
use crate::revision::ETag;

use super::HttpRequest;

/// More tags than this in one `If-Match` is a 400 (DynamoDB's `IN` takes 100).
pub const MAX_TAGS: usize = 50;

/// The precondition of a `PUT` (`if_none_match_allowed`) or a `DELETE`;
/// with `required`, a request with none is a 428.
pub fn precondition(
    request: &HttpRequest,
    if_none_match_allowed: bool,
    required: bool,
) -> Result<Precondition, ApiError> {
    let headers = &request.write_headers;
    let if_none_match = if if_none_match_allowed { headers.if_none_match.as_deref() } else { None };
    let precondition = match (headers.if_match.as_deref(), if_none_match) {
        // RFC 9110 §13.2.2 evaluates If-Match, then If-None-Match: when the
        // first holds the employee exists, so `If-None-Match: *` fails, and
        // with a list of tags If-None-Match is refused anyway. Always 412.
        (Some(_), Some(_)) => Precondition::IfMatch(Vec::new()),
        (Some(if_match), None) => parse_if_match(if_match)?,
        (None, Some(if_none_match)) => parse_if_none_match(if_none_match)?,
        (None, None) => Precondition::None,
    };
    if required && precondition == Precondition::None {
        let also = if if_none_match_allowed { " (or If-None-Match: * to create)" } else { "" };
        return Err(ApiError::PreconditionRequired(format!(
            "this API requires If-Match with the employee's current ETag{also}"
        )));
    }
    Ok(precondition)
}

fn parse_if_match(value: &str) -> Result<Precondition, ApiError> {
    if value.trim_matches([' ', '\t']) == "*" {
        return Ok(Precondition::IfMatchAny);
    }
    let tags = entity_tags(value).unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Err(ApiError::Validation(format!("If-Match may list at most {MAX_TAGS} tags")));
    }
    // Strong comparison: weak tags, and tags never issued here, match nothing.
    let strong = tags.into_iter().filter(|(weak, _)| !weak).filter_map(|(_, t)| ETag::parse(t));
    Ok(Precondition::IfMatch(strong.collect()))
}

fn parse_if_none_match(value: &str) -> Result<Precondition, ApiError> {
    if value.trim_matches([' ', '\t']) == "*" {
        return Ok(Precondition::IfNoneMatchAny);
    }
    Err(ApiError::Validation("If-None-Match is supported only as * (create only)".to_owned()))
}

/// `1#entity-tag` (empty list elements allowed, as RFC 9110 §5.6.1 asks),
/// as (weak, opaque text) pairs; `None` if the value is not such a list.
fn entity_tags(value: &str) -> Option<Vec<(bool, &str)>> {
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let weak = rest.starts_with("W/");
        let quoted = rest.strip_prefix("W/").unwrap_or(rest).strip_prefix('"')?;
        // etagc: %x21 / %x23-7E / obs-text
        let end = quoted.find(|c: char| c == '"' || c.is_ascii_control() || c == ' ')?;
        if !quoted[end..].starts_with('"') {
            return None;
        }
        tags.push((weak, &quoted[..end]));
        rest = quoted[end + 1..].trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
    }
    (!tags.is_empty()).then_some(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apigw::request::WriteHeaders;
    use crate::revision::Version;

    fn request(if_match: Option<&str>, if_none_match: Option<&str>) -> HttpRequest {
        HttpRequest {
            method: "PUT".into(),
            raw_path: "/employees/1".into(),
            door: crate::route::Door::ApiGateway,
            employee_id_parameter: None,
            query: Default::default(),
            content_type: None,
            write_headers: WriteHeaders {
                if_match: if_match.map(str::to_owned),
                if_none_match: if_none_match.map(str::to_owned),
                idempotency_key: None,
            },
            body: Vec::new(),
        }
    }

    fn put(if_match: Option<&str>, if_none_match: Option<&str>) -> Result<Precondition, ApiError> {
        precondition(&request(if_match, if_none_match), true, false)
    }

    fn version(n: u64) -> ETag {
        ETag::Version(Version::from_stored(n))
    }

    #[test]
    fn if_match_is_a_star_a_tag_or_a_list() {
        assert_eq!(put(Some("*"), None).unwrap(), Precondition::IfMatchAny);
        assert_eq!(put(Some("\"v7\""), None).unwrap(), Precondition::IfMatch(vec![version(7)]));
        assert_eq!(
            put(Some(" \"v1\" ,, \"v2\",\"x,y\""), None).unwrap(),
            Precondition::IfMatch(vec![version(1), version(2)])
        );
    }

    #[test]
    fn weak_and_foreign_tags_never_match() {
        assert_eq!(put(Some("W/\"v7\""), None).unwrap(), Precondition::IfMatch(vec![]));
        assert_eq!(
            put(Some("W/\"v7\", \"v8\", \"abc\""), None).unwrap(),
            Precondition::IfMatch(vec![version(8)])
        );
    }

    #[test]
    fn an_if_match_that_is_not_a_list_of_tags_matches_nothing() {
        for bad in ["", "v7", "\"v7", "\"v7\" \"v8\"", "*, \"v1\"", "w/\"v1\"", "\"a b\"", ",", "0"]
        {
            assert_eq!(put(Some(bad), None).unwrap(), Precondition::IfMatch(vec![]), "{bad:?}");
        }
    }

    #[test]
    fn too_many_tags_and_other_preconditions_are_400() {
        let many = vec!["\"v1\""; MAX_TAGS + 1].join(",");
        assert!(matches!(put(Some(&many), None), Err(ApiError::Validation(_))));
        for bad in ["\"v1\"", "W/\"v1\"", ""] {
            assert!(matches!(put(None, Some(bad)), Err(ApiError::Validation(_))), "{bad:?}");
        }
        assert_eq!(put(Some("*"), Some("*")).unwrap(), Precondition::IfMatch(vec![]));
    }

    #[test]
    fn if_none_match_star_is_create_only_and_ignored_on_delete() {
        assert_eq!(put(None, Some(" * ")).unwrap(), Precondition::IfNoneMatchAny);
        let delete = precondition(&request(None, Some("*")), false, false).unwrap();
        assert_eq!(delete, Precondition::None);
    }

    #[test]
    fn a_required_precondition_is_428_when_missing() {
        let err = precondition(&request(None, None), true, true).unwrap_err();
        assert_eq!(err.status_and_code(), (428, "PreconditionRequired"));
        assert!(precondition(&request(Some("*"), None), false, true).is_ok());
        assert!(precondition(&request(None, Some("*")), true, true).is_ok());
        assert!(precondition(&request(None, Some("*")), false, true).is_err());
    }
}
