//! An uploaded package: read from the request under a size limit, hashed as it arrives, kept in
//! memory when small and spooled to a file when large, so memory per request stays bounded.

use axum::body::Body;
use http_body_util::BodyExt;
use std::io::{BufRead, BufReader, Cursor, Write};
use std::path::{Path, PathBuf};

/// Bodies up to this size stay in memory.
const IN_MEMORY: usize = 1 << 20;

pub enum Spooled {
    Memory(Vec<u8>),
    /// A spool file, removed when this is dropped.
    File { path: PathBuf, len: u64 },
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    TooLarge(u64),
    /// The client went away or sent a broken body (truncated upload, reset).
    Broken(String),
    Spool(String),
}

pub struct Upload {
    pub body: Spooled,
    pub sha256: String,
    pub len: u64,
}

impl Spooled {
    pub fn reader(&self) -> std::io::Result<Box<dyn BufRead + Send + '_>> {
        Ok(match self {
            Spooled::Memory(v) => Box::new(Cursor::new(&v[..])),
            Spooled::File { path, .. } => {
                Box::new(BufReader::with_capacity(64 * 1024, std::fs::File::open(path)?))
            }
        })
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        if let Spooled::File { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Read `body` (at most `limit` bytes), hashing it; spill to `spool_dir` past 1 MiB.
pub async fn receive(body: Body, limit: u64, spool_dir: &Path) -> Result<Upload, BodyError> {
    let mut body = body;
    let mut hasher = openssl::sha::Sha256::new();
    let mut mem: Vec<u8> = Vec::new();
    let mut file: Option<(std::fs::File, Spooled)> = None;
    let mut len: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            let mut s: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(x) = s {
                if x.is::<http_body_util::LengthLimitError>() {
                    return BodyError::TooLarge(limit);
                }
                s = x.source();
            }
            BodyError::Broken(e.to_string())
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        len += data.len() as u64;
        if len > limit {
            return Err(BodyError::TooLarge(limit));
        }
        hasher.update(&data);
        match &mut file {
            Some((f, _)) => f
                .write_all(&data)
                .map_err(|e| BodyError::Spool(e.to_string()))?,
            None if mem.len() + data.len() <= IN_MEMORY => mem.extend_from_slice(&data),
            None => {
                std::fs::create_dir_all(spool_dir).map_err(|e| BodyError::Spool(e.to_string()))?;
                let path = spool_dir.join(format!("upload-{}", crate::edge::request_id::generate()));
                let mut f = std::fs::File::create(&path).map_err(|e| BodyError::Spool(e.to_string()))?;
                let res = f.write_all(&mem).and_then(|_| f.write_all(&data));
                mem = Vec::new();
                // The Spooled guard removes the file on every early return from here on.
                file = Some((f, Spooled::File { path, len: 0 }));
                res.map_err(|e| BodyError::Spool(e.to_string()))?;
            }
        }
    }
    let sha256 = hex::encode(hasher.finish());
    let body = match file {
        Some((f, mut spooled)) => {
            drop(f);
            if let Spooled::File { len: l, .. } = &mut spooled {
                *l = len;
            }
            spooled
        }
        None => Spooled::Memory(mem),
    };
    Ok(Upload { body, sha256, len })
}
