//! Times as Alipay writes them: `yyyy-MM-dd HH:mm:ss` in Beijing time
//! (UTC+8 all year), both in what it sends (`gmt_payment`, `notify_time`)
//! and in what it reads (`timestamp`).

const BEIJING_OFFSET_MS: i64 = 8 * 3600 * 1000;
const DAY_MS: i64 = 86_400_000;

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// civil_from_days).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (days_from_civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    millis: i64,
}

fn beijing(millis: i64) -> Civil {
    let local = millis + BEIJING_OFFSET_MS;
    let (year, month, day) = civil_from_days(local.div_euclid(DAY_MS));
    let rem = local.rem_euclid(DAY_MS);
    Civil {
        year,
        month,
        day,
        hour: rem / 3_600_000,
        minute: rem % 3_600_000 / 60_000,
        second: rem % 60_000 / 1000,
        millis: rem % 1000,
    }
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
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
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
