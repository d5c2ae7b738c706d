//! Request bodies: JSON parsed with numbers kept as their literal text (so money never passes through
//! binary floating point), and a validator that reports every field-rule failure at once (API.md §1.3, §1.7).
//!
//! Type errors (a JSON value of the wrong JSON type) stop at the first one and are returned as `Err`; rule
//! failures (right type, broken rule) are collected in [`Validator`] and reported together.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

pub use crate::domain::patch::Patch;
use crate::error::{ApiError, ApiResult};

/// A parsed JSON value whose numbers keep their source text.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

impl Json {
    /// Parses a request body; syntax errors become `body: …` validation errors.
    pub fn parse(bytes: &[u8]) -> ApiResult<Json> {
        let text = std::str::from_utf8(bytes).map_err(|_| ApiError::invalid("body", "must be UTF-8 encoded JSON"))?;
        let raw: &RawValue =
            serde_json::from_str(text).map_err(|e| ApiError::invalid("body", &format!("invalid JSON ({e})")))?;
        Self::from_raw(raw).map_err(|e| ApiError::invalid("body", &format!("invalid JSON ({e})")))
    }

    fn from_raw(raw: &RawValue) -> Result<Json, serde_json::Error> {
        let text = raw.get().trim();
        Ok(match text.as_bytes().first() {
            Some(b'{') => {
                let map: BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
                Json::Object(map.into_iter().map(|(k, v)| Ok((k, Self::from_raw(v)?))).collect::<Result<_, _>>()?)
            }
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text)?;
                Json::Array(items.into_iter().map(Self::from_raw).collect::<Result<_, _>>()?)
            }
            Some(b'"') => Json::String(serde_json::from_str(text)?),
            Some(b't') => Json::Bool(true),
            Some(b'f') => Json::Bool(false),
            Some(b'n') => Json::Null,
            _ => Json::Number(text.to_owned()),
        })
    }

    /// A canonical text of the value: object keys sorted, no whitespace, numbers as sent. Two bodies that parse to
    /// the same JSON have the same canonical text (an idempotency fingerprint, API.md §1.11).
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        self.write_canonical(&mut out);
        out
    }

    fn write_canonical(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_canonical(out);
                }
                out.push(']');
            }
            // A BTreeMap iterates in key order.
            Json::Object(map) => {
                out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    v.write_canonical(out);
                }
                out.push('}');
            }
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// A field as sent: absent, `null` (or `""`, or `{}` for objects), or a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<T> {
    Absent,
    Null,
    Value(T),
}

impl<T> Field<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Value(v) => Field::Value(f(v)),
        }
    }
}

/// A JSON object being read, with the dotted path that prefixes its fields in error details.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    map: &'a BTreeMap<String, Json>,
    path: &'a str,
}

fn type_error(path: &str, expected: &str, got: &Json) -> ApiError {
    ApiError::invalid(path, &format!("must be {expected}, not {}", got.type_name()))
}

impl<'a> Obj<'a> {
    /// The request body, which must be one JSON object.
    pub fn root(json: &'a Json) -> ApiResult<Obj<'a>> {
        match json {
            Json::Object(map) => Ok(Obj { map, path: "" }),
            other => Err(ApiError::invalid("body", &format!("must be a JSON object, not {}", other.type_name()))),
        }
    }

    /// The detail path of a member.
    pub fn path(&self, field: &str) -> String {
        if self.path.is_empty() { field.to_owned() } else { format!("{}.{field}", self.path) }
    }

    fn raw(&self, field: &str) -> Option<&'a Json> {
        reads::note(|| self.path(field));
        self.map.get(field)
    }

    /// A string member, trimmed; `""` counts as `null`.
    pub fn string(&self, field: &str) -> ApiResult<Field<String>> {
        match self.raw(field) {
            None => Ok(Field::Absent),
            Some(Json::Null) => Ok(Field::Null),
            Some(Json::String(s)) => {
                let t = s.trim();
                Ok(if t.is_empty() { Field::Null } else { Field::Value(t.to_owned()) })
            }
            Some(other) => Err(type_error(&self.path(field), "a string", other)),
        }
    }

