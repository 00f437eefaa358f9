//! The request headers the API reads, picked out of an event's headers by
//! name in any case; the others are skipped unread.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::lenient::Lenient;

/// The request headers the API reads, as the event holds them.
#[derive(Default)]
pub(super) struct HeaderFields {
    pub(super) content_type: Lenient<String>,
    pub(super) if_match: Lenient<String>,
    pub(super) if_none_match: Lenient<String>,
    pub(super) idempotency_key: Lenient<String>,
}

impl<'de> Deserialize<'de> for HeaderFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeadersVisitor)
    }
}

/// A header the API reads.
enum HeaderName {
    ContentType,
    IfMatch,
    IfNoneMatch,
    IdempotencyKey,
    Other,
}

impl<'de> Deserialize<'de> for HeaderName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = HeaderName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<HeaderName, E> {
                let is = |known: &str| name.eq_ignore_ascii_case(known);
                Ok(if is("content-type") {
                    HeaderName::ContentType
                } else if is("if-match") {
                    HeaderName::IfMatch
                } else if is("if-none-match") {
                    HeaderName::IfNoneMatch
                } else if is("idempotency-key") {
                    HeaderName::IdempotencyKey
                } else {
                    HeaderName::Other
                })
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = HeaderFields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of header names to values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderFields, A::Error> {
        let mut headers = HeaderFields::default();
        while let Some(name) = map.next_key::<HeaderName>()? {
            match name {
                HeaderName::ContentType => headers.content_type = map.next_value()?,
                HeaderName::IfMatch => headers.if_match = map.next_value()?,
                HeaderName::IfNoneMatch => headers.if_none_match = map.next_value()?,
                HeaderName::IdempotencyKey => headers.idempotency_key = map.next_value()?,
                HeaderName::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(headers)
    }
}
