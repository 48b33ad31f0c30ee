//! Percent-encoding on the wire: strict decoding of query strings and
//! `application/x-www-form-urlencoded` bodies, and the RFC 3986 encoding that both signature
//! versions sign with.
//!
//! Decoding is strict where the usual form parsers are lenient: a `%` not followed by two hex
//! digits, or bytes that are not UTF-8 once decoded, are errors naming the parameter, not
//! replacement characters — a signature computed over a silently repaired value would never
//! match, and the client deserves to know which parameter is wrong.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};

use super::ApiError;

/// Everything but `A-Z a-z 0-9 - _ . ~` is encoded (RFC 3986 unreserved characters).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// RFC 3986 percent-encoding with upper-case hex: space is `%20`, `*` is `%2A`, `~` stays.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, RFC3986).to_string()
}

/// Encodes pairs as a query string or form body (`a=1&b=x%20y`), RFC 3986 style: the inverse
/// of [`parse_pairs`], for clients and tests.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes one component of a query string or form body: `+` is a space, `%XX` a byte.
/// `what` names the component in the error (a parameter name, or "a parameter name").
fn decode(raw: &str, what: &str) -> Result<String, ApiError> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(at) = bytes[i..].iter().position(|&b| b == b'%') {
        let at = i + at;
        let hex = bytes.get(at + 1..at + 3);
        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            return Err(ApiError::bad_encoding(
                what,
                "a \"%\" not followed by two hex digits",
            ));
        }
        i = at + 3;
    }
    let plus_as_space = raw.replace('+', " ");
    let decoded: Vec<u8> = percent_decode(plus_as_space.as_bytes()).collect();
    String::from_utf8(decoded).map_err(|_| ApiError::bad_encoding(what, "bytes that are not UTF-8"))
}

/// Most parameters one query string or body may carry (the real actions take a dozen).
pub const PARAMS_MAX: usize = 256;

/// Parses `a=1&b=x%20y` into decoded pairs, in order. Empty pieces (`a=1&&b=2`) are skipped;
/// a piece without `=` is a name with an empty value. More than [`PARAMS_MAX`] pieces is an
/// error before anything is decoded.
pub fn parse_pairs(raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut pairs = Vec::new();
    for (i, piece) in raw.split('&').filter(|p| !p.is_empty()).enumerate() {
        if i == PARAMS_MAX {
            return Err(ApiError::too_many_params(PARAMS_MAX));
        }
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = decode(name, "a parameter name")?;
        let value = decode(value, &name)?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_signers() {
        assert_eq!(encode("a b*c~d-e_f.g/h:i"), "a%20b%2Ac~d-e_f.g%2Fh%3Ai");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(encode(""), "");
    }

    #[test]
    fn decodes_query_and_form_components() {
        let pairs = parse_pairs("A=1&B=x+y%20z&&C&D=%E2%9C%93&E=").expect("valid");
        let expect = [("A", "1"), ("B", "x y z"), ("C", ""), ("D", "✓"), ("E", "")];
        assert_eq!(pairs.len(), expect.len());
        for ((k, v), (ek, ev)) in pairs.iter().zip(expect) {
            assert_eq!((k.as_str(), v.as_str()), (ek, ev));
        }
        // Encoding and decoding are inverses.
        let original = [("ObjectPath", "http://a.com/x y\nb+c"), ("Format", "JSON")];
        let back = parse_pairs(&encode_pairs(original)).expect("valid");
        assert!(
            back.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .eq(original)
        );
        // A literal plus is sent as %2B.
        assert_eq!(parse_pairs("P=a%2Bb").expect("valid")[0].1, "a+b");
    }

    #[test]
    fn rejects_bad_escapes_and_non_utf8_naming_the_parameter() {
        for raw in [
            "PageSize=%",
            "PageSize=%4",
            "PageSize=%zz",
            "PageSize=%FF",
            "PageSize=%C3",
        ] {
            let e = parse_pairs(raw).expect_err(raw);
            assert_eq!(e.status(), 400, "{raw}");
            assert_eq!(e.code(), "InvalidParameter.Encoding", "{raw}");
            assert!(e.message.contains("PageSize"), "{raw}: {}", e.message);
        }
        let e = parse_pairs("%G1=x").expect_err("bad name");
        assert!(e.message.contains("a parameter name"), "{}", e.message);
        let many = "a&".repeat(PARAMS_MAX + 1);
        assert_eq!(
            parse_pairs(&many).expect_err("too many").code(),
            "InvalidParameter.TooMany"
        );
        assert_eq!(
            parse_pairs(&"a&".repeat(PARAMS_MAX)).map(|p| p.len()),
            Ok(PARAMS_MAX)
        );
    }
}