    /// A number member, as its literal text (strings are refused).
    pub fn number(&self, field: &str) -> ApiResult<Field<&'a str>> {
        match self.raw(field) {
            None => Ok(Field::Absent),
            Some(Json::Null) => Ok(Field::Null),
            Some(Json::Number(n)) => Ok(Field::Value(n.as_str())),
            Some(other) => Err(type_error(&self.path(field), "a number", other)),
        }
    }

    /// A boolean member.
    pub fn boolean(&self, field: &str) -> ApiResult<Field<bool>> {
        match self.raw(field) {
            None => Ok(Field::Absent),
            Some(Json::Null) => Ok(Field::Null),
            Some(Json::Bool(b)) => Ok(Field::Value(*b)),
            Some(other) => Err(type_error(&self.path(field), "a boolean", other)),
        }
    }

    /// An array member with its elements.
    pub fn array(&self, field: &str) -> ApiResult<Field<&'a [Json]>> {
        match self.raw(field) {
            None => Ok(Field::Absent),
            Some(Json::Null) => Ok(Field::Null),
            Some(Json::Array(items)) => Ok(Field::Value(items.as_slice())),
            Some(other) => Err(type_error(&self.path(field), "an array", other)),
        }
    }

    /// An object member; `{}` counts as `null`. `path` must outlive the returned reader: pass the
    /// result of [`Obj::path`] kept in a local.
    pub fn object<'p>(&self, field: &str, path: &'p str) -> ApiResult<Field<Obj<'p>>>
    where
        'a: 'p,
    {
        match self.raw(field) {
            None => Ok(Field::Absent),
            Some(Json::Null) => Ok(Field::Null),
            Some(Json::Object(map)) if map.is_empty() => Ok(Field::Null),
            Some(Json::Object(map)) => Ok(Field::Value(Obj { map, path })),
            Some(other) => Err(type_error(&self.path(field), "an object", other)),
        }
    }

    /// An array element that must be an object.
    pub fn element<'p>(item: &'a Json, path: &'p str) -> ApiResult<Obj<'p>>
    where
        'a: 'p,
    {
        match item {
            Json::Object(map) => Ok(Obj { map, path }),
            other => Err(type_error(path, "an object", other)),
        }
    }
}

/// Collects rule failures as `path: problem` details.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<String>,
}

