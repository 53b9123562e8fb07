//! Times as WeChat Pay writes them: RFC 3339 in Beijing time
//! (`2018-06-08T10:34:56+08:00`), and the date digits its ids start with.
//! Hand-written (a few lines of civil-calendar arithmetic) rather than a
//! date crate, because these two shapes are all the platform needs.

/// Beijing is UTC+8 all year (no daylight saving).
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;
const DAY_SECS: i64 = 86_400;

/// Broken-down Beijing time of a Unix millisecond.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
}

fn beijing(millis: i64) -> Civil {
    let secs = millis.div_euclid(1000) + BEIJING_OFFSET_SECS;
    let (year, month, day) = civil_from_days(secs.div_euclid(DAY_SECS));
    let rem = secs.rem_euclid(DAY_SECS);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
    }
}

/// `2018-06-08T10:34:56+08:00`.
pub fn rfc3339_beijing(millis: i64) -> String {
    let t = beijing(millis);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `20180608`: the date part of transaction and refund ids.
pub fn date_digits(millis: i64) -> String {
    let t = beijing(millis);
    format!("{:04}{:02}{:02}", t.year, t.month, t.day)
}

/// `20180608103456`: the time part of prepay ids.
pub fn datetime_digits(millis: i64) -> String {
    let t = beijing(millis);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Milliseconds of an RFC 3339 time such as `time_expire`
/// (`2018-06-08T10:34:56+08:00`, fractions and `Z` accepted), or `None`
/// when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    if !matches!(bytes.get(10), Some(b'T' | b't')) || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", fraction.get(..digits.min(3))?);
        millis = padded.parse::<i64>().ok()?;
        rest = fraction.get(digits..)?;
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let offset = rest.get(1..)?.as_bytes();
            let digits_ok = offset.len() == 5
                && offset[2] == b':'
                && [0, 1, 3, 4].iter().all(|&i| offset[i].is_ascii_digit());
            if !digits_ok {
                return None;
            }
            let digit = |i: usize| i64::from(offset[i] - b'0');
            let hours = digit(0) * 10 + digit(1);
            let minutes = digit(3) * 10 + digit(4);
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * DAY_SECS + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1000 + millis)
}

fn is_leap(year: i64) -> bool {
    (year.rem_euclid(4) == 0 && year.rem_euclid(100) != 0) || year.rem_euclid(400) == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 → (year, month, day): Howard Hinnant's
/// `civil_from_days`, exact over the whole proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_beijing_time() {
        // 2023-11-14T22:13:20Z
        assert_eq!(
            rfc3339_beijing(1_700_000_000_000),
            "2023-11-15T06:13:20+08:00"
        );
        assert_eq!(rfc3339_beijing(0), "1970-01-01T08:00:00+08:00");
        assert_eq!(date_digits(1_700_000_000_000), "20231115");
        assert_eq!(datetime_digits(1_700_000_000_999), "20231115061320");
    }

    #[test]
    fn parses_what_it_formats_and_other_offsets() {
        for millis in [0, 1_700_000_000_000, 951_782_400_000, 4_102_444_800_000] {
            assert_eq!(parse_rfc3339(&rfc3339_beijing(millis)), Some(millis));
        }
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2023-11-14T22:13:20.5-00:00"),
            Some(1_700_000_000_500)
        );
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00+08:00"), None);
        assert_eq!(parse_rfc3339("2023-11-14 22:13:20+08:00"), None);
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20"), None);
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20+0800"), None);
        assert_eq!(parse_rfc3339("２０２３-11-14T22:13:20+08:00"), None);
    }
}
