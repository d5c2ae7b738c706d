//! Exact conversion between a document's JSON text and a DynamoDB item.
//!
//! Documents are serialised with serde_json (so `Money` and `TaxRate` are raw JSON numbers carrying their exact
//! decimal text) and the JSON tree is mapped one to one onto attribute values: object → `M`, array → `L`, string →
//! `S`, number → `N` *with the literal text*, boolean → `BOOL`, null → `NULL`. Reading back writes the item as JSON
//! text again, copying every `N` verbatim, and lets the domain types' own deserializers parse it. No number ever
//! passes through `f64` on the way, so `21.59` stays `21.59` (DynamoDB may normalise `0.10` to `0.1`; `Money`
//! re-scales to two decimals when it parses).

use std::collections::HashMap;
use std::fmt::Write as _;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// An item as the SDK carries it.
pub type Item = HashMap<String, AttributeValue>;

/// Serialises `doc` to an item; `doc` must serialise to a JSON object.
pub fn to_item<T: Serialize>(doc: &T) -> Result<Item, String> {
    let text = serde_json::to_string(doc).map_err(|e| format!("cannot encode: {e}"))?;
    match json_to_attr(&text)? {
        AttributeValue::M(map) => Ok(map),
        _ => Err("the document is not a JSON object".into()),
    }
}

/// Parses an item (already stripped of the store's own key and version attributes) into a document.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, String> {
    let mut text = String::new();
    write_map(item, &mut text)?;
    serde_json::from_str(&text).map_err(|e| format!("cannot decode: {e}"))
}

/// Maps one JSON value (as text) to an attribute value, keeping number text exactly.
fn json_to_attr(text: &str) -> Result<AttributeValue, String> {
    let bad = |e: serde_json::Error| format!("invalid JSON from the encoder: {e}");
    let text = text.trim();
    Ok(match text.as_bytes().first() {
        Some(b'{') => {
            let members: HashMap<String, &RawValue> = serde_json::from_str(text).map_err(bad)?;
            let map =
                members.into_iter().map(|(k, v)| Ok((k, json_to_attr(v.get())?))).collect::<Result<Item, String>>()?;
            AttributeValue::M(map)
        }
        Some(b'[') => {
            let elements: Vec<&RawValue> = serde_json::from_str(text).map_err(bad)?;
            AttributeValue::L(elements.into_iter().map(|v| json_to_attr(v.get())).collect::<Result<_, _>>()?)
        }
        Some(b'"') => AttributeValue::S(serde_json::from_str(text).map_err(bad)?),
        Some(b't') | Some(b'f') => AttributeValue::Bool(serde_json::from_str(text).map_err(bad)?),
        Some(b'n') => AttributeValue::Null(true),
        Some(_) if is_json_number(text) => AttributeValue::N(text.to_owned()),
        _ => return Err(format!("unexpected JSON value {text:?}")),
    })
}

fn write_map(map: &Item, out: &mut String) -> Result<(), String> {
    out.push('{');
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(key, out)?;
        out.push(':');
        write_attr(value, out)?;
    }
    out.push('}');
    Ok(())
}

fn write_string(s: &str, out: &mut String) -> Result<(), String> {
    let quoted = serde_json::to_string(s).map_err(|e| format!("cannot quote a string: {e}"))?;
    out.push_str(&quoted);
    Ok(())
}

fn write_attr(value: &AttributeValue, out: &mut String) -> Result<(), String> {
    match value {
        AttributeValue::S(s) => write_string(s, out)?,
        // Copied verbatim after a syntax check, so a corrupt number cannot change the JSON's structure.
        AttributeValue::N(n) if is_json_number(n) => out.push_str(n),
        AttributeValue::N(n) => return Err(format!("number attribute {n:?} is not a JSON number")),
        AttributeValue::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        AttributeValue::Null(_) => out.push_str("null"),
        AttributeValue::L(list) => {
            out.push('[');
            for (i, v) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_attr(v, out)?;
            }
            out.push(']');
        }
        AttributeValue::M(map) => write_map(map, out)?,
        other => return Err(format!("unexpected attribute type {other:?}")),
    }
    Ok(())
}

/// JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::{Money, TaxRate};

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Doc {
        name: String,
        total: Money,
        rate: TaxRate,
        lines: Vec<Money>,
        temperature: Option<f64>,
        nested: HashMap<String, bool>,
        absent: Option<String>,
    }

    fn doc() -> Doc {
        Doc {
            name: "Ünï \"q\" \\".into(),
            total: Money::parse("21.59").expect("money"),
            rate: TaxRate::parse("0.08").expect("rate"),
            lines: vec![Money::parse("0.10").expect("money"), Money::ZERO],
            temperature: Some(37.2),
            nested: HashMap::from([("ok".into(), true)]),
            absent: None,
        }
    }

    #[test]
    fn money_becomes_number_attributes_with_its_exact_text() {
        let item = to_item(&doc()).expect("encodes");
        assert_eq!(item["total"], AttributeValue::N("21.59".into()));
        assert_eq!(item["rate"], AttributeValue::N("0.08".into()));
        let lines = AttributeValue::L(vec![AttributeValue::N("0.10".into()), AttributeValue::N("0.00".into())]);
        assert_eq!(item["lines"], lines);
        assert_eq!(item["absent"], AttributeValue::Null(true));
        assert_eq!(item["name"], AttributeValue::S("Ünï \"q\" \\".into()));
    }

    #[test]
    fn items_round_trip_exactly_even_when_the_store_normalises_numbers() {
        let mut item = to_item(&doc()).expect("encodes");
        // DynamoDB hands numbers back normalised; money must still read back at two decimals.
        item.insert(
            "lines".into(),
            AttributeValue::L(vec![AttributeValue::N("0.1".into()), AttributeValue::N("0".into())]),
        );
        let back: Doc = from_item(&item).expect("decodes");
        assert_eq!(back, doc());
        assert_eq!(back.lines[0].to_string(), "0.10");
    }

    #[test]
    fn a_corrupt_number_is_refused_rather_than_spliced_into_json() {
        let mut item = to_item(&doc()).expect("encodes");
        item.insert("total".into(), AttributeValue::N("1,\"name\":\"x\"".into()));
        assert!(from_item::<Doc>(&item).is_err());
    }

    #[test]
    fn the_number_grammar_is_json_s() {
        for ok in ["0", "-0", "1.5", "21.59", "1e2", "1E+2", "-3.25e-7", "100"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "+1", "1e", "NaN", "1 ", "0x10"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
