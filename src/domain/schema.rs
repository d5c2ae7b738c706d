//! OpenAPI schemas of the leaf wire types, written by hand because they carry rules a derive cannot see: enum
//! values in their wire spelling, the ID prefixes and ULID alphabet, the time pattern, exact money. Each type's
//! `ToSchema` impl sits beside the type and builds its schema with these helpers, from the same constants its
//! parser uses, so the document cannot drift from the parser.

use utoipa::openapi::RefOr;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};

/// The 26 characters of a ULID as `ids::is_ulid` accepts them: Crockford base32, upper case, first 0–7.
pub const ULID_PATTERN: &str = "[0-7][0-9A-HJKMNP-TV-Z]{25}";

/// `HH:MM` or `HH:MM:SS` (API.md §1.6), as `formats::parse_time` accepts it.
pub const TIME_PATTERN: &str = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$";

/// A string schema.
pub fn string(description: &str, pattern: Option<String>, format: Option<KnownFormat>, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(description))
        .pattern(pattern)
        .format(format.map(SchemaFormat::KnownFormat))
        .examples([serde_json::Value::from(example)])
        .into()
}

/// A string enum in its wire spelling. `x-enum-varnames` gives code generators one distinct name per value
/// (`A+` and `A-` would otherwise both become `A`).
pub fn wire_enum(description: &str, values: &[&str], names: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(description))
        .enum_values(Some(values.iter().copied()))
        .extensions(Some(ExtensionsBuilder::new().add("x-enum-varnames", names.to_vec()).build()))
        .into()
}

/// An exact decimal as a JSON number: `minimum`, and `multipleOf` its precision.
pub fn decimal(
    description: &str,
    minimum: f64,
    exclusive_maximum: Option<f64>,
    step: f64,
    example: f64,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Number))
        .description(Some(description))
        .minimum(Some(minimum))
        .exclusive_maximum(exclusive_maximum)
        .multiple_of(Some(step))
        .examples([serde_json::Value::from(example)])
        .into()
}

/// The characters `str::trim` removes (Unicode White_Space), as a regex class: a string made only of these is
/// blank, which the parser reads as absent (API.md §1.7).
const WHITE_SPACE: &str = r"\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// A string with at least one character that is not white space (it survives trimming).
pub fn not_blank_pattern() -> String {
    format!("[^{WHITE_SPACE}]")
}

/// A blank string: what the parser takes for "unset".
fn blank() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(SchemaType::new(Type::String)).pattern(Some(format!("^[{WHITE_SPACE}]*$"))).into()
}

fn null() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(SchemaType::new(Type::Null)).into()
}

/// A required string of 1–`MAX` characters after trimming (also the schema of an update field that cannot be
/// cleared: `null` and `""` are refused there too).
pub fn text<const MAX: usize>() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .min_length(Some(1))
        .max_length(Some(MAX))
        .pattern(Some(not_blank_pattern()))
        .into()
}

/// An optional or clearable string of at most `MAX` characters: absent, `null` and `""` mean unset.
pub fn optional_text<const MAX: usize>() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])).max_length(Some(MAX)).into()
}

/// An optional or clearable value of type `T` (an enum, a date, an object): `null` and a blank string mean
/// unset, as for every optional field.
pub fn optional<T: utoipa::ToSchema>() -> RefOr<Schema> {
    utoipa::openapi::schema::AnyOfBuilder::new().item(null()).item(blank()).item(reference::<T>()).into()
}

/// An optional object of type `T`: also `{}` means unset. The `{}` alternative is written out only when `T` has
/// required members (else `{}` is already a `T`), since each alternative becomes one more type in a generated
/// client's signature.
pub fn optional_object<T: utoipa::ToSchema>() -> RefOr<Schema> {
    let has_required = matches!(T::schema(), RefOr::T(Schema::Object(object)) if !object.required.is_empty());
    let mut any_of = utoipa::openapi::schema::AnyOfBuilder::new().item(null());
    if has_required {
        any_of = any_of.item(ObjectBuilder::new().schema_type(SchemaType::new(Type::Object)).max_properties(Some(0)));
    }
    any_of.item(reference::<T>()).into()
}

fn reference<T: utoipa::ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
}

/// The email rule of API.md §1.6 as a pattern: no white space, one `@`, a local part of 1–64 characters, a domain
/// of at least two dot-separated labels of letters, digits and `-` (255 characters in all).
pub fn email() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .max_length(Some(255))
        .pattern(Some(format!("^[^@{WHITE_SPACE}]{{1,64}}@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$")))
        .examples([serde_json::Value::from("amara.okafor@example.org")])
        .into()
}

/// The phone rule of API.md §1.6 as a pattern: 7–20 characters of digits, space and `+ - ( ) .`, at least 7 of
/// them digits.
pub fn phone() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .min_length(Some(7))
        .max_length(Some(20))
        // The look-ahead counts the digits; the class and `{7,20}` bound the length. Written as "7 digits with
        // separators between" instead, a generator draws mostly strings over 20 characters and discards them.
        .pattern(Some(r"^(?=([^0-9]*[0-9]){7})[0-9 +\-().]{7,20}$"))
        .examples([serde_json::Value::from("+1 (555) 010-2233")])
        .into()
}

/// An array of 0–`MAX` strings of 1–`EACH` characters; `null` stands for `[]`.
pub fn text_list<const MAX: usize, const EACH: usize>() -> RefOr<Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(text::<EACH>())
        .max_items(Some(MAX))
        .into()
}

/// An array of 0–`MAX` items of type `T`; `null` stands for `[]`.
pub fn list_of<T: utoipa::ToSchema, const MAX: usize>() -> RefOr<Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(reference::<T>())
        .max_items(Some(MAX))
        .into()
}

/// An integer literal in `MIN..=MAX`.
pub fn integer<const MIN: i64, const MAX: i64>() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Integer))
        .minimum(Some(MIN as f64))
        .maximum(Some(MAX as f64))
        .into()
}

/// An optional or clearable integer literal in `MIN..=MAX` (`null` means unset).
pub fn optional_integer<const MIN: i64, const MAX: i64>() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(MIN as f64))
        .maximum(Some(MAX as f64))
        .into()
}

/// `null` or a blank string: a member that may only be left unset (a department's head on create).
pub fn unset() -> RefOr<Schema> {
    utoipa::openapi::schema::AnyOfBuilder::new().item(null()).item(blank()).into()
}

/// A non-blank string naming another resource by ID; whether it exists is decided after validation, so any text
/// is valid here (a malformed ID is simply not found).
pub fn reference_id() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .min_length(Some(1))
        .pattern(Some(not_blank_pattern()))
        .into()
}

/// An optional or clearable reference by ID (blank or `null`: unset).
pub fn optional_reference_id() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])).into()
}

/// An optional number in `min..=max` (vital signs).
pub fn optional_number(min: f64, max: f64) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Number, Type::Null]))
        .minimum(Some(min))
        .maximum(Some(max))
        .into()
}

/// A unit price: money of at most 1,000,000.00.
pub fn unit_price() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Number))
        .minimum(Some(0.0))
        .maximum(Some(1_000_000.0))
        .multiple_of(Some(0.01))
        .examples([serde_json::Value::from(150.0)])
        .into()
}
