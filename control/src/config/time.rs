//! IOS XR key lifetime times (`hh:mm:ss day month year` or `hh:mm:ss month day year`) to and from
//! Unix seconds, in UTC.

/// The years a lifetime may use.
pub const YEAR_MIN: i64 = 1970;
pub const YEAR_MAX: i64 = 2099;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1-12, day 1-31) of a day count since 1970-01-01, proleptic Gregorian
/// (H. Hinnant's `civil_from_days`). The one place the crate turns days into dates (config
/// times, the show views' times, syslog timestamps).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A month from its name or an unambiguous prefix of at least three letters, in any case.
fn month(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&w))
        .map(|i| i as u32 + 1)
}

/// Why a lifetime time did not parse. The `Display` text is the `problem` of the `lifetime`
/// syntax error the parser reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("a time is `hh:mm:ss day month year`")]
    Arity,
    #[error("time `{0}` is not hh:mm:ss")]
    NotHms(String),
    #[error("time `{0}` is not a valid hh:mm:ss (00:00:00 to 23:59:59)")]
    HmsRange(String),
    #[error("no month name in `{0} {1}`")]
    NoMonth(String, String),
    #[error("year `{0}` is not {YEAR_MIN} to {YEAR_MAX}")]
    Year(String),
    #[error("day `{day}` is not 1 to {days} for {month} {year}")]
    Day {
        day: String,
        days: u32,
        month: &'static str,
        year: i64,
    },
}

/// Unix seconds of `hh:mm:ss` and a date given as three words, `day month year` (as the guide
/// writes it: `05:00:00 01 January 2015`) or `month day year` (as a running-config shows it:
/// `05:00:00 january 01 2015`). Months are names or 3+-letter prefixes, in any case.
pub fn parse_time(words: &[&str]) -> Result<u64, TimeError> {
    let [hms, a, b, year] = words else {
        return Err(TimeError::Arity);
    };
    let parts: Vec<&str> = hms.split(':').collect();
    let [h, m, s] = parts[..] else {
        return Err(TimeError::NotHms(hms.to_string()));
    };
    let field = |t: &str, max: u32| -> Option<u32> {
        if t.is_empty() || t.len() > 2 || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse::<u32>().ok().filter(|&v| v <= max)
    };
    let (Some(h), Some(m), Some(s)) = (field(h, 23), field(m, 59), field(s, 59)) else {
        return Err(TimeError::HmsRange(hms.to_string()));
    };
    let (day_word, mon) = if let Some(mo) = month(a) {
        (*b, mo)
    } else if let Some(mo) = month(b) {
        (*a, mo)
    } else {
        return Err(TimeError::NoMonth(a.to_string(), b.to_string()));
    };
    let year: i64 = match year.parse() {
        Ok(y) if (YEAR_MIN..=YEAR_MAX).contains(&y) => y,
        _ => return Err(TimeError::Year(year.to_string())),
    };
    let day: u32 = match day_word.parse() {
        Ok(d) if d >= 1 && d <= days_in_month(year, mon) => d,
        _ => {
            return Err(TimeError::Day {
                day: day_word.to_string(),
                days: days_in_month(year, mon),
                month: MONTHS[mon as usize - 1],
                year,
            })
        }
    };
    let days = days_from_civil(year, mon, day);
    Ok(days as u64 * 86_400 + u64::from(h) * 3600 + u64::from(m) * 60 + u64::from(s))
}

/// A Unix time as a running-config writes it: `05:00:00 january 01 2015` (UTC).
pub fn format_time(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{:02}:{:02}:{:02} {} {:02} {}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        MONTHS[m as usize - 1],
        d,
        y
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(parse_time(&["00:00:00", "01", "january", "1970"]), Ok(0));
        assert_eq!(
            parse_time(&["05:00:00", "01", "January", "2015"]),
            Ok(1_420_088_400)
        );
        assert_eq!(parse_time(&["05:00:00", "jan", "01", "2015"]), Ok(1_420_088_400));
        assert_eq!(parse_time(&["23:59:59", "29", "feb", "2024"]), Ok(1_709_251_199));
        for t in [0, 1_420_088_400, 1_709_251_199, 4_102_444_799] {
            let s = format_time(t);
            let w: Vec<&str> = s.split(' ').collect();
            assert_eq!(parse_time(&w), Ok(t), "{s}");
        }
        assert_eq!(format_time(4_102_444_799), "23:59:59 december 31 2099");
        assert!(parse_time(&["00:00:00", "29", "feb", "2023"]).is_err());
        assert!(parse_time(&["00:00:00", "ju", "1", "2023"]).is_err());
        assert!(parse_time(&["24:00:00", "1", "june", "2023"]).is_err());
    }

    /// The texts the `lifetime` syntax error quotes (they were `String`s before `TimeError`).
    #[test]
    fn error_texts() {
        let text = |w: &[&str]| parse_time(w).unwrap_err().to_string();
        assert_eq!(text(&["00:00:00"]), "a time is `hh:mm:ss day month year`");
        assert_eq!(text(&["5", "1", "june", "2023"]), "time `5` is not hh:mm:ss");
        assert_eq!(
            text(&["24:00:00", "1", "june", "2023"]),
            "time `24:00:00` is not a valid hh:mm:ss (00:00:00 to 23:59:59)"
        );
        assert_eq!(text(&["00:00:00", "ju", "1", "2023"]), "no month name in `ju 1`");
        assert_eq!(
            text(&["00:00:00", "1", "june", "2100"]),
            "year `2100` is not 1970 to 2099"
        );
        assert_eq!(
            text(&["00:00:00", "29", "feb", "2023"]),
            "day `29` is not 1 to 28 for february 2023"
        );
    }
}
