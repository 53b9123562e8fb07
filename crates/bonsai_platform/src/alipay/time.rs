//! Times as Alipay writes them: `yyyy-MM-dd HH:mm:ss` in Beijing time
//! (UTC+8 all year), both in what it sends (`gmt_payment`, `notify_time`)
//! and in what it reads (`timestamp`).

use crate::civil_time::{self, DAY_MS, OFFSET_MS as BEIJING_OFFSET_MS, days_from_civil};

fn beijing(millis: i64) -> civil_time::Civil {
    civil_time::of_millis(millis)
}

/// `2024-05-01 15:01:02`.
pub(crate) fn format(millis: i64) -> String {
    let t = beijing(millis);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `2024-05-01 15:01:02.345`, as `gmt_refund` is written.
pub(crate) fn format_with_millis(millis: i64) -> String {
    format!("{}.{:03}", format(millis), beijing(millis).millis)
}

/// `20240501`: the date trade numbers start with.
pub(crate) fn date_digits(millis: i64) -> String {
    let t = beijing(millis);
    format!("{:04}{:02}{:02}", t.year, t.month, t.day)
}

/// The first millisecond of the next Beijing day.
pub(crate) fn end_of_day(millis: i64) -> i64 {
    let local = millis + BEIJING_OFFSET_MS;
    (local.div_euclid(DAY_MS) + 1) * DAY_MS - BEIJING_OFFSET_MS
}

fn digits(text: &str, len: usize) -> Option<i64> {
    if text.len() != len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The milliseconds of a `yyyy-MM-dd HH:mm:ss` Beijing time, or `None`
/// when the text is not one (wrong shape, month 13, February 30…).
pub(crate) fn parse(text: &str) -> Option<i64> {
    let (date, time) = text.split_once(' ')?;
    let mut date = date.split('-');
    let (year, month, day) = (
        digits(date.next()?, 4)?,
        digits(date.next()?, 2)?,
        digits(date.next()?, 2)?,
    );
    let mut time = time.split(':');
    let (hour, minute, second) = (
        digits(time.next()?, 2)?,
        digits(time.next()?, 2)?,
        digits(time.next()?, 2)?,
    );
    if date.next().is_some() || time.next().is_some() {
        return None;
    }
    let month_days = civil_time::days_in_month(year, month)?;
    if !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 - BEIJING_OFFSET_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_times_round_trip() {
        // 2023-11-14T22:13:20Z is 2023-11-15 06:13:20 in Beijing.
        let t = 1_700_000_000_000;
        assert_eq!(format(t), "2023-11-15 06:13:20");
        assert_eq!(format_with_millis(t + 7), "2023-11-15 06:13:20.007");
        assert_eq!(date_digits(t), "20231115");
        assert_eq!(parse("2023-11-15 06:13:20"), Some(t));
        assert_eq!(
            end_of_day(t),
            parse("2023-11-16 00:00:00").unwrap_or_default()
        );
        assert_eq!(
            parse("2024-02-29 00:00:00").map(format).as_deref(),
            Some("2024-02-29 00:00:00")
        );
        for bad in [
            "2023-02-29 00:00:00",
            "2023-11-15T06:13:20",
            "2023-11-15 24:00:00",
            "2023-1-15 06:13:20",
            "2023-11-15 06:13",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
