//! Streaming base64 decoding into a file: whitespace ignored, input in any chunking, SHA-256
//! and size computed on the way, a size cap enforced as bytes arrive.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::io::Write;
use std::path::Path;

#[derive(Debug)]
pub enum Error {
    TooLarge,
    Invalid,
    Io(String),
}

pub struct Base64Sink {
    /// `None`: decode, measure and hash only (a read that inspects and keeps nothing).
    out: Option<std::io::BufWriter<std::fs::File>>,
    /// `None`: no digest wanted (the answer's SHA-256 is then empty).
    hasher: Option<openssl::sha::Sha256>,
    /// Base64 characters not yet decoded (fewer than 4, or a batch being assembled).
    pending: Vec<u8>,
    /// Reused for each batch's decoded bytes.
    decoded: Vec<u8>,
    size: u64,
    max: u64,
    ended: bool,
    sync: bool,
}

impl Base64Sink {
    pub fn create(path: &Path, max: u64, sync: bool) -> std::io::Result<Self> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        let mut sink = Self::discard(max);
        sink.out = Some(std::io::BufWriter::with_capacity(64 * 1024, f));
        sink.sync = sync;
        Ok(sink)
    }

    /// A sink that checks, measures and hashes the decoded bytes without writing them anywhere.
    pub fn discard(max: u64) -> Self {
        Base64Sink {
            out: None,
            hasher: Some(openssl::sha::Sha256::new()),
            pending: Vec::new(),
            decoded: Vec::new(),
            sync: false,
            size: 0,
            max,
            ended: false,
        }
    }

    /// The same sink, computing no digest (a check that only needs validity and size).
    pub fn without_digest(mut self) -> Self {
        self.hasher = None;
        self
    }

    fn emit(&mut self, quads: usize) -> Result<(), Error> {
        if quads == 0 {
            return Ok(());
        }
        if self.ended {
            return Err(Error::Invalid); // data after padding
        }
        let chunk = &self.pending[..quads];
        if chunk.ends_with(b"=") {
            self.ended = true;
        }
        self.decoded.resize(quads / 4 * 3, 0);
        let n = STANDARD
            .decode_slice(chunk, &mut self.decoded)
            .map_err(|_| Error::Invalid)?;
        self.pending.drain(..quads);
        let decoded = &self.decoded[..n];
        self.size += n as u64;
        if self.size > self.max {
            return Err(Error::TooLarge);
        }
        if let Some(h) = &mut self.hasher {
            h.update(decoded);
        }
        match &mut self.out {
            Some(out) => out.write_all(decoded).map_err(|e| Error::Io(e.to_string())),
            None => Ok(()),
        }
    }

    pub fn write(&mut self, text: &str) -> Result<(), Error> {
        let bytes = text.as_bytes();
        if bytes.iter().any(u8::is_ascii_whitespace) {
            // Line-wrapped base64: copy the runs between the breaks.
            for run in bytes.split(u8::is_ascii_whitespace) {
                self.pending.extend_from_slice(run);
            }
        } else {
            self.pending.extend_from_slice(bytes);
        }
        let quads = self.pending.len() / 4 * 4;
        self.emit(quads)
    }

    /// Finish: returns (decoded size, SHA-256 hex, empty when [`Base64Sink::without_digest`]).
    pub fn finish(mut self) -> Result<(u64, String), Error> {
        if !self.pending.is_empty() {
            return Err(Error::Invalid);
        }
        if let Some(out) = &mut self.out {
            out.flush().map_err(|e| Error::Io(e.to_string()))?;
            if self.sync {
                out.get_ref().sync_all().map_err(|e| Error::Io(e.to_string()))?;
            }
        }
        Ok((self.size, self.hasher.map(|h| hex::encode(h.finish())).unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_chunking_same_bytes() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
        let b64 = STANDARD.encode(&data);
        let dir = tempfile::tempdir().unwrap();
        for step in [1, 3, 5, 64, 4096] {
            let p = dir.path().join(format!("{step}"));
            let mut s = Base64Sink::create(&p, 1 << 20, true).unwrap();
            for (i, chunk) in b64.as_bytes().chunks(step).enumerate() {
                let mut c = String::from_utf8(chunk.to_vec()).unwrap();
                if i % 7 == 0 {
                    c.push_str("\r\n");
                }
                s.write(&c).unwrap();
            }
            let (size, _) = s.finish().unwrap();
            assert_eq!(size, 1000);
            assert_eq!(std::fs::read(&p).unwrap(), data);
        }
        let p = dir.path().join("big");
        let mut s = Base64Sink::create(&p, 10, true).unwrap();
        assert!(matches!(s.write(&b64), Err(Error::TooLarge)));
        let p = dir.path().join("bad");
        let mut s = Base64Sink::create(&p, 1 << 20, true).unwrap();
        assert!(matches!(s.write("ab!d"), Err(Error::Invalid)));
        // Padding ends the data, whether the rest comes in the same write or a later one.
        let mut s = Base64Sink::discard(1 << 20);
        assert!(matches!(s.write("QQ==QUJD"), Err(Error::Invalid)));
        let mut s = Base64Sink::discard(1 << 20);
        s.write("QQ==").unwrap();
        assert!(matches!(s.write("QUJD"), Err(Error::Invalid)));
    }

    /// Line-wrapped input with any line breaks decodes to the same size and digest; without a
    /// digest only the size is given, and invalid input is still refused.
    #[test]
    fn wrapped_input_and_no_digest() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 13 % 256) as u8).collect();
        let b64 = STANDARD.encode(&data);
        let wrapped: String = b64
            .as_bytes()
            .chunks(76)
            .map(|l| format!("{}\r\n \t", std::str::from_utf8(l).unwrap()))
            .collect();
        let mut a = Base64Sink::discard(1 << 20);
        a.write(&wrapped[..1001]).unwrap();
        a.write(&wrapped[1001..]).unwrap();
        assert_eq!(a.finish().unwrap(), (3000, hex::encode(openssl::sha::sha256(&data))));
        let mut b = Base64Sink::discard(1 << 20).without_digest();
        b.write(&wrapped).unwrap();
        assert_eq!(b.finish().unwrap(), (3000, String::new()));
        let mut c = Base64Sink::discard(1 << 20).without_digest();
        assert!(matches!(c.write("QUJD\nQ*=="), Err(Error::Invalid)));
    }
}
