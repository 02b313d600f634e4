//! A synthetic population: deterministic from a seed, a few thousand invented people in
//! households, with IDs whose structure agrees with their birth year and sex. The first person
//! is the one of the domain samples (`099188000123`, ĐỖ THỊ THỬ, 1988-07-15).

use crate::id::century_digit;
use lienthong_contract::citizen::{Address, Citizen, HouseholdHead, Relative};
use std::collections::HashMap;

/// splitmix64: small, deterministic, good enough for invented data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const FAMILY: &[&str] = &[
    "NGUYỄN", "TRẦN", "LÊ", "PHẠM", "HOÀNG", "HUỲNH", "PHAN", "VŨ", "VÕ", "ĐẶNG", "BÙI", "ĐỖ",
    "HỒ", "NGÔ", "DƯƠNG", "LÝ", "ĐINH", "TRỊNH", "LƯƠNG", "MAI",
];
const MIDDLE_M: &[&str] = &[
    "VĂN", "ĐỨC", "MINH", "HỮU", "QUANG", "THANH", "CÔNG", "XUÂN",
];
const MIDDLE_F: &[&str] = &["THỊ", "NGỌC", "THU", "THANH", "MINH", "KIM", "BẢO", "HỒNG"];
const GIVEN_M: &[&str] = &[
    "AN", "BÌNH", "CƯỜNG", "DŨNG", "ĐẠT", "HẢI", "HÙNG", "KHÁNH", "LONG", "NAM", "PHÚC", "QUÂN",
    "SƠN", "THẮNG", "TUẤN", "VIỆT", "HIẾU", "TRUNG",
];
const GIVEN_F: &[&str] = &[
    "ANH", "CHI", "GIANG", "HÀ", "HẠNH", "HOA", "HƯƠNG", "LAN", "LINH", "MAI", "NGA", "PHƯƠNG",
    "THẢO", "THƯ", "TRANG", "YẾN", "NHUNG", "VY",
];
const STREETS: &[&str] = &[
    "ĐƯỜNG GIẢ LẬP",
    "NGÕ THỬ NGHIỆM",
    "ĐƯỜNG MẪU",
    "PHỐ VÍ DỤ",
    "ĐƯỜNG KIỂM THỬ",
];
/// Province codes of birth registration used for invented people: the sandbox's `099` (not a
/// real prefix) and a few real ones.
pub const PROVINCES: &[&str] = &["099", "099", "099", "001", "079", "031", "048"];

/// The invented population, by ID number.
pub struct Population {
    pub people: Vec<Citizen>,
    by_id: HashMap<String, usize>,
}

impl Population {
    pub fn get(&self, id: &str) -> Option<&Citizen> {
        self.by_id.get(id).map(|i| &self.people[*i])
    }

    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// `n` people (at least the sample person) from `seed`.
    pub fn generate(seed: u64, n: usize) -> Population {
        let mut rng = Rng(seed);
        let mut people = vec![sample_person()];
        let mut seq = 1000u32;
        while people.len() < n {
            let size = 1 + rng.below(4);
            let province = rng.pick(PROVINCES);
            let addr = address(&mut rng, province);
            let book = format!("{}{:09}", &province[1..], 100_000 + people.len());
            let mut head: Option<HouseholdHead> = None;
            for k in 0..size {
                if people.len() >= n {
                    break;
                }
                seq += 1;
                let mut c = person(&mut rng, province, seq, &addr, k);
                c.household_book = Some(book.clone());
                let h = head.get_or_insert_with(|| HouseholdHead {
                    relation: None,
                    id_number: Some(c.id_number.clone()),
                    old_id_number: c.old_id_number.clone(),
                    full_name: Some(c.full_name.clone()),
                });
                c.household_head = Some(HouseholdHead {
                    relation: Some(
                        match k {
                            0 => "CH01",
                            1 => "CH02",
                            _ => "CH03",
                        }
                        .into(),
                    ),
                    ..h.clone()
                });
                people.push(c);
            }
        }
        let by_id = people
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id_number.clone(), i))
            .collect();
        Population { people, by_id }
    }
}

fn address(rng: &mut Rng, province: &str) -> Address {
    let p2 = &province[1..];
    let district = format!("{p2}{}", 1 + rng.below(9));
    let commune = format!("{district}{:02}", 1 + rng.below(40));
    Address {
        province_code: Some(p2.to_owned()),
        district_code: Some(district),
        commune_code: Some(commune.clone()),
        detail: Some(format!(
            "SỐ {} {}, PHƯỜNG {commune}, TỈNH VÍ DỤ",
            1 + rng.below(300),
            rng.pick(STREETS)
        )),
        country: Some("VN".into()),
    }
}

