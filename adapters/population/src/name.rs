//! The name form the population database compares (population.md, confirmed): `Đ`/`đ` → `D`/`d`,
//! NFD with combining marks dropped, everything outside `A–Z a–z 0–9` removed (spaces too),
//! upper case. `Đỗ Thị Thử` → `DOTHITHU`.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The normalised form of a full name.
pub fn normalise(full_name: &str) -> String {
    full_name
        .chars()
        .map(|c| match c {
            'Đ' | 'đ' | 'Ɖ' | 'ɖ' => 'D',
            c => c,
        })
        .nfd()
        .filter(|c| !is_combining_mark(*c) && c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_from_the_domain_notes() {
        assert_eq!(normalise("Đỗ Thị Thử"), "DOTHITHU");
        assert_eq!(normalise("Nguyễn Văn An"), "NGUYENVANAN");
        assert_eq!(normalise("  đỗ  thị-thử. "), "DOTHITHU");
        assert_eq!(normalise("ĐỖ THỊ THỬ"), "DOTHITHU");
        // Precomposed and decomposed input give the same form.
        assert_eq!(normalise("Nguye\u{302}\u{303}n"), "NGUYEN");
        assert_eq!(normalise("Hoàng Ngọc Ánh"), "HOANGNGOCANH");
    }
}
