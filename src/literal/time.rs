//! Consumes and produces the text of datetimes and durations (microseconds since the Unix epoch,
//! microseconds): protobuf's `Timestamp` and `Duration` JSON strings (`"2024-01-01T00:00:00Z"`,
//! `"1.500s"`: 0, 3 or 6 fraction digits) within their ranges, lenient RFC 3339 input, and
//! durations written like Flow literals (`"1h30m"`). Calendar work is chrono's.

use chrono::{DateTime, SecondsFormat, Utc};

use super::{LiteralError, Result};

/// Microseconds per second.
const US: i64 = 1_000_000;
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds: protobuf Timestamp's range.
const MIN_TIMESTAMP: i64 = -62_135_596_800;
const MAX_TIMESTAMP: i64 = 253_402_300_799;
/// protobuf Duration's range, in seconds (about 10,000 years).
const MAX_DURATION: i64 = 315_576_000_000;

/// An instant as RFC 3339 in UTC with 0, 3 or 6 fraction digits, as protobuf writes it; years
/// beyond 0–9999 get a sign, and beyond chrono's range (±262,000 years) the microseconds are given.
pub(super) fn format_timestamp(us: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(us) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => format!("{us} µs from 1970-01-01T00:00:00Z"),
    }
}

/// An instant as a `google.protobuf.Timestamp` JSON string; an error outside its range.
pub(super) fn pb_timestamp(us: i64) -> Result<String> {
    if (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&us.div_euclid(US)) {
        Ok(format_timestamp(us))
    } else {
        Err(LiteralError::new(format!(
            "the datetime `{}` is outside the range of a Flyte datetime (years 1 to 9999)",
            format_timestamp(us)
        )))
    }
}

/// An RFC 3339 instant (`2024-01-01T00:00:00Z`, `…+02:00`, `….123456Z`, `t` or a space for `T`),
/// also without an offset (UTC), without seconds, or a bare date, as microseconds since the epoch.
/// Fraction digits beyond the sixth are dropped; a leap second is refused.
pub(super) fn parse_timestamp(text: &str) -> Result<i64, String> {
    let s = text.trim();
    // What RFC 3339 requires and the lenient forms leave out: the offset, the seconds, the time.
    ["", "Z", ":00Z", "T00:00:00Z"]
        .iter()
        .find_map(|rest| DateTime::parse_from_rfc3339(&format!("{s}{rest}")).ok())
        .filter(|t| t.timestamp_subsec_nanos() < 1_000_000_000)
        .map(|t| t.timestamp_micros())
        .ok_or_else(|| {
            format!(
                "`{text}` is not a datetime: expected RFC 3339, e.g. `2024-01-01T00:00:00Z` or \
                 `2024-01-01`"
            )
        })
}

/// A span as a `google.protobuf.Duration` JSON string (`"1.500s"`); an error outside its range.
pub(super) fn pb_duration(us: i64) -> Result<String> {
    let (secs, frac) = (us.unsigned_abs() / US as u64, us.unsigned_abs() % US as u64);
    if secs > MAX_DURATION as u64 {
        return Err(LiteralError::new(
            "the duration is outside the range of a Flyte duration (about 10,000 years)",
        ));
    }
    let sign = if us < 0 { "-" } else { "" };
    let frac = match frac {
        0 => String::new(),
        f if f % 1000 == 0 => format!(".{:03}", f / 1000),
        f => format!(".{f:06}"),
    };
    Ok(format!("{sign}{secs}{frac}s"))
}

/// A `google.protobuf.Duration` JSON string (`"1.500s"`, `"-3s"`) as microseconds; fraction
/// digits beyond the sixth are dropped.
pub(super) fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a duration: expected seconds such as `1.5s`");
    let body = text.strip_suffix('s').ok_or_else(bad)?;
    let (neg, body) = match body.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    let (secs, frac) = body.split_once('.').unwrap_or((body, "0"));
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !is_digits(secs) || !is_digits(frac) {
        return Err(bad());
    }
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    if secs > MAX_DURATION {
        return Err(bad());
    }
    // The first six fraction digits, padded with zeros: microseconds.
    let frac: i64 = format!("{frac:0<6}")[..6].parse().map_err(|_| bad())?;
    let us = secs * US + frac;
    Ok(if neg { -us } else { us })
}

