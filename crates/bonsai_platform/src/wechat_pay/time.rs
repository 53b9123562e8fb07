//! Times as WeChat Pay writes them: RFC 3339 in Beijing time
//! (`2018-06-08T10:34:56+08:00`), and the date digits its ids start with.
//! The calendar arithmetic is shared with Alipay's (`crate::civil_time`).

use crate::civil_time::{self, days_from_civil, days_in_month};

const DAY_SECS: i64 = 86_400;

fn beijing(millis: i64) -> civil_time::Civil {
    civil_time::of_millis(millis)
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
        || day > days_in_month(year, month)?
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
    let days = days_from_civil(year, month, day);
    let secs = days * DAY_SECS + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1000 + millis)
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
