//! Civil (calendar) time: Beijing time, which both payment vendors write
//! their times in (UTC+8 all year, no daylight saving), and UTC for people.
//! A few lines of proleptic Gregorian arithmetic (Howard Hinnant's
//! `civil_from_days` / `days_from_civil`) rather than a date crate, because
//! the vendors' fixed shapes are all the platform needs; `wechat_pay::time`
//! and `alipay::time` format and parse them.

pub(crate) const OFFSET_MS: i64 = 8 * 3600 * 1000;
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Broken-down civil time of a Unix millisecond.
pub(crate) struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub millis: i64,
}

/// Beijing time.
pub(crate) fn of_millis(millis: i64) -> Civil {
    civil(millis + OFFSET_MS)
}

/// `2023-11-14 22:13:20` (UTC), for logs and the command line.
pub fn utc(millis: i64) -> String {
    let t = civil(millis);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

fn civil(local: i64) -> Civil {
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

/// Days in `month` (1–12) of `year`; `None` for a month that isn't one.
pub(crate) fn days_in_month(year: i64, month: i64) -> Option<i64> {
    let leap = (year.rem_euclid(4) == 0 && year.rem_euclid(100) != 0) || year.rem_euclid(400) == 0;
    match month {
        2 if leap => Some(29),
        2 => Some(28),
        4 | 6 | 9 | 11 => Some(30),
        1..=12 => Some(31),
        _ => None,
    }
}

/// Days since 1970-01-01 → (year, month, day).
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

/// The inverse of [`civil_from_days`].
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(utc(-1000), "1969-12-31 23:59:59");
    }
}
