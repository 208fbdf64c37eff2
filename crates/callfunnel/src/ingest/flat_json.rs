//! A flat JSON record (SPEC §1.1: one object whose fields are strings,
//! numbers, booleans or `null`) read in place: its keys are matched against
//! the columns as it is parsed, its strings borrowed from the text, so no
//! `serde_json::Value` map is built. A record in any other form (a nested
//! `user`, tags as an array, not an object, not JSON at all…) is left to the
//! reader of JSON values, which reads every form and words every error.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::error::RowError;
use super::facts::RowFacts;
use super::fields::{build_call, Cell, ColumnNames, Raw, ValueReading};
use crate::model::{Call, Field};

/// The call of the flat record `text` (its columns `names`, its values read
/// as `reading` says, how they were written noted in `facts`), or `None`
/// when `text` is not a flat record: then `facts` is untouched and the
/// record is for the reader of JSON values.
pub(super) fn call_in_place(
    text: &str,
    names: &ColumnNames,
    reading: &ValueReading,
    facts: &mut RowFacts,
) -> Option<Result<Call, RowError>> {
    let values = flat_values(text, names)?;
    let cell = |field: Field| -> Cell<'_> {
        values[field as usize]
            .as_ref()
            .map(|value| (value.raw(), names.get(field)))
    };
    Some(build_call(cell, names, reading, facts))
}

/// The value of each field (by [`Field`] index; `None` when absent or
/// `null`) of the flat record `text`, or `None` when it is not one.
fn flat_values<'t>(text: &'t str, names: &ColumnNames) -> Option<FieldValues<'t>> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let values = FlatRecord { names }.deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    Some(values)
}

/// The values of a record's fields, by [`Field`] index.
type FieldValues<'t> = [Option<Scalar<'t>>; Field::ALL.len()];

/// A scalar JSON value other than `null`.
#[derive(Debug, Clone)]
enum Scalar<'t> {
    /// A string: borrowed from the text unless it holds escapes.
    Text(Cow<'t, str>),
    /// A number or a boolean.
    Other(Value),
}

impl Scalar<'_> {
    /// The value as the field readers take it: a string as the text of a
    /// cell (which they read as they read a JSON string), any other value
    /// as JSON.
    fn raw(&self) -> Raw<'_> {
        match self {
            Scalar::Text(text) => Raw::Bytes(text.as_bytes()),
            Scalar::Other(value) => Raw::Json(value),
        }
    }
}

/// Reads one flat record into [`FieldValues`]; fails on anything else.
struct FlatRecord<'n> {
    names: &'n ColumnNames,
}

/// Why a record is not read here (the reader of JSON values words the
/// error, if any).
const NOT_FLAT: &str = "not a flat record";

impl<'de> DeserializeSeed<'de> for FlatRecord<'_> {
    type Value = FieldValues<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FlatRecord<'_> {
    type Value = FieldValues<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a flat record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values: FieldValues<'de> = Default::default();
        while let Some(Key(key)) = map.next_key()? {
            // A nested `user` may give the user fields.
            if key == "user" {
                return Err(de::Error::custom(NOT_FLAT));
            }
            let mut fields = Field::ALL
                .into_iter()
                .filter(|&field| self.names.get(field) == key)
                .peekable();
            if fields.peek().is_none() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // A key given twice: the later value counts, as in a JSON value.
            let ScalarOrNull(value) = map.next_value()?;
            for field in fields {
                values[field as usize] = value.clone();
            }
        }
        Ok(values)
    }
}

/// An object key, borrowed from the text unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor).map(Key)
    }
}

/// A string, borrowed when it can be.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(text))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text.to_string()))
    }
}

/// A field's value: a scalar, or `None` for `null`; an array or an object
/// fails (the record is not flat).
struct ScalarOrNull<'de>(Option<Scalar<'de>>);

impl<'de> de::Deserialize<'de> for ScalarOrNull<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ScalarVisitor)
            .map(ScalarOrNull)
    }
}

/// Reads a scalar or `null` as [`ScalarOrNull`] holds it.
struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Option<Scalar<'de>>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string, a number, a boolean or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Other(Value::Bool(flag))))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Other(Value::from(number))))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Other(Value::from(number))))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Self::Value, E> {
        // As a JSON value holds it: serde_json reads only finite numbers.
        Ok(Some(Scalar::Other(Value::from(number))))
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Text(Cow::Borrowed(text))))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Text(Cow::Owned(text.to_string()))))
    }
}
