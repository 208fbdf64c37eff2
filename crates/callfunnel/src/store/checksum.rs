//! The store's checksum: a hash of every byte of a store file as `convert`
//! wrote it, kept in the file's own metadata, so that a file changed on disk
//! afterwards (a bad sector, a stray write, a copy cut short) is refused
//! before any of it is read, instead of giving wrong figures.
//!
//! The value is the XXH3-64 of the whole file, footer included, with the
//! checksum's own 16 hex digits read as zeros. The writer leaves zeros in
//! their place while the file is written and hashed, then writes the digits
//! over them (same length: the footer stays valid). Checking reads the file
//! once, sequentially, at the speed of the disk.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::rc::Rc;

use xxhash_rust::xxh3::Xxh3;

/// Key of the Parquet key-value metadata entry holding a store file's
/// checksum (16 lower-case hex digits).
pub const STORE_CHECKSUM_KEY: &str = "callfunnel.store.xxh3";

/// The checksum's digits while the file is written and hashed.
const PENDING: &[u8; 16] = b"0000000000000000";

/// Bytes read at a time when a file is checked.
const READ_BYTES: usize = 4 << 20;

/// The metadata entry a store file is written with: the pending digits,
/// replaced by [`Checksum::seal`].
pub(crate) fn pending_entry() -> (String, String) {
    let digits = String::from_utf8_lossy(PENDING).into_owned();
    (STORE_CHECKSUM_KEY.to_string(), digits)
}

/// What has been written so far.
#[derive(Default)]
struct Running {
    hasher: Xxh3,
    written: u64,
    /// Where the footer starts, and its bytes (kept from [`Checksum::footer_follows`]).
    footer: Option<(u64, Vec<u8>)>,
}

/// A writer hashing every byte that passes through it into a [`Checksum`].
pub(crate) struct Summing<W> {
    inner: W,
    running: Rc<RefCell<Running>>,
}

/// The checksum of the bytes written through a [`Summing`] writer.
pub(crate) struct Checksum(Rc<RefCell<Running>>);

