//! Datetimes and durations as pickles carry them: ISO-8601 text and float seconds, both ways.

use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------------
// Datetimes
// ---------------------------------------------------------------------------------------------

pub(super) const US_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(super) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `z` days after 1970-01-01.
pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

pub(super) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `2024-01-02T03:04:05.123456Z` (see the module documentation).
pub(super) fn format_datetime(us: i64) -> String {
    let (y, m, d) = civil_from_days(us.div_euclid(US_PER_DAY));
    let rem = us.rem_euclid(US_PER_DAY);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let mut s = String::with_capacity(28);
    if (0..=9999).contains(&y) {
        let _ = write!(s, "{y:04}");
    } else {
        let _ = write!(s, "{y:+05}");
    }
    let _ = write!(
        s,
        "-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        if frac % 1000 == 0 {
            let _ = write!(s, ".{:03}", frac / 1000);
        } else {
            let _ = write!(s, ".{frac:06}");
        }
    }
    s.push('Z');
    s
}

/// Microseconds since the epoch of an ISO-8601 date (`2024-01-02`) or date and time
/// (`2024-01-02T03:04[:05[.123456]]`, `T` or a space between), with `Z`, `±HH:MM`, `±HHMM` or
/// `±HH`, or no offset (UTC). Digits beyond microseconds are dropped.
pub(super) fn parse_datetime(text: &str) -> Result<i64, String> {
    let b = text.as_bytes();
    let mut i = 0;
    let num = |i: &mut usize, min: usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i - start < min {
            return None;
        }
        text[start..*i].parse().ok()
    };
    let bad = || format!("`{text}` is not an ISO-8601 date and time");
    let sign = match b.first() {
        Some(b'+') => {
            i += 1;
            1
        }
        Some(b'-') => {
            i += 1;
            -1
        }
        _ => 1,
    };
    let year = sign * num(&mut i, 4, 9).ok_or_else(bad)?;
    let expect = |i: &mut usize, c: u8| -> bool {
        if b.get(*i) == Some(&c) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if !expect(&mut i, b'-') {
        return Err(bad());
    }
    let month = num(&mut i, 2, 2).ok_or_else(bad)? as u32;
    if !expect(&mut i, b'-') {
        return Err(bad());
    }
    let day = num(&mut i, 2, 2).ok_or_else(bad)? as u32;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(format!("`{text}` is not a valid date"));
    }
    let (mut hour, mut minute, mut second, mut micros, mut offset) = (0, 0, 0, 0i64, 0i64);
    if i < b.len() && matches!(b[i], b'T' | b't' | b' ') {
        i += 1;
        hour = num(&mut i, 2, 2).ok_or_else(bad)?;
        if !expect(&mut i, b':') {
            return Err(bad());
        }
        minute = num(&mut i, 2, 2).ok_or_else(bad)?;
        if expect(&mut i, b':') {
            second = num(&mut i, 2, 2).ok_or_else(bad)?;
            if i < b.len() && matches!(b[i], b'.' | b',') {
                i += 1;
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i == start {
                    return Err(bad());
                }
                let digits = &b[start..i];
                for k in 0..6 {
                    micros = micros * 10 + digits.get(k).map_or(0, |d| i64::from(d - b'0'));
                }
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(format!("`{text}` is not a valid time of day"));
        }
        match b.get(i) {
            Some(b'Z' | b'z') => i += 1,
            Some(&c @ (b'+' | b'-')) => {
                i += 1;
                let oh = num(&mut i, 2, 2).ok_or_else(bad)?;
                expect(&mut i, b':');
                let om = if i < b.len() {
                    num(&mut i, 2, 2).ok_or_else(bad)?
                } else {
                    0
                };
                if oh > 23 || om > 59 {
                    return Err(format!("`{text}` has an invalid UTC offset"));
                }
                offset = (oh * 60 + om) * 60_000_000 * if c == b'-' { -1 } else { 1 };
            }
            _ => {}
        }
    }
    if i != b.len() {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    days.checked_mul(US_PER_DAY)
        .and_then(|d| d.checked_add(((hour * 60 + minute) * 60 + second) * 1_000_000 + micros))
        .and_then(|t| t.checked_sub(offset))
        .ok_or_else(|| format!("`{text}` is out of the range of a Flow `datetime`"))
}

/// Microseconds of a number of seconds.
pub(super) fn duration_from_secs(secs: f64) -> Option<i64> {
    let us = (secs * 1e6).round();
    (-9.223_372_036_854_775e18..9.223_372_036_854_775e18)
        .contains(&us)
        .then_some(us as i64)
}
