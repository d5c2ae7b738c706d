//! Exact decimal money (API.md §4.7): parsed from a JSON number's text, never through binary floating point,
//! and always written with exactly two fraction digits.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// Why a money value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    NotANumber,
    Negative,
    TooPrecise,
}

impl MoneyError {
    pub fn message(self) -> &'static str {
        match self {
            Self::NotANumber => "must be a number",
            Self::Negative => "must not be negative",
            Self::TooPrecise => "must have at most 2 decimal places",
        }
    }
}

/// A non-negative amount in the hospital's currency, kept at scale 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::domain::schema::decimal(
            "Exact money as a JSON number: ≥ 0, at most 2 decimals on input, exactly 2 on output (never a string)",
            0.0,
            None,
            0.01,
            378.00,
        )
    }
}

impl utoipa::ToSchema for Money {}

/// Parses the text of a JSON number exactly (`1e2` included).
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str_exact(text).ok().or_else(|| Decimal::from_scientific(text).ok())
}

impl Money {
    /// 0.00, at scale 2 like every other amount.
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

    /// Parses the literal text of a JSON number: ≥ 0 with at most two significant fraction digits.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let d = parse_decimal(text).ok_or(MoneyError::NotANumber)?;
        if d.is_sign_negative() && !d.is_zero() {
            return Err(MoneyError::Negative);
        }
        if d.normalize().scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        Ok(Self::from_decimal(d))
    }

    /// Rounds to cents half-up (ties away from zero), the only rounding the contract allows.
    pub fn from_decimal(d: Decimal) -> Self {
        let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        r.rescale(2);
        // -0.00 prints as "-0.00"; money is never negative on the wire.
        if r.is_zero() {
            r.set_sign_positive(true);
        }
        Self(r)
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// `self × quantity`, exact.
    pub fn times(self, quantity: i64) -> Self {
        Self::from_decimal(self.0 * Decimal::from(quantity))
    }

    /// `self + other`, exact.
    pub fn plus(self, other: Self) -> Self {
        Self::from_decimal(self.0 + other.0)
    }

    /// `self − other`; callers keep amountPaid ≤ total, so this never goes below zero in practice.
    pub fn minus(self, other: Self) -> Self {
        Self::from_decimal(self.0 - other.0)
    }

    /// `self × rate`, rounded half-up to cents.
    pub fn times_rate(self, rate: TaxRate) -> Self {
        Self::from_decimal(self.0 * rate.0)
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A raw JSON number keeps the trailing zeros ("378.00") that a float would drop.
        RawValue::from_string(self.to_string()).map_err(serde::ser::Error::custom)?.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Only for documents this service wrote itself (the SQL records store), read back through serde_json.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = raw.get().trim_matches('"');
        Money::parse(text).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// A tax rate, 0 ≤ rate < 1 with at most 4 decimals, written as a plain JSON number (`0.08`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxRate(Decimal);

impl utoipa::PartialSchema for TaxRate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::domain::schema::decimal("The tax rate stored on the invoice, 0 ≤ rate < 1", 0.0, Some(1.0), 0.0001, 0.08)
    }
}

impl utoipa::ToSchema for TaxRate {}

impl TaxRate {
    pub fn parse(text: &str) -> Result<Self, String> {
        let d = Decimal::from_str(text.trim()).map_err(|_| format!("tax rate {text:?} is not a decimal number"))?;
        if d.is_sign_negative() || d >= Decimal::ONE || d.normalize().scale() > 4 {
            return Err(format!("tax rate {text} must be 0 ≤ rate < 1 with at most 4 decimals"));
        }
        Ok(Self(d.normalize()))
    }
}

impl std::fmt::Display for TaxRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = self.0.normalize();
        // Keep at least two decimals so 0 and 0.1 read as money-like rates ("0.00", "0.10").
        if d.scale() < 2 {
            d.rescale(2);
        }
        write!(f, "{d}")
    }
}

impl Serialize for TaxRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(self.to_string()).map_err(serde::ser::Error::custom)?.serialize(s)
    }
}

impl<'de> Deserialize<'de> for TaxRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        TaxRate::parse(raw.get().trim_matches('"')).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn parses_at_most_two_fraction_digits() {
        assert_eq!(m("150").to_string(), "150.00");
        assert_eq!(m("150.5").to_string(), "150.50");
        assert_eq!(m("150.50").to_string(), "150.50");
        assert_eq!(m("1.5e2").to_string(), "150.00");
        assert_eq!(Money::parse("150.505"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("-1"), Err(MoneyError::Negative));
        assert_eq!(m("-0").to_string(), "0.00");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn worked_examples_of_the_contract() {
        let rate = TaxRate::parse("0.08").unwrap();
        let subtotal = m("150.00").times(1).plus(m("100").times(2));
        let tax = subtotal.times_rate(rate);
        assert_eq!(
            (subtotal.to_string(), tax.to_string(), subtotal.plus(tax).to_string()),
            ("350.00".into(), "28.00".into(), "378.00".into())
        );
        let small = m("19.99");
        assert_eq!(small.times_rate(rate).to_string(), "1.60");
        assert_eq!(small.plus(small.times_rate(rate)).to_string(), "21.59");
    }

    #[test]
    fn tax_rounds_half_up() {
        let rate = TaxRate::parse("0.05").unwrap();
        assert_eq!(m("0.30").times_rate(rate).to_string(), "0.02");
        assert_eq!(m("0.10").times_rate(rate).to_string(), "0.01");
    }

    #[test]
    fn serialises_as_a_json_number_with_two_decimals() {
        let v = serde_json::to_string(&m("378")).unwrap();
        assert_eq!(v, "378.00");
        let back: Money = serde_json::from_str("1.60").unwrap();
        assert_eq!(back, m("1.6"));
        assert_eq!(serde_json::to_string(&TaxRate::parse("0.08").unwrap()).unwrap(), "0.08");
    }
}
