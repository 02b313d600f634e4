//! The personal identification number (*số định danh cá nhân*): 12 digits `PPP G YY NNNNNN` —
//! province of birth registration, sex and century, last two digits of the birth year, sequence
//! (population.md; the structure is from secondary sources). No check digit.

use std::collections::HashSet;

/// What is wrong with an ID number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("not 12 digits")]
    Shape,
    #[error("province code {0} is not in the table")]
    Province(String),
    #[error("digit 4 ({digit}) says born {from}–{to}, not in {year}")]
    Century {
        digit: u8,
        year: i32,
        from: i32,
        to: i32,
    },
    #[error("digits 5–6 ({yy}) are not the last two digits of the birth year {year}")]
    Year { yy: String, year: i32 },
    #[error("birth year {0} cannot be coded (1900–2299)")]
    YearRange(i32),
}

/// The decoded parts of a well-formed ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    pub province: &'a str,
    /// `true` for female (odd century digit).
    pub female: bool,
    /// First year of the century the century digit names (1900, 2000, …).
    pub century: i32,
    pub yy: &'a str,
}

/// Split a 12-digit ID into its parts, or say why it is not one.
pub fn parts(id: &str) -> Result<Parts<'_>, IdError> {
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::Shape);
    }
    let g = id.as_bytes()[3] - b'0';
    Ok(Parts {
        province: &id[..3],
        female: g % 2 == 1,
        century: 1900 + 100 * i32::from(g / 2),
        yy: &id[4..6],
    })
}

/// The century/sex digit for someone born in `year`.
pub fn century_digit(year: i32, female: bool) -> Result<u8, IdError> {
    if !(1900..2300).contains(&year) {
        return Err(IdError::YearRange(year));
    }
    Ok(((year - 1900) / 100 * 2) as u8 + u8::from(female))
}

/// Check an ID: shape, province in `provinces` (when given), century digit and year digits
/// against `birth_year` (when given).
pub fn check<'a>(
    id: &'a str,
    provinces: Option<&HashSet<String>>,
    birth_year: Option<i32>,
) -> Result<Parts<'a>, IdError> {
    let p = parts(id)?;
    if let Some(table) = provinces {
        if !table.contains(p.province) {
            return Err(IdError::Province(p.province.to_owned()));
        }
    }
    if let Some(year) = birth_year {
        if !(p.century..p.century + 100).contains(&year) {
            return Err(IdError::Century {
                digit: id.as_bytes()[3] - b'0',
                year,
                from: p.century,
                to: p.century + 99,
            });
        }
        if p.yy != format!("{:02}", year % 100) {
            return Err(IdError::Year {
                yy: p.yy.to_owned(),
                year,
            });
        }
    }
    Ok(p)
}

/// Province codes (first three digits) of the 63 provinces as used in ID numbers before the 2025
/// merger. The deployment's table (`citizens.province_codes`) replaces it.
pub const PROVINCE_CODES: &[&str] = &[
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020",
    "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038",
    "040", "042", "044", "045", "046", "048", "049", "051", "052", "054", "056", "058", "060",
    "062", "064", "066", "067", "068", "070", "072", "074", "075", "077", "079", "080", "082",
    "083", "084", "086", "087", "089", "091", "092", "093", "094", "095", "096",
];

/// An ID with all but the province code and the last two digits hidden, for logs.
pub fn mask(id: &str) -> String {
    let n = id.chars().count();
    if n < 6 {
        return "*".repeat(n);
    }
    id.chars()
        .enumerate()
        .map(|(i, c)| if i < 3 || i >= n - 2 { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure() {
        let table: HashSet<String> = ["099".to_owned()].into();
        assert!(check("099188000123", Some(&table), Some(1988)).is_ok());
        assert_eq!(check("09918800012", None, None), Err(IdError::Shape));
        assert_eq!(check("09918800012a", None, None), Err(IdError::Shape));
        assert_eq!(
            check("001188000123", Some(&table), None),
            Err(IdError::Province("001".into()))
        );
        assert!(matches!(
            check("099188000123", None, Some(2088)),
            Err(IdError::Century { .. })
        ));
        assert!(matches!(
            check("099188000123", None, Some(1987)),
            Err(IdError::Year { .. })
        ));
        assert!(check("099305000001", None, Some(2005)).unwrap().female);
        assert_eq!(century_digit(2005, true), Ok(3));
        assert_eq!(century_digit(1960, false), Ok(0));
        assert_eq!(mask("099188000123"), "099*******23");
    }
}
