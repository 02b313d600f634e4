//! Canonicalization agrees byte for byte with libxml2 (`xmllint --c14n` / `--exc-c14n`) on a
//! corpus of tricky documents (tests/data/c14n) and the shared edXML samples, with and without
//! comments. libxml2-utils must be installed (`.ci/run` does); a missing oracle fails the test.

use lienthong::dsig::c14n::{canonicalize, Algorithm};
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("tests/data/c14n"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    for s in ["edoc-new.edxml", "status-03.edxml"] {
        let p = root.join("../shared/domain/samples").join(s);
        assert!(
            p.exists(),
            "shared sample {} missing (../shared must sit beside the repository)",
            p.display()
        );
        files.push(p);
    }
    files.sort();
    assert!(files.len() >= 12, "corpus too small: {files:?}");
    files
}

fn xmllint(flag: &str, file: &Path) -> Vec<u8> {
    let out = Command::new("xmllint")
        .arg(flag)
        .arg(file)
        .output()
        .expect("xmllint not found: install libxml2-utils (the oracle for these tests)");
    assert!(
        out.status.success(),
        "xmllint {flag} {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn strip_comments(doc: &[u8]) -> Vec<u8> {
    let s = String::from_utf8(doc.to_vec()).unwrap();
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("-->").unwrap() + i + 3;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.into_bytes()
}

fn compare(ours: &[u8], theirs: &[u8], what: &str) {
    if ours != theirs {
        let o = String::from_utf8_lossy(ours);
        let t = String::from_utf8_lossy(theirs);
        let at = o.chars().zip(t.chars()).take_while(|(a, b)| a == b).count();
        panic!(
            "{what}: differs from libxml2 at char {at}\n--- ours ---\n{o}\n--- xmllint ---\n{t}"
        );
    }
}

#[test]
fn agrees_with_libxml2_on_the_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for file in corpus() {
        let doc = std::fs::read(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // With comments: xmllint's --c14n and --exc-c14n keep them.
        for (flag, alg) in [
            ("--c14n", Algorithm::C14nWithComments),
            ("--exc-c14n", Algorithm::ExcC14nWithComments),
        ] {
            let ours = canonicalize(&doc, alg, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            compare(&ours, &xmllint(flag, &file), &format!("{name} {flag}"));
            checked += 1;
        }
        // Without comments: the oracle sees the document with its comments removed.
        let stripped = tmp.path().join(&name);
        std::fs::write(&stripped, strip_comments(&doc)).unwrap();
        for (flag, alg) in [
            ("--c14n", Algorithm::C14n),
            ("--exc-c14n", Algorithm::ExcC14n),
        ] {
            let ours = canonicalize(&doc, alg, &[]).unwrap();
            compare(
                &ours,
                &xmllint(flag, &stripped),
                &format!("{name} {flag} (no comments)"),
            );
            checked += 1;
        }
    }
    assert!(checked >= 48, "{checked}");
}