fn person(rng: &mut Rng, province: &str, seq: u32, addr: &Address, k: usize) -> Citizen {
    let female = rng.below(2) == 1;
    let year = 1935 + rng.below(85) as i32;
    let month = 1 + rng.below(12) as u32;
    let day = 1 + rng.below(28) as u32;
    let g = century_digit(year, female).unwrap_or(0);
    let id = format!("{province}{g}{:02}{seq:06}", year % 100);
    let family = rng.pick(FAMILY);
    let middle = rng.pick(if female { MIDDLE_F } else { MIDDLE_M });
    let given = rng.pick(if female { GIVEN_F } else { GIVEN_M });
    let full = format!("{family} {middle} {given}");
    // Some records keep the whole name in `Ten` (population.md).
    let (fam, mid, giv) = if k % 3 == 2 {
        (String::new(), String::new(), full.clone())
    } else {
        (family.to_owned(), middle.to_owned(), given.to_owned())
    };
    Citizen {
        old_id_number: (year < 2000).then(|| format!("{}{:07}", &province[1..], seq)),
        id_number: id,
        full_name: full,
        family_name: fam,
        middle_name: mid,
        given_name: giv,
        birth_date: format!("{year:04}-{month:02}-{day:02}"),
        sex_code: if female { "2" } else { "1" }.into(),
        ethnicity_code: Some("01".into()),
        religion_code: Some("00".into()),
        marital_status_code: Some(if year < 1995 { "2" } else { "1" }.into()),
        blood_group_code: Some("00".into()),
        nationality: Some("VN".into()),
        birth_registration: Some(addr.clone()),
        home_town: Some(addr.clone()),
        permanent_address: Some(addr.clone()),
        current_address: Some(addr.clone()),
        father: Some(Relative {
            full_name: Some(format!(
                "{family} {} {}",
                rng.pick(MIDDLE_M),
                rng.pick(GIVEN_M)
            )),
            nationality: Some("VN".into()),
            ..Relative::default()
        }),
        mother: Some(Relative {
            full_name: Some(format!(
                "{} {} {}",
                rng.pick(FAMILY),
                rng.pick(MIDDLE_F),
                rng.pick(GIVEN_F)
            )),
            nationality: Some("VN".into()),
            ..Relative::default()
        }),
        spouse: None,
        representative: None,
        household_head: None,
        household_book: None,
    }
}

/// The person of `samples/population-037-response.xml`.
fn sample_person() -> Citizen {
    let addr = |detail: &str| Address {
        province_code: Some("99".into()),
        district_code: Some("991".into()),
        commune_code: Some("99101".into()),
        detail: Some(detail.into()),
        country: Some("VN".into()),
    };
    let home = "SỐ 9 NGÕ GIẢ LẬP, PHƯỜNG THỬ NGHIỆM, TỈNH VÍ DỤ";
    let relative = |name: &str| Relative {
        full_name: Some(name.into()),
        nationality: Some("VN".into()),
        ..Relative::default()
    };
    Citizen {
        id_number: "099188000123".into(),
        old_id_number: Some("990000123".into()),
        full_name: "ĐỖ THỊ THỬ".into(),
        family_name: String::new(),
        middle_name: String::new(),
        given_name: "ĐỖ THỊ THỬ".into(),
        birth_date: "1988-07-15".into(),
        sex_code: "2".into(),
        ethnicity_code: Some("01".into()),
        religion_code: Some("00".into()),
        marital_status_code: Some("1".into()),
        blood_group_code: Some("00".into()),
        nationality: Some("VN".into()),
        birth_registration: Some(addr("PHƯỜNG THỬ NGHIỆM, TỈNH VÍ DỤ")),
        home_town: Some(addr("PHƯỜNG THỬ NGHIỆM, TỈNH VÍ DỤ")),
        permanent_address: Some(addr(home)),
        current_address: Some(addr(home)),
        father: Some(relative("ĐỖ VĂN MẪU")),
        mother: Some(relative("HOÀNG THỊ MẪU")),
        spouse: None,
        representative: None,
        household_head: Some(HouseholdHead {
            relation: Some("CH01".into()),
            id_number: Some("099188000123".into()),
            old_id_number: Some("990000123".into()),
            full_name: Some("ĐỖ THỊ THỬ".into()),
        }),
        household_book: Some("990000000123".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_unique_and_consistent() {
        let a = Population::generate(7, 3000);
        let b = Population::generate(7, 3000);
        assert_eq!(a.len(), 3000);
        assert_eq!(a.people, b.people);
        assert_eq!(a.by_id.len(), 3000, "IDs are unique");
        for c in &a.people {
            let year: i32 = c.birth_date[..4].parse().unwrap();
            crate::id::check(&c.id_number, None, Some(year)).unwrap();
            assert_eq!(
                crate::id::parts(&c.id_number).unwrap().female,
                c.sex_code == "2"
            );
        }
        assert_eq!(a.get("099188000123").unwrap().full_name, "ĐỖ THỊ THỬ");
    }
}