/// A writer over `inner` and the checksum it keeps.
pub(crate) fn summing<W: Write>(inner: W) -> (Summing<W>, Checksum) {
    let running = Rc::new(RefCell::new(Running::default()));
    let checksum = Checksum(Rc::clone(&running));
    (Summing { inner, running }, checksum)
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        let mut running = self.running.borrow_mut();
        running.hasher.update(&bytes[..written]);
        running.written += written as u64;
        if let Some((_, footer)) = &mut running.footer {
            footer.extend_from_slice(&bytes[..written]);
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Checksum {
    /// Marks the bytes written from now on as the file's footer, where the
    /// pending digits will be.
    pub fn footer_follows(&self) {
        let mut running = self.0.borrow_mut();
        running.footer = Some((running.written, Vec::new()));
    }

    /// Writes the checksum over the pending digits in the footer. `out` is
    /// the writer the [`Summing`] writer wrapped, once it is released (the
    /// Parquet writer done).
    pub fn seal(self, out: &mut (impl Write + Seek)) -> io::Result<()> {
        let running = self.0.borrow();
        let missing = || io::Error::other("the store's checksum entry was not written");
        let (footer_start, footer) = running.footer.as_ref().ok_or_else(missing)?;
        let offset = digits_offset(footer, PENDING).ok_or_else(missing)?;
        let digits = format!("{:016x}", running.hasher.digest());
        out.seek(SeekFrom::Start(footer_start + offset as u64))?;
        out.write_all(digits.as_bytes())?;
        out.seek(SeekFrom::End(0))?;
        Ok(())
    }
}

/// Where in `footer` the checksum's `digits` are: the first occurrence
/// after the checksum's key.
fn digits_offset(footer: &[u8], digits: &[u8]) -> Option<usize> {
    let key = STORE_CHECKSUM_KEY.as_bytes();
    let after_key = memchr::memmem::find(footer, key)? + key.len();
    memchr::memmem::find(&footer[after_key..], digits).map(|offset| after_key + offset)
}

/// A store file whose bytes are not those its checksum was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// The checksum the file carries.
    pub expected: String,
    /// The checksum of the file as it is.
    pub found: String,
}

/// Checks the store file at `path` against the checksum `expected` its
/// metadata carries; `Ok(Err(_))` when the file was changed since.
pub(crate) fn check(path: &Path, expected: &str) -> io::Result<Result<(), Mismatch>> {
    let mut file = File::open(path)?;
    let found = match digits_position(&mut file, expected)? {
        Some(position) => format!("{:016x}", hash_with_pending(&mut file, position)?),
        None => "none (its checksum entry is damaged)".to_string(),
    };
    if found == expected {
        return Ok(Ok(()));
    }
    Ok(Err(Mismatch {
        expected: expected.to_string(),
        found,
    }))
}

/// The position in `file` of the checksum's `digits` within its footer
/// (the last 8 bytes give the footer's length); `None` when they are not
/// there.
fn digits_position(file: &mut File, digits: &str) -> io::Result<Option<u64>> {
    let length = file.metadata()?.len();
    if length < 12 || digits.len() != PENDING.len() {
        return Ok(None);
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::Start(length - 8))?;
    file.read_exact(&mut tail)?;
    let footer_length = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    let Some(footer_start) = (length - 8).checked_sub(footer_length) else {
        return Ok(None);
    };
    let mut footer = Vec::new();
    file.seek(SeekFrom::Start(footer_start))?;
    Read::by_ref(file)
        .take(footer_length)
        .read_to_end(&mut footer)?;
    Ok(digits_offset(&footer, digits.as_bytes()).map(|offset| footer_start + offset as u64))
}

/// The XXH3-64 of all of `file`, with the 16 bytes at `position` read as
/// the pending digits.
fn hash_with_pending(file: &mut File, position: u64) -> io::Result<u64> {
    let pending = position..position + PENDING.len() as u64;
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; READ_BYTES];
    let mut offset = 0u64;
    file.seek(SeekFrom::Start(0))?;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hasher.digest());
        }
        let chunk = &mut buffer[..read];
        let end = offset + read as u64;
        for at in pending.start.max(offset)..pending.end.min(end) {
            chunk[(at - offset) as usize] = PENDING[(at - pending.start) as usize];
        }
        hasher.update(chunk);
        offset = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_digits_verify_and_any_changed_byte_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        // A stand-in file: body, then a "footer" holding the entry, then the
        // footer's length and a 4-byte end mark, as in Parquet.
        let (key, pending) = pending_entry();
        let footer = format!("..{key}..{pending}..");
        let mut out = File::create(&path).unwrap();
        let (mut summing, checksum) = summing(&mut out);
        summing.write_all(&[7u8; 10_000]).unwrap();
        checksum.footer_follows();
        summing.write_all(footer.as_bytes()).unwrap();
        summing
            .write_all(&(footer.len() as u32).to_le_bytes())
            .unwrap();
        summing.write_all(b"PAR1").unwrap();
        drop(summing);
        checksum.seal(&mut out).unwrap();
        drop(out);

        let bytes = std::fs::read(&path).unwrap();
        let at = digits_offset(&bytes, PENDING);
        assert_eq!(at, None, "the pending digits were replaced");
        let digits_at = 10_000 + 2 + key.len() + 2;
        let digits = String::from_utf8(bytes[digits_at..digits_at + 16].to_vec()).unwrap();
        assert_eq!(check(&path, &digits).unwrap(), Ok(()));

        for position in [0, 5_000, 9_999, 10_001, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[position] ^= 1;
            std::fs::write(&path, &damaged).unwrap();
            let mismatch = check(&path, &digits).unwrap().unwrap_err();
            assert_eq!(mismatch.expected, digits, "byte {position}");
            assert_ne!(mismatch.found, digits, "byte {position}");
        }
    }
}
