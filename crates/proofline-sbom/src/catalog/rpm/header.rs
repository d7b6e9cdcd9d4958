//! The RPM header blob an rpmdb stores per package (the `Packages` table's `blob`): index
//! count, data length, 16-byte index entries (tag, type, offset, count), then the data store.
//! Read after rpm's `headerImport` (as ported by go-rpmdb): the immutable region is checked, and
//! every count, offset and length is bounded by the blob, so a hostile blob is an error, never a
//! panic or a huge allocation.

use std::collections::BTreeMap;

/// rpm refuses headers of 256 MiB or more (`headerMaxbytes`).
const MAX_HEADER_BYTES: u64 = 256 * 1024 * 1024;
/// rpm refuses more than 0xffff index entries (`hdrchkTags`).
const MAX_ENTRIES: u32 = 0xffff;
/// One index entry: tag, type, offset, count (big-endian 32-bit each).
const ENTRY_BYTES: usize = 16;
/// Tags below this are not header data (`HEADER_I18NTABLE`).
const FIRST_DATA_TAG: i32 = 100;
/// Region tags: the first entry of an rpmdb header names its immutable region.
const REGION_TAGS: [i32; 3] = [61, 62, 63];

const TYPE_BIN: u32 = 7;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;
const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;

/// Why a header blob could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("header blob of {len} bytes is shorter than its {needed}-byte preamble")]
    TooShort { len: usize, needed: u64 },
    #[error("header has {count} index entries (rpm allows 1 to 65535)")]
    EntryCount { count: u32 },
    #[error("header data of {length} bytes is over rpm's 256 MiB limit")]
    DataTooLarge { length: u32 },
    #[error("invalid region: {reason}")]
    Region { reason: &'static str },
    #[error("index entry {index} (tag {tag}): {reason}")]
    Entry {
        index: usize,
        tag: i32,
        reason: &'static str,
    },
}

/// One tag's value, exactly its bytes in the data store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Value<'a> {
    kind: u32,
    count: u32,
    bytes: &'a [u8],
}

/// A parsed header: tag → value (a later entry for the same tag, e.g. one added at install
/// time after the immutable region, wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header<'a> {
    values: BTreeMap<i32, Value<'a>>,
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// An index entry as stored.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: i32,
    kind: u32,
    offset: i32,
    count: u32,
}

fn entry(blob: &[u8], at: usize) -> Option<Entry> {
    Some(Entry {
        tag: be32(blob, at)? as i32,
        kind: be32(blob, at + 4)?,
        offset: be32(blob, at + 8)? as i32,
        count: be32(blob, at + 12)?,
    })
}

/// Bytes per element of fixed-size types, and their alignment (rpm's `typeSizes`).
fn fixed_size(kind: u32) -> Option<usize> {
    match kind {
        1 | 2 | TYPE_BIN => Some(1),
        TYPE_INT16 => Some(2),
        TYPE_INT32 => Some(4),
        5 => Some(8),
        _ => None,
    }
}

/// The length of a value starting at `data[start..]`, or why it does not fit.
fn value_len(data: &[u8], kind: u32, count: u32, start: usize) -> Result<usize, &'static str> {
    let rest = data.get(start..).ok_or("offset past the data")?;
    match kind {
        TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING => {
            if kind == TYPE_STRING && count != 1 {
                return Err("a string with a count other than 1");
            }
            // Every string needs at least its NUL: a count over the data is a lie.
            if usize::try_from(count).map_or(true, |c| c > rest.len()) {
                return Err("more strings than bytes of data");
            }
            let mut len = 0usize;
            for _ in 0..count {
                let tail = rest.get(len..).ok_or("strings run past the data")?;
                let nul = tail
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or("unterminated string")?;
                len += nul + 1;
            }
            Ok(len)
        }
        _ => {
            let size = fixed_size(kind).ok_or("unknown data type")?;
            if !start.is_multiple_of(size) {
                return Err("misaligned data");
            }
            let len = usize::try_from(count)
                .ok()
                .and_then(|c| c.checked_mul(size))
                .ok_or("count overflows")?;
            if len > rest.len() {
                return Err("data runs past the end of the header");
            }
            Ok(len)
        }
    }
}

