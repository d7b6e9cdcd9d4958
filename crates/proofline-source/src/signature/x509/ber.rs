//! BER to DER, for gpgsm: it writes its `SignedData` with indefinite lengths (and may split
//! strings into constructed chunks), which the `der` crate rightly refuses. Re-encoding gives the
//! same values in DER; the signed attributes and certificates inside are DER already, so their
//! bytes, and the signatures over them, are unchanged.

/// Deeper nesting than this is refused (a CMS signature nests about ten levels).
const MAX_DEPTH: usize = 64;

/// Universal tags whose constructed BER form is a string cut in chunks: DER makes them primitive.
const STRING_TAGS: [u8; 13] = [
    0x03, 0x04, 0x0c, 0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1b, 0x1c, 0x1e,
];

/// Re-encodes one BER element (the whole input) as DER.
pub(super) fn to_der(input: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(input.len());
    let used = element(input, 0, &mut out)?;
    if used != input.len() {
        return Err(format!("{} bytes after the end", input.len() - used));
    }
    Ok(out)
}

/// An element's header.
struct Header {
    /// The identifier octets as read.
    tag: Vec<u8>,
    constructed: bool,
    /// `None` for the indefinite form.
    len: Option<usize>,
    /// Header size.
    size: usize,
}

fn header(input: &[u8]) -> Result<Header, String> {
    let truncated = || "truncated element".to_string();
    let first = *input.first().ok_or_else(truncated)?;
    let mut pos = 1;
    if first & 0x1f == 0x1f {
        // High tag number: base-128 until a byte without the top bit.
        loop {
            let b = *input.get(pos).ok_or_else(truncated)?;
            pos += 1;
            if b & 0x80 == 0 {
                break;
            }
            if pos > 5 {
                return Err("tag number too large".to_string());
            }
        }
    }
    let tag = input[..pos].to_vec();
    let l = *input.get(pos).ok_or_else(truncated)?;
    pos += 1;
    let len = match l {
        0x80 => None,
        l if l < 0x80 => Some(usize::from(l)),
        l => {
            let n = usize::from(l & 0x7f);
            if n > 4 {
                return Err("length too large".to_string());
            }
            let bytes = input.get(pos..pos + n).ok_or_else(truncated)?;
            pos += n;
            Some(
                bytes
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            )
        }
    };
    Ok(Header {
        constructed: first & 0x20 != 0,
        tag,
        len,
        size: pos,
    })
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Converts the element at the start of `input`, appending its DER to `out`; returns the number
/// of input bytes it took.
fn element(input: &[u8], depth: usize, out: &mut Vec<u8>) -> Result<usize, String> {
    if depth > MAX_DEPTH {
        return Err("nested too deeply".to_string());
    }
    let h = header(input)?;
    let body = &input[h.size..];
    if !h.constructed {
        let len = h.len.ok_or("indefinite length on a primitive element")?;
        let content = body.get(..len).ok_or("truncated element")?;
        out.extend_from_slice(&h.tag);
        push_len(out, len);
        out.extend_from_slice(content);
        return Ok(h.size + len);
    }
    // Constructed: convert the children, up to the length or the end-of-contents marker.
    let mut children = Vec::new();
    let mut pos = 0;
    let mut chunks = Vec::new();
    let is_string = h.tag.len() == 1 && STRING_TAGS.contains(&(h.tag[0] & !0x20));
    loop {
        match h.len {
            Some(len) if pos == len => break,
            Some(len) if pos > len => return Err("child longer than its parent".to_string()),
            None if body.get(pos..pos + 2) == Some(&[0, 0]) => {
                pos += 2;
                break;
            }
            _ => {}
        }
        let scope = match h.len {
            Some(len) => body.get(pos..len).ok_or("truncated element")?,
            None => body.get(pos..).ok_or("truncated element")?,
        };
        if scope.is_empty() {
            return Err("missing end-of-contents".to_string());
        }
        let start = children.len();
        pos += element(scope, depth + 1, &mut children)?;
        if is_string {
            // The chunk's DER is primitive now: keep its content only.
            let chunk = header(&children[start..])?;
            chunks.extend_from_slice(&children[start + chunk.size..]);
            children.truncate(start);
        }
    }
    if is_string {
        out.push(h.tag[0] & !0x20);
        push_len(out, chunks.len());
        out.extend_from_slice(&chunks);
    } else {
        out.extend_from_slice(&h.tag);
        push_len(out, children.len());
        out.extend_from_slice(&children);
    }
    Ok(h.size + pos)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::to_der;

    #[test]
    fn indefinite_lengths_become_definite() {
        // SEQUENCE (indefinite) { INTEGER 1, SEQUENCE (indefinite) { OID 1.2 } }
        let ber = [
            0x30, 0x80, 0x02, 0x01, 0x01, 0x30, 0x80, 0x06, 0x01, 0x2a, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(
            to_der(&ber).unwrap(),
            vec![0x30, 0x08, 0x02, 0x01, 0x01, 0x30, 0x03, 0x06, 0x01, 0x2a]
        );
    }

    #[test]
    fn constructed_octet_strings_are_joined_and_long_lengths_shortened() {
        // OCTET STRING (constructed, indefinite) { "ab", "c" } inside a SEQUENCE with a
        // non-minimal long-form length.
        let ber = [
            0x30, 0x81, 0x0b, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00,
        ];
        assert_eq!(
            to_der(&ber).unwrap(),
            vec![0x30, 0x05, 0x04, 0x03, b'a', b'b', b'c']
        );
    }

    #[test]
    fn der_is_unchanged() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xff];
        assert_eq!(to_der(&der).unwrap(), der.to_vec());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x80, 0x02, 0x01],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x03, 0x02, 0x05, 0x00],
            &[0x02, 0x80, 0x00, 0x00],
            &[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            &[0x30, 0x02, 0x00, 0x00, 0x00],
        ] {
            assert!(to_der(bad).is_err(), "{bad:?}");
        }
        // Deep nesting is refused, not a stack overflow.
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 10_000)
            .flatten()
            .collect();
        assert!(to_der(&deep).is_err());
    }
}
