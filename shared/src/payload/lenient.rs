//! Reading a payload's fields leniently: each of the kind it should be, in
//! place, or kept as the sentence that says what came instead.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A value of the expected kind, read in place; `null` reads as absent.
/// Any other kind is kept as the sentence that says what came instead (and
/// skipped), so a wrongly typed field never makes the payload unreadable.
#[derive(Debug, Default)]
pub(super) struct Lenient<T>(pub(super) Option<Result<T, String>>);

impl<T> Lenient<T> {
    /// The value, `None` when absent, or what is wrong with it, named.
    pub(super) fn named(self, name: &str) -> Result<Option<T>, String> {
        self.0.transpose().map_err(|wrong| format!("{name}: {wrong}"))
    }
}

/// The kinds of value a payload field can be expected to hold.
pub(crate) trait Kind: Sized {
    const EXPECTED: &'static str;

    fn from_str(_: &str) -> Option<Self> {
        None
    }

    fn from_bool(_: bool) -> Option<Self> {
        None
    }

    /// Reads an object; `Ok(None)` when this kind is not an object.
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl Kind for String {
    const EXPECTED: &'static str = "a string";

    fn from_str(value: &str) -> Option<Self> {
        Some(value.to_owned())
    }
}

impl Kind for bool {
    const EXPECTED: &'static str = "a boolean";

    fn from_bool(value: bool) -> Option<Self> {
        Some(value)
    }
}

/// An object whose fields are all read leniently.
macro_rules! object_kind {
    ($($object:ty),*) => {$(
        impl $crate::payload::lenient::Kind for $object {
            const EXPECTED: &'static str = "an object";

            fn from_map<'de, A: serde::de::MapAccess<'de>>(
                map: A,
            ) -> Result<Option<Self>, A::Error> {
                let object = serde::de::value::MapAccessDeserializer::new(map);
                <$object as serde::Deserialize>::deserialize(object).map(Some)
            }
        }
    )*};
}

pub(super) use object_kind;

impl<'de, T: Kind> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor(std::marker::PhantomData))
    }
}

struct LenientVisitor<T>(std::marker::PhantomData<T>);

impl<T: Kind> LenientVisitor<T> {
    fn read<E>(value: Option<T>, found: de::Unexpected<'_>) -> Result<Lenient<T>, E> {
        Ok(Lenient(Some(
            value.ok_or_else(|| format!("invalid type: {found}, expected {}", T::EXPECTED)),
        )))
    }
}

impl<'de, T: Kind> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Lenient<T>, E> {
        Self::read(T::from_str(value), de::Unexpected::Str(value))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Lenient<T>, E> {
        Self::read(T::from_bool(value), de::Unexpected::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Lenient<T>, E> {
        Self::read(None, de::Unexpected::Signed(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Lenient<T>, E> {
        Self::read(None, de::Unexpected::Unsigned(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Lenient<T>, E> {
        Self::read(None, de::Unexpected::Float(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Lenient<T>, E> {
        Ok(Lenient(None))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::read(None, de::Unexpected::Seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Lenient<T>, A::Error> {
        let value = T::from_map(map)?;
        Self::read(value, de::Unexpected::Map)
    }
}
