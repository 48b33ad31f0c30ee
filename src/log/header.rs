//! The fixed 56-byte file header.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "CDNSIMLG"
//!      8     2  format version, u16 LE (see FORMAT_VERSION)
//!     10     2  reserved, zero
//!     12    32  scenario fingerprint
//!     44     8  seed, u64 LE
//!     52     4  CRC-32C of bytes 0..52, u32 LE
//! ```
//!
//! The layout is fixed (not bincode) so that a reader can learn the format version before it
//! picks a payload decoder.

use super::FORMAT_VERSION;

/// First eight bytes of every log.
pub const MAGIC: [u8; 8] = *b"CDNSIMLG";

/// Size of the header in bytes; the first record starts here.
pub const HEADER_LEN: usize = 56;

/// What the header says about a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Format version the records were written with.
    pub format_version: u16,
    /// Fingerprint of the scenario that produced the log (all zero when none).
    pub scenario_fingerprint: [u8; 32],
    /// The seed the simulator ran with.
    pub seed: u64,
}

/// Why the bytes at the start of a file are not a header this build can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// The file has no bytes.
    Empty,
    /// The file does not start with [`MAGIC`].
    NoMagic,
    /// The magic is there but the header is cut short.
    Truncated(usize),
    /// A newer cdnsim wrote it.
    FutureVersion(u16),
    /// Version 0 never existed.
    ZeroVersion,
    /// The header's checksum does not match.
    BadChecksum {
        /// Stored checksum.
        stored: u32,
        /// Computed checksum.
        computed: u32,
    },
}

impl Header {
    /// A header for a new log of single records (format version 1): what `simulate`
    /// writes, byte-identical to earlier releases.
    pub fn new(scenario_fingerprint: [u8; 32], seed: u64) -> Header {
        Header {
            format_version: 1,
            scenario_fingerprint,
            seed,
        }
    }

    /// A header for a new log of atomic batches (the current format, version 2): what the
    /// server writes.
    pub fn batched(scenario_fingerprint: [u8; 32], seed: u64) -> Header {
        Header {
            format_version: FORMAT_VERSION,
            scenario_fingerprint,
            seed,
        }
    }

    /// True when the log's frames form batches (format version 2 and later).
    pub fn has_batches(&self) -> bool {
        self.format_version >= super::BATCHES_VERSION
    }

    /// The 56 bytes of this header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&MAGIC);
        out[8..10].copy_from_slice(&self.format_version.to_le_bytes());
        out[12..44].copy_from_slice(&self.scenario_fingerprint);
        out[44..52].copy_from_slice(&self.seed.to_le_bytes());
        let crc = crc32c::crc32c(&out[0..52]);
        out[52..56].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses the first bytes of a file (up to [`HEADER_LEN`] of them).
    pub fn parse(bytes: &[u8]) -> Result<Header, HeaderProblem> {
        if bytes.is_empty() {
            return Err(HeaderProblem::Empty);
        }
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes[..magic_len] != MAGIC[..magic_len] {
            return Err(HeaderProblem::NoMagic);
        }
        if bytes.len() < HEADER_LEN {
            return Err(HeaderProblem::Truncated(bytes.len()));
        }
        // Every format version keeps this 56-byte header with its checksum where it is, so the
        // checksum is checked first: a flipped bit in the version reads as corruption, not as
        // a newer format.
        let stored = u32::from_le_bytes([bytes[52], bytes[53], bytes[54], bytes[55]]);
        let computed = crc32c::crc32c(&bytes[0..52]);
        if stored != computed {
            return Err(HeaderProblem::BadChecksum { stored, computed });
        }
        let format_version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if format_version > FORMAT_VERSION {
            return Err(HeaderProblem::FutureVersion(format_version));
        }
        if format_version == 0 {
            return Err(HeaderProblem::ZeroVersion);
        }
        let mut scenario_fingerprint = [0u8; 32];
        scenario_fingerprint.copy_from_slice(&bytes[12..44]);
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&bytes[44..52]);
        Ok(Header {
            format_version,
            scenario_fingerprint,
            seed: u64::from_le_bytes(seed),
        })
    }

    /// The fingerprint as lower-case hex.
    pub fn fingerprint_hex(&self) -> String {
        self.scenario_fingerprint
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pins_layout() {
        let header = Header::new([0xab; 32], 42);
        let bytes = header.to_bytes();
        assert_eq!(&bytes[0..12], b"CDNSIMLG\x01\x00\x00\x00");
        assert_eq!(&bytes[44..52], &42u64.to_le_bytes());
        assert_eq!(Header::parse(&bytes), Ok(header));
    }

    #[test]
    fn every_problem_is_named() {
        let good = Header::new([1; 32], 7).to_bytes();
        assert_eq!(Header::parse(&[]), Err(HeaderProblem::Empty));
        assert_eq!(
            Header::parse(b"PK\x03\x04 zip file"),
            Err(HeaderProblem::NoMagic)
        );
        assert_eq!(
            Header::parse(&good[..30]),
            Err(HeaderProblem::Truncated(30))
        );
        let future = Header {
            format_version: 9,
            ..Header::new([1; 32], 7)
        }
        .to_bytes();
        assert_eq!(Header::parse(&future), Err(HeaderProblem::FutureVersion(9)));
        let mut flipped_version = good;
        flipped_version[8] ^= 0x08;
        assert!(matches!(
            Header::parse(&flipped_version),
            Err(HeaderProblem::BadChecksum { .. })
        ));
        let mut flipped = good;
        flipped[50] ^= 1;
        assert!(matches!(
            Header::parse(&flipped),
            Err(HeaderProblem::BadChecksum { .. })
        ));
    }
}
