//! CRC-32C of a frame, with a path for the small frames a log is made of.
//!
//! A task event's frame checksums about 40 bytes. The `crc32c` crate is built for long
//! buffers: it walks to an 8-byte-aligned address one byte at a time, runs three interleaved
//! streams over the aligned middle, and finishes the tail one byte at a time, so a 40-byte
//! input pays up to fourteen dependent one-byte steps for five word steps. [`crc32c`] here
//! reads unaligned 8-byte words from the start instead (the SSE 4.2 `crc32` instruction does
//! not care about alignment), then at most one 4-, one 2- and one 1-byte step. Inputs longer
//! than [`SMALL`], and machines without SSE 4.2, go to the crate. The result is the same
//! CRC-32C either way (a property test below compares every length up to past [`SMALL`]).

/// Inputs up to this length take the word-at-a-time path; longer ones the crate's
/// three-stream path, which wins once there are a few hundred bytes to interleave.
const SMALL: usize = 256;

/// CRC-32C (Castagnoli) of `bytes`, as `crc32c::crc32c` computes it.
#[inline]
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if bytes.len() <= SMALL && std::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the only requirement of `sse42::small` is the SSE 4.2 instructions, which the
        // line above has just detected on this CPU.
        #[allow(unsafe_code)]
        return unsafe { sse42::small(bytes) };
    }
    crc32c::crc32c(bytes)
}

#[cfg(target_arch = "x86_64")]
mod sse42 {
    use std::arch::x86_64::{_mm_crc32_u8, _mm_crc32_u16, _mm_crc32_u32, _mm_crc32_u64};

    /// CRC-32C of `bytes` in unaligned 8-byte words, then the 4-, 2- and 1-byte rest.
    #[target_feature(enable = "sse4.2")]
    pub(super) fn small(bytes: &[u8]) -> u32 {
        let (words, rest) = bytes.as_chunks::<8>();
        let mut crc = u64::from(u32::MAX);
        for word in words {
            crc = _mm_crc32_u64(crc, u64::from_le_bytes(*word));
        }
        // At most 7 bytes are left: one 4-byte, one 2-byte and one 1-byte step cover them.
        let mut crc = crc as u32;
        let (four, rest) = rest.as_chunks::<4>();
        if let Some(four) = four.first() {
            crc = _mm_crc32_u32(crc, u32::from_le_bytes(*four));
        }
        let (two, rest) = rest.as_chunks::<2>();
        if let Some(two) = two.first() {
            crc = _mm_crc32_u16(crc, u16::from_le_bytes(*two));
        }
        if let Some(&one) = rest.first() {
            crc = _mm_crc32_u8(crc, one);
        }
        !crc
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_the_crate_at_every_length(
            bytes in proptest::collection::vec(any::<u8>(), 0..(super::SMALL + 40)),
            skip in 0usize..8,
        ) {
            // Every alignment of the start, not only the allocator's.
            let input = bytes.get(skip..).unwrap_or_default();
            prop_assert_eq!(super::crc32c(input), crc32c::crc32c(input));
        }
    }

    #[test]
    fn known_value() {
        // The check value of CRC-32C.
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(super::crc32c(b""), 0);
    }
}
