//! VNPT's SDK zips each file before base64-encoding it (`ContentType=application/zip`, an
//! `AttachmentName` that does not end in `.zip`); receivers take the first entry. Unzipping is
//! bounded: entry count, entry names (no paths), decoded size and compression ratio.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy)]
pub struct UnzipLimits {
    pub max_entries: usize,
    pub max_bytes: u64,
    pub max_ratio: u64,
}

impl Default for UnzipLimits {
    fn default() -> Self {
        UnzipLimits {
            max_entries: 16,
            max_bytes: 512 << 20,
            max_ratio: 1000,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum UnzipError {
    NotZip(String),
    Empty,
    TooManyEntries(usize),
    BadEntryName(String),
    TooLarge,
    Ratio,
    Io(String),
}

/// Unzip the first file entry of `zip` into `dir`. Returns (path, size, SHA-256 hex, entry name).
pub fn first_entry(
    zip: &Path,
    dir: &Path,
    limits: UnzipLimits,
) -> Result<(PathBuf, u64, String, String), UnzipError> {
    let io = |e: std::io::Error| UnzipError::Io(e.to_string());
    let f = std::fs::File::open(zip).map_err(io)?;
    let mut archive = zip::ZipArchive::new(f).map_err(|e| UnzipError::NotZip(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(UnzipError::TooManyEntries(archive.len()));
    }
    let index = (0..archive.len())
        .find(|i| {
            archive
                .by_index_raw(*i)
                .map(|e| e.is_file())
                .unwrap_or(false)
        })
        .ok_or(UnzipError::Empty)?;
    let mut entry = archive
        .by_index(index)
        .map_err(|e| UnzipError::NotZip(e.to_string()))?;
    let name = entry
        .name()
        .map_err(|e| UnzipError::BadEntryName(e.to_string()))?
        .into_owned();
    if name.contains("..") || name.starts_with('/') || name.contains('\\') || name.contains(':') {
        return Err(UnzipError::BadEntryName(name));
    }
    let compressed = entry.compressed_size().max(1);
    let out_path = dir.join(format!("{}.att", crate::edge::request_id::generate()));
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&out_path)
        .map_err(io)?;
    let mut hasher = openssl::sha::Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    let result = (|| {
        loop {
            // Trust no header: count what really comes out.
            let n = entry.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > limits.max_bytes {
                return Err(UnzipError::TooLarge);
            }
            if size / compressed > limits.max_ratio && size > 1 << 20 {
                return Err(UnzipError::Ratio);
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io)?;
        }
        out.sync_all().map_err(io)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&out_path);
        return Err(e);
    }
    Ok((out_path, size, hex::encode(hasher.finish()), name))
}

/// A content type for an unzipped entry, from its name.
pub fn content_type_for(name: &str) -> &'static str {
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "txt" => "text/plain",
        "xml" => "application/xml",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}
