//! Instants in and out. Input: RFC 3339 with seconds optional (`2026-02-10T09:00+07:00`); no
//! offset means Vietnam time; a space where the offset's `+` should be is read as `+` (what a
//! `+` left unencoded in a URL query becomes). Output: RFC 3339 in Vietnam time (UTC+7, no
//! daylight saving), whole seconds.

use chrono::{DateTime, FixedOffset, NaiveDateTime};

/// Vietnam time, UTC+7.
pub const VIETNAM: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(o) => o,
    None => panic!("UTC+7 is a valid offset"),
};

const UTC: FixedOffset = match FixedOffset::east_opt(0) {
    Some(o) => o,
    None => panic!("UTC is a valid offset"),
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a date and time such as 2026-02-10T09:00+07:00 (RFC 3339; without an offset it is Vietnam time)"
)]
pub struct InstantError(pub String);

/// Parse an instant (see the module doc).
pub fn parse(s: &str) -> Result<DateTime<FixedOffset>, InstantError> {
    let t = s.trim();
    let err = || InstantError(s.to_owned());
    let (local, offset) = split_offset(t).unwrap_or((t, VIETNAM));
    let local = local_time(local).ok_or_else(err)?;
    local.and_local_timezone(offset).single().ok_or_else(err)
}

/// `…Z`, `…+07:00`, `…-05:30` or `… 07:00`, when what precedes is a date and a time.
fn split_offset(t: &str) -> Option<(&str, FixedOffset)> {
    if let Some(local) = t.strip_suffix(['Z', 'z']) {
        return Some((local, UTC));
    }
    let cut = t.len().checked_sub(6)?;
    let (local, off) = (t.get(..cut)?, t.get(cut..)?.as_bytes());
    let sign = match off[0] {
        b'+' | b' ' => 1,
        b'-' => -1,
        _ => return None,
    };
    let two = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit())
            .then(|| i32::from(a - b'0') * 10 + i32::from(b - b'0'))
    };
    let (h, m) = (two(off[1], off[2])?, two(off[4], off[5])?);
    if off[3] != b':' || local.len() < 16 || h > 23 || m > 59 {
        return None;
    }
    Some((local, FixedOffset::east_opt(sign * (h * 3600 + m * 60))?))
}

fn local_time(s: &str) -> Option<NaiveDateTime> {
    let mut norm = s.to_owned();
    if matches!(norm.as_bytes().get(10), Some(b't' | b' ')) {
        norm.replace_range(10..11, "T");
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&norm, f).ok())
}

/// RFC 3339 in Vietnam time, e.g. `2026-03-06T17:00:00+07:00`.
pub fn format(t: &DateTime<FixedOffset>) -> String {
    t.with_timezone(&VIETNAM)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let want = "2026-02-10T09:00:00+07:00";
        for s in [
            "2026-02-10T09:00+07:00",
            "2026-02-10T09:00:00+07:00",
            "2026-02-10 09:00:00+07:00",
            "2026-02-10T09:00 07:00",
            "2026-02-10T02:00:00Z",
            "2026-02-10T02:00:00.000z",
            "2026-02-09T21:00:00-05:00",
            "2026-02-10T09:00",
            "2026-02-10 09:00",
            "  2026-02-10T09:00:00  ",
        ] {
            let t = parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(format(&t), want, "{s}");
        }
        let frac = parse("2026-02-10T09:00:00.25+07:00").unwrap();
        assert_eq!(frac.timestamp_subsec_millis(), 250);
    }

    #[test]
    fn refused_forms() {
        for s in [
            "",
            "2026-02-10",
            "2026-02-30T09:00+07:00",
            "2026-02-10T25:00+07:00",
            "2026-02-10T09:00+24:00",
            "10/02/2026 09:00",
            "tomorrow",
            "2026-02-10T09:00+0700",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
    }
}
