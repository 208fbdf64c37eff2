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

/// The columns of flat records (after `--map`), each with the fields read
/// from it, to match a record's keys against.
pub(super) struct FlatColumns<'n> {
    names: &'n ColumnNames,
    /// Each column once, with the fields read from it.
    columns: Vec<(&'n str, Vec<Field>)>,
}

impl<'n> FlatColumns<'n> {
    /// The columns `names` gives the fields.
    pub fn new(names: &'n ColumnNames) -> Self {
        let mut columns: Vec<(&str, Vec<Field>)> = Vec::new();
        for field in Field::ALL {
            let name = names.get(field);
            match columns.iter_mut().find(|(column, _)| *column == name) {
                Some((_, fields)) => fields.push(field),
                None => columns.push((name, vec![field])),
            }
        }
        FlatColumns { names, columns }
    }

    /// The index of column `key`, tried first at `guess` (records mostly
    /// give their keys in the same order).
    fn find(&self, key: &str, guess: usize) -> Option<usize> {
        self.find_bytes(key.as_bytes(), guess)
    }

    /// The index of the column whose name has the bytes `key`, tried first
    /// at `guess`.
    pub fn find_bytes(&self, key: &[u8], guess: usize) -> Option<usize> {
        let is_key = |(name, _): &(&str, Vec<Field>)| same_bytes(name.as_bytes(), key);
        if self.columns.get(guess).is_some_and(is_key) {
            return Some(guess);
        }
        self.columns.iter().position(is_key)
    }

    /// The column each field is read from.
    pub fn names(&self) -> &'n ColumnNames {
        self.names
    }

    /// The name of the column at `index`, if any.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.columns.get(index).map(|(name, _)| *name)
    }

    /// The fields read from the column at `index`.
    pub fn fields(&self, index: usize) -> &[Field] {
        &self.columns[index].1
    }
}

/// Whether `a` and `b` hold the same bytes, compared one by one: keys are
/// short, shorter than a call to `memcmp` pays for.
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| a == b)
}

/// The call of the flat record `text` (its values read from `columns` as
/// `reading` says, how they were written noted in `facts`), or `None` when
/// `text` is not a flat record: then `facts` is untouched and the record is
/// for the reader of JSON values.
pub(super) fn call_in_place(
    text: &str,
    columns: &FlatColumns<'_>,
    reading: &ValueReading,
    facts: &mut RowFacts,
) -> Option<Result<Call, RowError>> {
    let mut values: FieldValues<'_> = Default::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let record = FlatRecord {
        columns,
        values: &mut values,
    };
    record.deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    let names = columns.names;
    let cell = |field: Field| -> Cell<'_> {
        values[field as usize]
            .as_ref()
            .map(|value| (value.raw(), names.get(field)))
    };
    Some(build_call(cell, names, reading, facts))
}

/// The values of a record's fields (`None` when absent or `null`), by
/// [`Field`] index.
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

/// Reads one flat record into `values`; fails on anything else.
struct FlatRecord<'c, 'v, 't> {
    columns: &'c FlatColumns<'c>,
    values: &'v mut FieldValues<'t>,
}

/// Why a record is not read here (the reader of JSON values words the
/// error, if any).
const NOT_FLAT: &str = "not a flat record";

impl<'de> DeserializeSeed<'de> for FlatRecord<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FlatRecord<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a flat record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut next = 0;
        while let Some(Key(key)) = map.next_key()? {
            // A nested `user` may give the user fields.
            if key == "user" {
                return Err(de::Error::custom(NOT_FLAT));
            }
            let Some(index) = self.columns.find(&key, next) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            next = index + 1;
            // A key given twice: the later value counts, as in a JSON value.
            let ScalarOrNull(value) = map.next_value()?;
            for field in &self.columns.columns[index].1 {
                self.values[*field as usize] = value.clone();
            }
        }
        Ok(())
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