/// A duration written like a Flow literal: `250ms`, `30s`, `5m`, `2h`, `1d`, `1h30m`, `1.5s`,
/// `-2m`, `10us`.
pub(super) fn parse_flow_duration(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration: expected a number of seconds or e.g. `250ms`, `30s`, \
             `5m`, `2h`, `1d`"
        )
    };
    let t = text.trim();
    let (neg, mut rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "us" | "µs" => 1.0,
            "ms" => 1e3,
            "s" => 1e6,
            "m" => 60e6,
            "h" => 3600e6,
            "d" => 86_400e6,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    let us = total.round();
    if us.abs() > MAX_DURATION as f64 * 1e6 {
        return Err(bad());
    }
    Ok(if neg { -(us as i64) } else { us as i64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_durations() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59.999999Z"),
            (1_000, "1970-01-01T00:00:00.001Z"),
            (951_782_400_000_000, "2000-02-29T00:00:00Z"),
            (-62_135_596_800_000_000, "0001-01-01T00:00:00Z"),
            (253_402_300_799_000_000, "9999-12-31T23:59:59Z"),
        ];
        for (us, s) in cases {
            assert_eq!(format_timestamp(us), s);
            assert_eq!(parse_timestamp(s), Ok(us), "{s}");
        }
        assert_eq!(parse_timestamp("2024-01-01"), Ok(1_704_067_200_000_000));
        assert_eq!(
            parse_timestamp("2024-01-01T02:00:00+02:00"),
            Ok(1_704_067_200_000_000)
        );
        assert_eq!(
            parse_timestamp("2024-01-01 00:00:00.123456789"),
            Ok(1_704_067_200_123_456)
        );
        for bad in [
            "2024-02-30",
            "2024-1-1",
            "2024-01-01T25:00:00Z",
            "yesterday",
            "",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
        for (us, s) in [
            (1_500_000, "1.500s"),
            (-1_500_000, "-1.500s"),
            (3_000_000, "3s"),
            (1, "0.000001s"),
            (-500_000, "-0.500s"),
            (0, "0s"),
        ] {
            assert_eq!(pb_duration(us).unwrap(), s);
            assert_eq!(parse_duration(s), Ok(us), "{s}");
        }
        for (s, us) in [
            ("250ms", 250_000),
            ("30s", 30_000_000),
            ("5m", 300_000_000),
            ("2h", 7_200_000_000),
            ("1d", 86_400_000_000),
            ("1h30m", 5_400_000_000),
            ("-1.5s", -1_500_000),
        ] {
            assert_eq!(parse_flow_duration(s), Ok(us), "{s}");
        }
        assert!(parse_flow_duration("5 parsecs").is_err());
        assert!(parse_duration("1.5").is_err());
    }

    #[test]
    fn lenient_and_extreme_timestamps() {
        for s in [
            "2024-01-01t00:00:00z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00",
            " 2024-01-01T00:00:00.000000999Z ",
        ] {
            assert_eq!(parse_timestamp(s), Ok(1_704_067_200_000_000), "{s}");
        }
        assert!(parse_timestamp("2016-12-31T23:59:60Z").is_err());
        assert_eq!(
            format_timestamp(253_402_300_800_000_000),
            "+10000-01-01T00:00:00Z"
        );
        assert_eq!(
            format_timestamp(i64::MAX),
            "9223372036854775807 µs from 1970-01-01T00:00:00Z"
        );
        assert!(pb_timestamp(253_402_300_800_000_000).is_err());
        assert!(pb_timestamp(-62_135_596_800_000_001).is_err());
        assert_eq!(
            pb_timestamp(-62_135_596_800_000_000).unwrap(),
            "0001-01-01T00:00:00Z"
        );
        assert!(pb_duration(MAX_DURATION * US).is_ok());
        assert!(pb_duration(-(MAX_DURATION + 1) * US).is_err());
        assert_eq!(parse_duration("315576000000s"), Ok(MAX_DURATION * US));
        for bad in [
            "315576000001s",
            "1.s",
            ".5s",
            "+1s",
            "--1s",
            "1e3s",
            "s",
            "",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("1.0000019s"), Ok(1_000_001));
    }
}