/// Reads a header blob as stored in an rpmdb (no lead, no magic).
pub fn parse(blob: &[u8]) -> Result<Header<'_>, HeaderError> {
    let too_short = |needed: u64| HeaderError::TooShort {
        len: blob.len(),
        needed,
    };
    let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
        return Err(too_short(8));
    };
    if il == 0 || il > MAX_ENTRIES {
        return Err(HeaderError::EntryCount { count: il });
    }
    if u64::from(dl) >= MAX_HEADER_BYTES {
        return Err(HeaderError::DataTooLarge { length: dl });
    }
    // Both bounded above, so this cannot overflow even on 32-bit.
    let data_start = 8 + il as usize * ENTRY_BYTES;
    let data_end = data_start + dl as usize;
    let data = blob
        .get(data_start..data_end)
        .ok_or_else(|| too_short(data_end as u64))?;
    let count = il as usize;
    let first = entry(blob, 8).ok_or_else(|| too_short(24))?;
    // A region: entries 1..ril are the immutable region, the rest were added later.
    let skip = if REGION_TAGS.contains(&first.tag) {
        check_region(first, data, count)?;
        1
    } else {
        0
    };
    let mut header = Header::default();
    for index in skip..count {
        let e = entry(blob, 8 + index * ENTRY_BYTES).ok_or_else(|| too_short(data_start as u64))?;
        let fail = |reason| HeaderError::Entry {
            index,
            tag: e.tag,
            reason,
        };
        if e.tag < FIRST_DATA_TAG {
            // Region trailers and signatures: not package data.
            continue;
        }
        let start = usize::try_from(e.offset).map_err(|_| fail("negative offset"))?;
        if start >= data.len() {
            return Err(fail("offset past the data"));
        }
        let len = value_len(data, e.kind, e.count, start).map_err(fail)?;
        let bytes = data
            .get(start..start + len)
            .ok_or(fail("data out of range"))?;
        header.values.insert(
            e.tag,
            Value {
                kind: e.kind,
                count: e.count,
                bytes,
            },
        );
    }
    Ok(header)
}

/// Checks the region entry and its trailer (rpm's `hdrblobVerifyRegion`).
fn check_region(first: Entry, data: &[u8], count: usize) -> Result<(), HeaderError> {
    let bad = |reason| HeaderError::Region { reason };
    if first.kind != TYPE_BIN || first.count as usize != ENTRY_BYTES {
        return Err(bad("region tag is not a 16-byte binary"));
    }
    let at = usize::try_from(first.offset).map_err(|_| bad("negative region offset"))?;
    let trailer = data
        .get(
            at..at
                .checked_add(ENTRY_BYTES)
                .ok_or(bad("region offset overflows"))?,
        )
        .and_then(|t| entry(t, 0))
        .ok_or(bad("region trailer past the data"))?;
    if trailer.tag != first.tag || trailer.kind != TYPE_BIN || trailer.count as usize != ENTRY_BYTES
    {
        return Err(bad("region trailer does not match its tag"));
    }
    let size = trailer
        .offset
        .checked_neg()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(bad("region trailer size is not negative"))?;
    if !size.is_multiple_of(ENTRY_BYTES) || size / ENTRY_BYTES > count || size == 0 {
        return Err(bad("region size is not within the index"));
    }
    Ok(())
}

impl<'a> Header<'a> {
    /// A string value (`STRING`, or the first of an array / i18n table).
    pub fn string(&self, tag: i32) -> Option<String> {
        self.strings(tag).into_iter().next()
    }

    /// A string array (a single `STRING` gives one element).
    pub fn strings(&self, tag: i32) -> Vec<String> {
        let Some(v) = self.values.get(&tag) else {
            return Vec::new();
        };
        if !matches!(v.kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Vec::new();
        }
        v.bytes
            .split(|&b| b == 0)
            .take(v.count as usize)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    }

    /// 32-bit integers (`INT32`).
    pub fn int32s(&self, tag: i32) -> Vec<u32> {
        self.ints(tag, TYPE_INT32, 4)
    }

    /// 16-bit integers (`INT16`, e.g. file modes).
    pub fn int16s(&self, tag: i32) -> Vec<u32> {
        self.ints(tag, TYPE_INT16, 2)
    }

