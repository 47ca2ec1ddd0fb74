//! The proleptic Gregorian calendar as day numbers (days since 1970-01-01): the one place
//! that turns dates into days and back, shared by the checker, the environment's time
//! features and the command line.

/// Days since 1970-01-01 of a (valid) civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The civil date `(year, month, day)` of a day number.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// The year a day number falls in.
pub fn year_of(days: i64) -> i64 {
    civil_from_days(days).0
}

/// The day number of 1 January of `y`.
pub fn year_start(y: i64) -> i64 {
    days_from_civil(y, 1, 1)
}

/// `YYYY-MM-DD` of a day number.
pub fn civil_text(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD` of day `day` (0 = 1 January) of `year`.
pub fn date_of(year: i32, day: u32) -> String {
    civil_text(year_start(year as i64) + day as i64)
}

/// 0 = Monday.
pub fn weekday(days: i64) -> u32 {
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    ((days + 3).rem_euclid(7)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2023, 1, 1), 19358);
        for z in [0, 19358, 19722, -1, 11016] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(civil_text(19358), "2023-01-01");
        assert_eq!(date_of(2024, 59), "2024-02-29");
        // 2023-01-01 was a Sunday, 2023-01-02 a Monday.
        assert_eq!(weekday(19358), 6);
        assert_eq!(weekday(19359), 0);
    }
}
