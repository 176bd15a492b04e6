//! RFC 3339 timestamps as comparable instants, for `meta.lastModified gt "..."` filters.
//!
//! RFC 7643 §2.3.5 makes SCIM dateTime an xsd:dateTime "with no fractional seconds required"; IdPs
//! send both `2025-01-01T00:00:00Z` and `2025-01-01T01:00:00.123+01:00`. Comparing those as
//! strings gets offsets and fractions wrong, so they are turned into (seconds since the Unix
//! epoch, nanoseconds) here. Hand-written to keep the protocol core free of date crates; it only
//! ever reads the string char by char, so no input can make it panic.

/// A point in time: seconds since 1970-01-01T00:00:00Z and the nanoseconds within that second.
/// Derived `Ord` compares seconds first, which is the instant order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`. The `T` and `Z` may be lower case and the
/// `T` may be a space (RFC 3339 §5.6 note); anything else is `None`.
pub fn parse_rfc3339(s: &str) -> Option<Instant> {
    let b: Vec<char> = s.chars().collect();
    let local_secs = date_and_time(&b)?;
    let (nanos, i) = fraction(&b, 19)?;
    let (offset_secs, i) = offset(&b, i)?;
    if i != b.len() {
        return None;
    }
    Some(Instant {
        secs: local_secs - offset_secs,
        nanos,
    })
}

/// The `len` decimal digits at `from`, if they are all there.
fn digits(b: &[char], from: usize, len: usize) -> Option<i64> {
    let mut v = 0i64;
    for k in 0..len {
        v = v * 10 + i64::from(b.get(from + k)?.to_digit(10)?);
    }
    Some(v)
}

/// `YYYY-MM-DDTHH:MM:SS` (the first 19 characters) as seconds since the epoch, before the
/// offset is applied.
fn date_and_time(b: &[char]) -> Option<i64> {
    let year = digits(b, 0, 4)?;
    if b.get(4) != Some(&'-') || b.get(7) != Some(&'-') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if !matches!(b.get(10), Some('T' | 't' | ' ')) {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    if b.get(13) != Some(&':') || b.get(16) != Some(&':') {
        return None;
    }
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // 60 admits a leap second (RFC 3339 §5.7); it lands on the next minute's first second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// An optional `.fraction` at `i`: its nanoseconds and the index after it.
fn fraction(b: &[char], mut i: usize) -> Option<(u32, usize)> {
    let mut nanos = 0u32;
    if b.get(i) == Some(&'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000u32;
        while let Some(d) = b.get(i).and_then(|c| c.to_digit(10)) {
            // Digits past nanosecond precision cannot change the order of real timestamps.
            nanos += d * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    Some((nanos, i))
}

/// The `Z` or `±HH:MM` at `i`: its offset east of UTC in seconds and the index after it.
fn offset(b: &[char], i: usize) -> Option<(i64, usize)> {
    match b.get(i) {
        Some('Z' | 'z') => Some((0, i + 1)),
        Some(sign @ ('+' | '-')) => {
            let oh = digits(b, i + 1, 2)?;
            if b.get(i + 3) != Some(&':') {
                return None;
            }
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            Some((if *sign == '-' { -off } else { off }, i + 6))
        }
        _ => None,
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Instant {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn epoch_and_known_instant() {
        assert_eq!(at("1970-01-01T00:00:00Z"), Instant { secs: 0, nanos: 0 });
        assert_eq!(at("2025-01-01T00:00:00Z").secs, 1_735_689_600);
    }

    #[test]
    fn offsets_are_normalised() {
        assert_eq!(at("2025-01-01T01:00:00+01:00"), at("2025-01-01T00:00:00Z"));
        assert_eq!(at("2024-12-31T19:00:00-05:00"), at("2025-01-01T00:00:00z"));
    }

    #[test]
    fn fractions_order_within_a_second() {
        assert!(at("2025-01-01T00:00:00.5Z") > at("2025-01-01T00:00:00.123456789Z"));
        assert!(at("2025-01-01T00:00:00.0000000001Z") == at("2025-01-01T00:00:00Z"));
        assert_eq!(at("2025-01-01T00:00:00.25Z").nanos, 250_000_000);
    }

    #[test]
    fn leap_day_and_leap_second() {
        assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_some());
        assert!(parse_rfc3339("2023-02-29T00:00:00Z").is_none());
        assert!(parse_rfc3339("2016-12-31T23:59:60Z").is_some());
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "2025-01-01",
            "2025-13-01T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00+0100",
            "2025-01-01T00:00:00Zjunk",
            "yesterday",
            "2025-01-01T00:00:00é",
            "é025-01-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(s).is_none(), "{s}");
        }
    }

    #[test]
    fn space_separator_is_accepted() {
        assert_eq!(at("2025-01-01 00:00:00Z"), at("2025-01-01T00:00:00Z"));
    }
}
