//! Object paths as refresh and preload requests submit them: "accelerated domain/path", with
//! or without a scheme, one per line.
//!
//! A path keeps exactly the text submitted, except that a schemeless one gets `http://`
//! and the scheme is lower-cased; its domain is the host, lower-cased, used to check
//! ownership and to batch TaskIds.

/// Longest path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 4_096;

/// A checked object path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    /// The full path as stored and shown (`http://example.com/a.txt`).
    pub path: String,
    /// Its host, lower case (`example.com`).
    pub domain: String,
}

/// Why a path is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Nothing but white space.
    #[error("the path is empty")]
    Empty,
    /// Over [`MAX_PATH_LEN`].
    #[error("the path is longer than {MAX_PATH_LEN} bytes")]
    TooLong,
    /// A scheme other than http or https.
    #[error("unsupported scheme in {0:?}; use http:// or https://")]
    Scheme(String),
    /// No valid host after the scheme.
    #[error("no valid domain in {0:?}")]
    Host(String),
    /// White space or control characters inside.
    #[error("the path {0:?} contains white space or control characters")]
    Characters(String),
}

/// True for a plausible accelerated domain: two or more dot-separated labels of `a-z`, `0-9`
/// and inner `-` (the real API answers `https://broken-path` with `InvalidObjectPath.Malformed`).
pub fn is_valid_host(host: &str) -> bool {
    host.contains('.')
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Checks one submitted path and splits off its domain.
pub fn normalize(raw: &str) -> Result<ObjectPath, PathError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(PathError::Empty);
    }
    if text.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PathError::Characters(text.to_owned()));
    }
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => ("http", rest),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => ("https", rest),
        Some(_) => return Err(PathError::Scheme(text.to_owned())),
        None => ("http", text),
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let domain = rest[..host_end].to_ascii_lowercase();
    if !is_valid_host(&domain) {
        return Err(PathError::Host(text.to_owned()));
    }
    Ok(ObjectPath {
        path: format!("{scheme}://{rest}"),
        domain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_domains() {
        let ok = |raw: &str, path: &str, domain: &str| {
            let want = ObjectPath {
                path: path.into(),
                domain: domain.into(),
            };
            assert_eq!(normalize(raw), Ok(want), "{raw}");
        };
        ok(
            "example.com/a.txt",
            "http://example.com/a.txt",
            "example.com",
        );
        ok(
            "HTTPS://Example.COM/A.txt\r",
            "https://Example.COM/A.txt",
            "example.com",
        );
        ok(
            "http://a.b.example.com",
            "http://a.b.example.com",
            "a.b.example.com",
        );
        ok("http://x.com/a,b", "http://x.com/a,b", "x.com");
        ok(
            "http://x.com/img/.*\\.jpg",
            "http://x.com/img/.*\\.jpg",
            "x.com",
        );
        assert_eq!(normalize("  "), Err(PathError::Empty));
        assert!(matches!(
            normalize("ftp://x.com/a"),
            Err(PathError::Scheme(_))
        ));
        assert!(matches!(
            normalize("https://broken-path"),
            Err(PathError::Host(_))
        ));
        assert!(matches!(normalize("https:///a"), Err(PathError::Host(_))));
        assert!(matches!(
            normalize("http://-x.com/"),
            Err(PathError::Host(_))
        ));
        assert!(matches!(
            normalize("http://x.com/a b"),
            Err(PathError::Characters(_))
        ));
        assert!(matches!(
            normalize(&"a".repeat(5000)),
            Err(PathError::TooLong)
        ));
    }
}
