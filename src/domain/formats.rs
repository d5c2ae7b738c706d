//! Wire formats of API.md §1.6: `date` (YYYY-MM-DD), `time` (HH:MM:SS) and `timestamp` (UTC, milliseconds).

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parses a strict, zero-padded `YYYY-MM-DD` calendar date.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Parses `HH:MM` or `HH:MM:SS` (zero-padded, 00:00:00–23:59:59).
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok = match b.len() {
        5 => digits(0..2) && b[2] == b':' && digits(3..5),
        8 => digits(0..2) && b[2] == b':' && digits(3..5) && b[5] == b':' && digits(6..8),
        _ => false,
    };
    if !ok {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (h, m) = (num(0..2)?, num(3..5)?);
    let sec = if b.len() == 8 { num(6..8)? } else { 0 };
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    NaiveTime::from_hms_opt(h, m, sec)
}

/// Parses any RFC 3339 timestamp, converts it to UTC and truncates it to milliseconds.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| Timestamp::from_utc(t.with_timezone(&Utc)))
}

pub fn format_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn format_time(t: NaiveTime) -> String {
    t.format("%H:%M:%S").to_string()
}

/// A calendar date without zone, serialised as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

/// A wall-clock time without zone, serialised as `HH:MM:SS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub NaiveTime);

/// A UTC instant with millisecond precision, serialised as `2026-11-25T09:14:03.512Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl utoipa::PartialSchema for Date {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::KnownFormat;
        crate::domain::schema::string("A calendar date, `YYYY-MM-DD`", None, Some(KnownFormat::Date), "1985-03-15")
    }
}

impl utoipa::ToSchema for Date {}

impl utoipa::PartialSchema for Time {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::domain::schema::string(
            "A wall-clock time: `HH:MM` or `HH:MM:SS` on input, always `HH:MM:SS` on output",
            Some(crate::domain::schema::TIME_PATTERN.to_owned()),
            None,
            "10:30:00",
        )
    }
}

impl utoipa::ToSchema for Time {}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::KnownFormat;
        crate::domain::schema::string(
            "An RFC 3339 instant (any offset on input); output is UTC with exactly 3 fraction digits",
            None,
            Some(KnownFormat::DateTime),
            "2026-11-25T09:14:03.512Z",
        )
    }
}

impl utoipa::ToSchema for Timestamp {}

impl Timestamp {
    /// Truncates to whole milliseconds, the precision every store keeps.
    pub fn from_utc(t: DateTime<Utc>) -> Self {
        Self::from_millis(t.timestamp_millis())
    }

    pub fn from_millis(ms: i64) -> Self {
        Self(Utc.timestamp_millis_opt(ms).single().unwrap_or_default())
    }

    pub fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn utc(self) -> DateTime<Utc> {
        self.0
    }

    /// The UTC calendar date of this instant.
    pub fn date(self) -> NaiveDate {
        self.0.date_naive()
    }

    /// The time of day, truncated to whole seconds.
    pub fn time_of_day(self) -> NaiveTime {
        let t = self.0.time();
        NaiveTime::from_hms_opt(t.hour(), t.minute(), t.second()).unwrap_or_default()
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_date(self.0))
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_time(self.0))
    }
}

macro_rules! string_serde {
    ($ty:ty, $parse:expr, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $parse(&s).ok_or_else(|| serde::de::Error::custom(concat!("invalid ", $what)))
            }
        }
    };
}

string_serde!(Date, |s: &str| parse_date(s).map(Date), "date");
string_serde!(Time, |s: &str| parse_time(s).map(Time), "time");
string_serde!(Timestamp, parse_timestamp, "timestamp");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_zero_padded_real_days() {
        assert!(parse_date("2024-02-29").is_some());
        for bad in ["2023-02-29", "2024-2-01", "2024-02-1", "20240201", "2024-13-01", "+2024-01-01", "2024-01-01T00"] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn times_accept_minutes_or_seconds() {
        assert_eq!(format_time(parse_time("09:05").unwrap()), "09:05:00");
        assert_eq!(format_time(parse_time("23:59:59").unwrap()), "23:59:59");
        for bad in ["24:00", "9:05", "09:60", "09:05:60", "09:05:0", "09-05"] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_utc_with_three_fraction_digits() {
        let t = parse_timestamp("2026-11-25T10:14:03.512999+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-25T09:14:03.512Z");
        assert_eq!(parse_timestamp("2026-11-25T09:14:03Z").unwrap().to_string(), "2026-11-25T09:14:03.000Z");
        assert!(parse_timestamp("2026-11-25 09:14:03").is_none());
    }
}