/// Length of a trimmed string in Unicode characters.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failure.
    pub fn fail(&mut self, path: &str, problem: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {problem}"));
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` or one 400 with every failure.
    pub fn finish(self) -> ApiResult<()> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::validation(self.errors)) }
    }

    /// Checks a value with a rule; a failure is recorded at `path` and gives `None`.
    pub fn check<T, U>(&mut self, path: &str, value: T, rule: impl FnOnce(T) -> Result<U, String>) -> Option<U> {
        match rule(value) {
            Ok(v) => Some(v),
            Err(problem) => {
                self.fail(path, problem);
                None
            }
        }
    }

    /// Create semantics for a required field: absent/null/"" → `is required`.
    pub fn required<T, U>(
        &mut self,
        path: &str,
        field: Field<T>,
        rule: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        match field {
            Field::Value(v) => self.check(path, v, rule),
            Field::Absent | Field::Null => {
                self.fail(path, "is required");
                None
            }
        }
    }

    /// Create semantics for an optional field: absent/null/"" → unset.
    pub fn optional<T, U>(
        &mut self,
        path: &str,
        field: Field<T>,
        rule: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        match field {
            Field::Value(v) => self.check(path, v, rule),
            Field::Absent | Field::Null => None,
        }
    }

    /// Update semantics: absent → keep; null/"" → clear when `clearable`, else a failure; a value → set.
    /// A failed rule gives `Keep` (the request is refused anyway).
    pub fn patch<T, U>(
        &mut self,
        path: &str,
        field: Field<T>,
        clearable: bool,
        rule: impl FnOnce(T) -> Result<U, String>,
    ) -> Patch<U> {
        match field {
            Field::Absent => Patch::Keep,
            Field::Null if clearable => Patch::Clear,
            Field::Null => {
                self.fail(path, "must not be null or empty");
                Patch::Keep
            }
            Field::Value(v) => self.check(path, v, rule).map_or(Patch::Keep, Patch::Set),
        }
    }
}

/// Which body members and query parameters a request's parsing read, for the test that checks the OpenAPI
/// document against the parsers (`tests/api/openapi.rs`): outside [`reads::recording`] nothing is kept, and the
/// check is one task-local lookup.
pub mod reads {
    use std::cell::RefCell;
    use std::collections::BTreeSet;
    use std::future::Future;

    tokio::task_local! {
        static READ: RefCell<BTreeSet<String>>;
    }

    /// Runs `fut` and returns what it read: body members by path (`address.zipCode`, `items[0].quantity`) and
    /// query parameters as `?name`.
    pub async fn recording<F: Future>(fut: F) -> (F::Output, BTreeSet<String>) {
        READ.scope(RefCell::new(BTreeSet::new()), async {
            let out = fut.await;
            (out, READ.with(|r| r.take()))
        })
        .await
    }

    /// Notes a read, when a recording is on.
    pub(crate) fn note(name: impl FnOnce() -> String) {
        let _ = READ.try_with(|r| r.borrow_mut().insert(name()));
    }
}

/// Rules for values of the right JSON type. Each returns the problem text on failure.
pub mod rules {
    use chrono::NaiveDate;

    use super::char_len;
    use crate::domain::formats::{self, Timestamp};
    use crate::domain::money::Money;

    /// 1..=max characters (the value is already trimmed and non-empty).
    pub fn text(max: usize) -> impl Fn(String) -> Result<String, String> {
        move |s| {
            if char_len(&s) > max { Err(format!("must be at most {max} characters")) } else { Ok(s) }
        }
    }

    pub fn date(s: String) -> Result<NaiveDate, String> {
        formats::parse_date(&s).ok_or_else(|| "must be a date (YYYY-MM-DD)".to_owned())
    }

    pub fn time(s: String) -> Result<chrono::NaiveTime, String> {
        formats::parse_time(&s).ok_or_else(|| "must be a time (HH:MM or HH:MM:SS)".to_owned())
    }

    pub fn timestamp(s: String) -> Result<Timestamp, String> {
        formats::parse_timestamp(&s).ok_or_else(|| "must be an RFC 3339 timestamp".to_owned())
    }

    /// The email rule of API.md §1.6.
    pub fn email(s: String) -> Result<String, String> {
        const BAD: &str = "must be a valid email address";
        if char_len(&s) > 255 || s.chars().any(char::is_whitespace) {
            return Err(BAD.into());
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(BAD.into());
        };
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if (1..=64).contains(&char_len(local)) && domain_ok { Ok(s) } else { Err(BAD.into()) }
    }

    /// The phone rule of API.md §1.6.
    pub fn phone(s: String) -> Result<String, String> {
        let allowed = s.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        let digits = s.chars().filter(char::is_ascii_digit).count();
        if allowed && (7..=20).contains(&char_len(&s)) && digits >= 7 {
            Ok(s)
        } else {
            Err("must be a phone number (7-20 characters of digits, spaces and + - ( ) ., at least 7 digits)".into())
        }
    }

    /// An integer literal within `min..=max`.
    pub fn int(min: i64, max: i64) -> impl Fn(&str) -> Result<i64, String> {
        move |text| {
            let n: i64 = text.parse().map_err(|_| "must be an integer".to_owned())?;
            if (min..=max).contains(&n) { Ok(n) } else { Err(format!("must be between {min} and {max}")) }
        }
    }

    /// A decimal number within `min..=max` (vital signs; not money).
    pub fn number(min: f64, max: f64) -> impl Fn(&str) -> Result<f64, String> {
        move |text| {
            let n: f64 = text.parse().map_err(|_| "must be a number".to_owned())?;
            if n.is_finite() && (min..=max).contains(&n) {
                Ok(n)
            } else {
                Err(format!("must be between {min} and {max}"))
            }
        }
    }

    /// Money: exact, ≥ 0, at most two decimals, at most `max`.
    pub fn money(max: Option<&'static str>) -> impl Fn(&str) -> Result<Money, String> {
        move |text| {
            let m = Money::parse(text).map_err(|e| e.message().to_owned())?;
            if let Some(limit) = max.and_then(|l| Money::parse(l).ok())
                && m > limit
            {
                return Err(format!("must be between 0.00 and {limit}"));
            }
            Ok(m)
        }
    }

    /// One of an enum's wire values.
    pub fn one_of<T>(
        parse: fn(&str) -> Option<T>,
        values: &'static [&'static str],
    ) -> impl Fn(String) -> Result<T, String> {
        move |s| parse(&s).ok_or_else(|| format!("must be one of: {}", values.join(", ")))
    }
}

/// Reads an array of strings (each trimmed, 1..=each_max chars), at most `max_items` long.
/// Returns `Field::Null` for `null` (an array set to null becomes `[]`).
pub fn string_array(
    o: &Obj<'_>,
    v: &mut Validator,
    field: &str,
    max_items: usize,
    each_max: usize,
) -> ApiResult<Field<Vec<String>>> {
    let path = o.path(field);
    let items = match o.array(field)? {
        Field::Value(items) => items,
        Field::Null => return Ok(Field::Null),
        Field::Absent => return Ok(Field::Absent),
    };
    if items.len() > max_items {
        v.fail(&path, format!("must have at most {max_items} items"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        match item {
            Json::String(s) => {
                let t = s.trim();
                if t.is_empty() {
                    v.fail(&item_path, "must not be empty");
                } else if char_len(t) > each_max {
                    v.fail(&item_path, format!("must be at most {each_max} characters"));
                } else {
                    out.push(t.to_owned());
                }
            }
            other => return Err(type_error(&item_path, "a string", other)),
        }
    }
    Ok(Field::Value(out))
}

/// Reads an array of objects, at most `max_items` long, parsing each element with `item`
/// (which returns `None` when the element broke a rule already recorded in the validator).
pub fn object_array<T>(
    o: &Obj<'_>,
    v: &mut Validator,
    field: &str,
    max_items: usize,
    mut item: impl FnMut(&Obj<'_>, &mut Validator) -> ApiResult<Option<T>>,
) -> ApiResult<Field<Vec<T>>> {
    let path = o.path(field);
    let items = match o.array(field)? {
        Field::Value(items) => items,
        Field::Null => return Ok(Field::Null),
        Field::Absent => return Ok(Field::Absent),
    };
    if items.len() > max_items {
        v.fail(&path, format!("must have at most {max_items} items"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, json) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let element = Obj::element(json, &item_path)?;
        if let Some(parsed) = item(&element, v)? {
            out.push(parsed);
        }
    }
    Ok(Field::Value(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_literal_text() {
        let j = Json::parse(br#"{"a": 150.50, "b": [1e2, -0.0], "c": {"d": "x"}}"#).unwrap();
        let o = Obj::root(&j).unwrap();
        assert_eq!(o.number("a").unwrap(), Field::Value("150.50"));
        let Field::Value(items) = o.array("b").unwrap() else { panic!() };
        assert_eq!(items[0], Json::Number("1e2".into()));
    }

    #[test]
    fn the_canonical_text_ignores_key_order_and_whitespace_only() {
        let a = Json::parse(br#"{"b": [1, {"y": "\u00e9", "x": null}], "a": true}"#).unwrap();
        let b = Json::parse("{\"a\":true,\n \"b\":[1,{\"x\":null,\"y\":\"\u{e9}\"}]}".as_bytes()).unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.canonical(), "{\"a\":true,\"b\":[1,{\"x\":null,\"y\":\"\u{e9}\"}]}");
        let c = Json::parse(br#"{"a": true, "b": [1.0, {"x": null, "y": "\u00e9"}]}"#).unwrap();
        assert_ne!(a.canonical(), c.canonical(), "a number's text is part of the body");
    }

    #[test]
    fn strings_are_trimmed_and_empty_counts_as_null() {
        let j = Json::parse(br#"{"a": "  x ", "b": "   ", "c": 5}"#).unwrap();
        let o = Obj::root(&j).unwrap();
        assert_eq!(o.string("a").unwrap(), Field::Value("x".into()));
        assert_eq!(o.string("b").unwrap(), Field::Null);
        assert_eq!(o.string("z").unwrap(), Field::Absent);
        assert!(o.string("c").is_err());
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(Obj::root(&Json::parse(b"[1]").unwrap()).is_err());
        assert!(Json::parse(b"{").is_err());
        assert!(Json::parse(b"{} x").is_err());
    }

    #[test]
    fn email_and_phone_rules() {
        use rules::{email, phone};
        assert!(email("a@b.co".into()).is_ok());
        for bad in ["a@b", "a b@c.d", "@b.co", "a@@b.co", "a@b..co", "a@b_c.co"] {
            assert!(email(bad.into()).is_err(), "{bad}");
        }
        assert!(phone("+1 (555) 010-2233".into()).is_ok());
        for bad in ["12345", "555-abc-1234", "123456789012345678901"] {
            assert!(phone(bad.into()).is_err(), "{bad}");
        }
    }
}
