//! A user or group as a listing page returns it, decoded straight into its CSV cells
//! ([`Listed`]), and what the row builders read of a Graph object ([`GraphObject`]): a
//! `serde_json::Value` per listed object (an ordered map, a key and a value allocation a
//! property) was a large share of a run's CPU and allocations on tenant L.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::schema::{GROUP_COLUMNS, USER_COLUMNS, render_cell};
use crate::graph::PageItem;

/// The member and owner lists' type annotation, a name every item of theirs has.
const ODATA_TYPE: &str = "@odata.type";

/// What the row builders read of a Graph object: a `serde_json::Value`, or a [`Listed`].
pub trait GraphObject {
    /// Property `name` (exact spelling) rendered as a cell ([`render_cell`]); `None` when
    /// the object does not have it (`null` renders as an empty cell).
    fn cell(&self, name: &str) -> Option<Cow<'_, str>>;
    /// Property `name` when it is a JSON string.
    fn text(&self, name: &str) -> Option<&str>;
    /// Whether a property named `name` whatever its case is present.
    fn has_ignore_case(&self, name: &str) -> bool;
    /// The cell of the first property named `name` whatever its case.
    fn cell_ignore_case(&self, name: &str) -> Option<Cow<'_, str>>;
}

impl GraphObject for Value {
    fn cell(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|v| render_cell(Some(v)))
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    fn has_ignore_case(&self, name: &str) -> bool {
        self.as_object()
            .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case(name)))
    }

    fn cell_ignore_case(&self, name: &str) -> Option<Cow<'_, str>> {
        self.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| render_cell(Some(v)))
    }
}

/// A listed user or group: its properties in the order Graph sent them, each already
/// rendered as its CSV cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    properties: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Property {
    name: Name,
    cell: Cow<'static, str>,
    /// The value was a JSON string (the cell is its text).
    is_text: bool,
}

/// A property name: one of the files' columns without a copy, or any other name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    Column(&'static str),
    Other(Box<str>),
}

impl Name {
    fn as_str(&self) -> &str {
        match self {
            Name::Column(n) => n,
            Name::Other(n) => n,
        }
    }
}

impl Listed {
    /// Adds the text property `name` unless the object has it.
    pub fn or_insert_text(&mut self, name: &str, text: &str) {
        if self.get(name).is_none() {
            self.properties.push(Property {
                name: Name::Other(name.into()),
                cell: Cow::Owned(text.to_owned()),
                is_text: true,
            });
        }
    }

    /// The last property named `name` (as a JSON object keeps the last of repeated names).
    fn get(&self, name: &str) -> Option<&Property> {
        self.properties.iter().rfind(|p| p.name.as_str() == name)
    }
}

impl GraphObject for Listed {
    fn cell(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|p| Cow::Borrowed(p.cell.as_ref()))
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.get(name)
            .filter(|p| p.is_text)
            .map(|p| p.cell.as_ref())
    }

    fn has_ignore_case(&self, name: &str) -> bool {
        self.properties
            .iter()
            .any(|p| p.name.as_str().eq_ignore_ascii_case(name))
    }

    fn cell_ignore_case(&self, name: &str) -> Option<Cow<'_, str>> {
        let first = self
            .properties
            .iter()
            .find(|p| p.name.as_str().eq_ignore_ascii_case(name))?;
        self.cell(first.name.as_str())
    }
}

impl PageItem for Listed {
    fn id(&self) -> Option<&str> {
        self.text("id")
    }
}

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ListedVisitor)
    }
}

struct ListedVisitor;

impl<'de> Visitor<'de> for ListedVisitor {
    type Value = Listed;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a directory object (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Listed, A::Error> {
        let mut properties = Vec::with_capacity(map.size_hint().unwrap_or(USER_COLUMNS.len()));
        while let Some(name) = map.next_key::<Name>()? {
            let Cell { cell, is_text } = map.next_value()?;
            properties.push(Property {
                name,
                cell,
                is_text,
            });
        }
        Ok(Listed { properties })
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = Name;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Name, E> {
                let column = USER_COLUMNS
                    .iter()
                    .chain(GROUP_COLUMNS)
                    .chain(&[ODATA_TYPE])
                    .find(|c| **c == name);
                Ok(match column {
                    Some(c) => Name::Column(c),
                    None => Name::Other(name.into()),
                })
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// One property's value, rendered as [`render_cell`] renders it.
struct Cell {
    cell: Cow<'static, str>,
    is_text: bool,
}

impl Cell {
    fn rendered(cell: impl Into<Cow<'static, str>>) -> Cell {
        Cell {
            cell: cell.into(),
            is_text: false,
        }
    }

    /// An array or object, through `Value` as [`render_cell`] renders it (rare: multi-valued
    /// and complex properties).
    fn of_value(value: &Value) -> Cell {
        Cell::rendered(render_cell(Some(value)).into_owned())
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Cell, E> {
        self.visit_string(s.to_owned())
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Cell, E> {
        Ok(Cell {
            cell: Cow::Owned(s),
            is_text: true,
        })
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Cell, E> {
        Ok(Cell::rendered(if b { "true" } else { "false" }))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::rendered(""))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::rendered(""))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Cell, E> {
        Ok(Cell::of_value(&Value::from(n)))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Cell, E> {
        Ok(Cell::of_value(&Value::from(n)))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Cell, E> {
        Ok(Cell::of_value(&Value::from(n)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Cell, A::Error> {
        let value = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Cell::of_value(&value))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell, A::Error> {
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(Cell::of_value(&value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every property reads the same from a `Listed` as from the `Value` it was decoded from.
    #[test]
    fn a_listed_object_reads_as_its_json_value() {
        let value = json!({
            "id": "u1",
            "displayName": "Zoë \"Z\" Müller",
            "accountEnabled": false,
            "mail": null,
            "businessPhones": ["+1 555", "+1 556"],
            "otherMails": [],
            "proxyAddresses": ["smtp:a@x"],
            "employeeHireDate": 12,
            "ratio": 1.5,
            "big": 18446744073709551615u64,
            "neg": -3,
            "employeeOrgData": {"division": "R&D", "costCenter": null},
            "nested": [[1, 2], {"a": "b"}],
            "extension_abc_Level": "7",
            "@odata.type": "#microsoft.graph.user"
        });
        let listed: Listed = serde_json::from_str(&value.to_string()).unwrap();
        let names: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for name in names
            .iter()
            .copied()
            .chain(["missing", "userPrincipalName"])
        {
            assert_eq!(listed.cell(name), value.cell(name), "{name}");
            assert_eq!(listed.text(name), value.text(name), "{name}");
            let upper = name.to_uppercase();
            assert_eq!(
                listed.cell_ignore_case(&upper),
                value.cell_ignore_case(&upper)
            );
            assert_eq!(
                listed.has_ignore_case(&upper),
                value.has_ignore_case(&upper)
            );
        }
        assert_eq!(listed.id(), Some("u1"));
        let no_id: Listed = serde_json::from_str(r#"{"id": 5}"#).unwrap();
        assert_eq!(no_id.id(), None, "an id is a string");
        assert!(serde_json::from_str::<Listed>("[]").is_err());
    }
}