    fn ints(&self, tag: i32, kind: u32, size: usize) -> Vec<u32> {
        let Some(v) = self.values.get(&tag).filter(|v| v.kind == kind) else {
            return Vec::new();
        };
        v.bytes
            .chunks_exact(size)
            .map(|c| c.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// Builds a header blob with an immutable region (tag 63) around `values`.
    pub(crate) fn blob(values: &[(i32, u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut data = Vec::new();
        let mut index = Vec::new();
        for (tag, kind, count, bytes) in values {
            let align = fixed_size(*kind).unwrap_or(1);
            while data.len() % align != 0 {
                data.push(0);
            }
            index.push((*tag, *kind, data.len() as i32, *count));
            data.extend_from_slice(bytes);
        }
        let il = values.len() + 1;
        let trailer_at = data.len() as i32;
        data.extend_from_slice(&63i32.to_be_bytes());
        data.extend_from_slice(&TYPE_BIN.to_be_bytes());
        data.extend_from_slice(&(-(il as i32 * 16)).to_be_bytes());
        data.extend_from_slice(&16u32.to_be_bytes());
        let mut out = Vec::new();
        out.extend_from_slice(&(il as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for (tag, kind, offset, count) in
            std::iter::once((63, TYPE_BIN, trailer_at, 16)).chain(index)
        {
            out.extend_from_slice(&tag.to_be_bytes());
            out.extend_from_slice(&kind.to_be_bytes());
            out.extend_from_slice(&offset.to_be_bytes());
            out.extend_from_slice(&count.to_be_bytes());
        }
        out.extend_from_slice(&data);
        out
    }

    fn sample() -> Vec<u8> {
        blob(&[
            (1000, TYPE_STRING, 1, b"zlib\0".to_vec()),
            (1003, TYPE_INT32, 1, 1u32.to_be_bytes().to_vec()),
            (
                1047,
                TYPE_STRING_ARRAY,
                2,
                b"zlib\0libz.so.1()(64bit)\0".to_vec(),
            ),
            (1030, TYPE_INT16, 2, vec![0x81, 0xa4, 0x41, 0xed]),
        ])
    }

    #[test]
    fn values_by_type() {
        let b = sample();
        let h = parse(&b).unwrap();
        assert_eq!(h.string(1000).as_deref(), Some("zlib"));
        assert_eq!(h.int32s(1003), [1]);
        assert_eq!(h.strings(1047), ["zlib", "libz.so.1()(64bit)"]);
        assert_eq!(h.int16s(1030), [0o100644, 0o040755]);
        // Wrong type asked: nothing, not garbage.
        assert!(h.int32s(1000).is_empty());
        assert!(h.string(1003).is_none());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let b = sample();
        for len in 0..b.len() {
            assert!(parse(&b[..len]).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn hostile_counts_and_offsets_are_rejected() {
        let b = sample();
        let mut huge = b.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            parse(&huge),
            Err(HeaderError::EntryCount { count: u32::MAX })
        );
        let mut zero = b.clone();
        zero[..4].copy_from_slice(&0u32.to_be_bytes());
        assert!(matches!(parse(&zero), Err(HeaderError::EntryCount { .. })));
        let mut big_data = b.clone();
        big_data[4..8].copy_from_slice(&0xf000_0000u32.to_be_bytes());
        assert!(matches!(
            parse(&big_data),
            Err(HeaderError::DataTooLarge { .. })
        ));
        // The second entry's offset (8 + 16 + 8) far past the data, then negative.
        for offset in [0x7fff_fff0i32, -4] {
            let mut bad = b.clone();
            bad[8 + 16 + 8..8 + 16 + 12].copy_from_slice(&offset.to_be_bytes());
            assert!(
                matches!(parse(&bad), Err(HeaderError::Entry { tag: 1000, .. })),
                "{offset}"
            );
        }
        // A string array claiming four billion strings.
        let mut lying = b.clone();
        let at = 8 + 3 * 16 + 12;
        lying[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            parse(&lying),
            Err(HeaderError::Entry { tag: 1047, .. })
        ));
        // Region trailer pointing outside the data, or a wrong region size.
        let mut region = b.clone();
        region[16..20].copy_from_slice(&0x7fff_0000i32.to_be_bytes());
        assert!(matches!(parse(&region), Err(HeaderError::Region { .. })));
        // Garbage.
        assert!(parse(&[0xff; 300]).is_err());
        assert!(parse(b"").is_err());
    }
}
