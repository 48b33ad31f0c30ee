//! Request signatures: V1 (HMAC-SHA1 over the sorted parameters) and V3 (ACS3-HMAC-SHA256 over a
//! canonical request), with the gateway's timestamp window and nonce replay check
//! The unit tests below check requests captured from the official SDKs (V1 and V3), step by
//! step.
//!
//! Pure apart from the nonce cache: the caller passes the wall-clock time (signatures are
//! checked against real time, since the SDKs sign with it; the simulated clock is unrelated).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::str::FromStr;
use std::sync::Mutex;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::encoding::encode;
use super::params::parse_api_time;
use super::{ApiError, ErrorKind};

/// How far a request's timestamp may be from the server's wall clock, either way.
pub const SKEW_MS_MAX: i64 = 15 * 60 * 1000;
/// Nonces remembered at most (the oldest are forgotten first).
const NONCES_MAX: usize = 1_000_000;

/// The V3 algorithm name.
const ACS3: &str = "ACS3-HMAC-SHA256";

/// `--access-key ID:SECRET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// AccessKeyId.
    pub id: String,
    /// AccessKeySecret.
    pub secret: String,
}

impl FromStr for AccessKey {
    type Err = String;

    fn from_str(text: &str) -> Result<AccessKey, String> {
        match text.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(AccessKey {
                id: id.to_owned(),
                secret: secret.to_owned(),
            }),
            _ => Err(format!(
                "{text:?} is not ID:SECRET (both parts non-empty, separated by the first \":\")"
            )),
        }
    }
}

/// What a signature covers, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Request path (`/`).
    pub path: &'a str,
    /// Decoded query parameters, in order.
    pub query: &'a [(String, String)],
    /// Decoded form-body parameters, in order (empty without a form body).
    pub form: &'a [(String, String)],
    /// Headers: lower-case names, values as received.
    pub headers: &'a [(String, String)],
    /// The raw body.
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(self.form)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// Checks signatures against a set of access keys and remembers nonces.
#[derive(Debug)]
pub struct Verifier {
    keys: BTreeMap<String, String>,
    nonces: Mutex<Nonces>,
}

/// Nonces seen within the skew window, oldest first.
#[derive(Debug, Default)]
struct Nonces {
    seen: BTreeSet<String>,
    order: VecDeque<(i64, String)>,
}

impl Verifier {
    /// A verifier for these keys (a later key with the same id replaces an earlier one).
    pub fn new(keys: impl IntoIterator<Item = AccessKey>) -> Verifier {
        Verifier {
            keys: keys.into_iter().map(|k| (k.id, k.secret)).collect(),
            nonces: Mutex::new(Nonces::default()),
        }
    }

    /// Verifies `req` as of the wall-clock time `wall_ms`: V3 when `Authorization` names
    /// ACS3-HMAC-SHA256, else V1. A nonce is remembered only once the signature is good.
    pub fn verify(&self, req: &SignedRequest<'_>, wall_ms: i64) -> Result<(), ApiError> {
        let nonce = match req.header("authorization") {
            Some(auth) if auth.trim_start().starts_with("ACS3-") => {
                self.verify_v3(req, auth, wall_ms)?
            }
            _ => self.verify_v1(req, wall_ms)?,
        };
        self.remember(nonce, wall_ms)
    }

    fn secret(&self, id: &str) -> Result<&str, ApiError> {
        self.keys
            .get(id)
            .map(String::as_str)
            .ok_or_else(|| ApiError::from(ErrorKind::InvalidAccessKeyIdNotFound))
    }

    fn verify_v1(&self, req: &SignedRequest<'_>, wall_ms: i64) -> Result<String, ApiError> {
        let need = |code, name| req.param(name).ok_or_else(|| ApiError::missing(code, name));
        let id = need("MissingAccessKeyId", "AccessKeyId")?;
        let secret = self.secret(id)?;
        // The action must be signed too: a V1 request names it in the parameters.
        need("MissingAction", "Action")?;
        let signature = need("MissingSignature", "Signature")?;
        let method = need("MissingSignatureMethod", "SignatureMethod")?;
        if method != "HMAC-SHA1" {
            return Err(ApiError::from(ErrorKind::InvalidSignatureMethod));
        }
        check_time(need("MissingTimestamp", "Timestamp")?, wall_ms)?;
        let nonce = need("MissingSignatureNonce", "SignatureNonce")?;
        let string_to_sign = v1_string_to_sign(req.method, req.query.iter().chain(req.form));
        let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes())
            .map_err(|_| ApiError::signature_mismatch(&string_to_sign))?;
        mac.update(string_to_sign.as_bytes());
        let given = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .map_err(|_| ApiError::signature_mismatch(&string_to_sign))?;
        mac.verify_slice(&given)
            .map_err(|_| ApiError::signature_mismatch(&string_to_sign))?;
        Ok(format!("{id}\n{nonce}"))
    }

    fn verify_v3(
        &self,
        req: &SignedRequest<'_>,
        authorization: &str,
        wall_ms: i64,
    ) -> Result<String, ApiError> {
        let auth = Authorization::parse(authorization)?;
        let secret = self.secret(auth.credential)?;
        let header = |name: &'static str| {
            req.header(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ApiError::missing("MissingParameter", name))
        };
        check_time(header("x-acs-date")?, wall_ms)?;
        let nonce = header("x-acs-signature-nonce")?;
        let payload_hash = header("x-acs-content-sha256")?;
        // What decides the request must be signed: the action, the time, the nonce, the
        // body's hash and how the body is read.
        for name in [
            "x-acs-action",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
            "content-type",
        ] {
            if req.header(name).is_some() && !auth.signed_headers.iter().any(|h| h == name) {
                return Err(ApiError::incomplete_signature(&format!(
                    "{name} must be among SignedHeaders"
                )));
            }
        }
        let canonical = v3_canonical_request(req, &auth.signed_headers, payload_hash);
        let string_to_sign = format!("{ACS3}\n{}", hex(&Sha256::digest(canonical.as_bytes())));
        tracing::debug!(%canonical, "V3 canonical request");
        if !payload_hash.eq_ignore_ascii_case(&hex(&Sha256::digest(req.body))) {
            return Err(ApiError::signature_mismatch(&string_to_sign));
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| ApiError::signature_mismatch(&string_to_sign))?;
        mac.update(string_to_sign.as_bytes());
        let given =
            unhex(auth.signature).ok_or_else(|| ApiError::signature_mismatch(&string_to_sign))?;
        mac.verify_slice(&given)
            .map_err(|_| ApiError::signature_mismatch(&string_to_sign))?;
        Ok(format!("{}\n{nonce}", auth.credential))
    }

    fn remember(&self, key: String, wall_ms: i64) -> Result<(), ApiError> {
        let mut nonces = crate::locks::lock(&self.nonces);
        while let Some((at, _)) = nonces.order.front() {
            // A timestamp may be up to SKEW_MS_MAX ahead, so a nonce must be remembered for
            // twice that: until no request carrying it can pass the timestamp check.
            if *at >= wall_ms - 2 * SKEW_MS_MAX && nonces.order.len() < NONCES_MAX {
                break;
            }
            if let Some((_, old)) = nonces.order.pop_front() {
                nonces.seen.remove(&old);
            }
        }
        if !nonces.seen.insert(key.clone()) {
            return Err(ApiError::from(ErrorKind::SignatureNonceUsed));
        }
        nonces.order.push_back((wall_ms, key));
        Ok(())
    }
}

fn check_time(text: &str, wall_ms: i64) -> Result<(), ApiError> {
    let at_ms =
        parse_api_time(text).ok_or_else(|| ApiError::from(ErrorKind::InvalidTimeStampFormat))?;
    if (at_ms - wall_ms).abs() > SKEW_MS_MAX {
        return Err(ApiError::from(ErrorKind::InvalidTimeStampExpired));
    }
    Ok(())
}

/// `METHOD&%2F&enc(sorted k=v pairs)` over every parameter but `Signature`.
pub fn v1_string_to_sign<'a>(
    method: &str,
    params: impl Iterator<Item = &'a (String, String)>,
) -> String {
    // Sorted by the raw name (then value), as the SDKs sort, then encoded.
    let mut pairs: Vec<&(String, String)> = params.filter(|(k, _)| k != "Signature").collect();
    pairs.sort();
    let canonical: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("{method}&{}&{}", encode("/"), encode(&canonical.join("&")))
}

/// The V1 `Signature` of a request (base64 HMAC-SHA1 keyed with `secret&`), as a client
/// computes it: for tests and tools that talk to a server with keys configured.
pub fn sign_v1<'a>(
    method: &str,
    params: impl Iterator<Item = &'a (String, String)>,
    secret: &str,
) -> String {
    let string_to_sign = v1_string_to_sign(method, params);
    let mut mac = match Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(), // HMAC accepts keys of any length
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The V3 `Authorization` header value for `req`, signing the headers named in `signed`
/// (which must be among `req.headers`, with `x-acs-content-sha256` for the payload), as a
/// client computes it.
pub fn sign_v3(req: &SignedRequest<'_>, key: &AccessKey, signed: &[&str]) -> String {
    let mut names: Vec<String> = signed.iter().map(|h| h.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    let payload_hash = req.header("x-acs-content-sha256").unwrap_or_default();
    let canonical = v3_canonical_request(req, &names, payload_hash);
    let string_to_sign = format!("{ACS3}\n{}", hex(&Sha256::digest(canonical.as_bytes())));
    let signature = match Hmac::<Sha256>::new_from_slice(key.secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(string_to_sign.as_bytes());
            hex(&mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!(
        "{ACS3} Credential={},SignedHeaders={},Signature={signature}",
        key.id,
        names.join(";")
    )
}

/// Lower-case hex of SHA-256, as `x-acs-content-sha256` carries it.
pub fn content_sha256(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

/// The parts of `Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`.
struct Authorization<'a> {
    credential: &'a str,
    signed_headers: Vec<String>,
    signature: &'a str,
}

impl<'a> Authorization<'a> {
    fn parse(text: &'a str) -> Result<Authorization<'a>, ApiError> {
        let rest = text
            .trim()
            .strip_prefix(ACS3)
            .ok_or_else(|| ApiError::incomplete_signature("only ACS3-HMAC-SHA256 is supported"))?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            match part.trim().split_once('=') {
                Some(("Credential", v)) => credential = Some(v),
                Some(("SignedHeaders", v)) => signed = Some(v),
                Some(("Signature", v)) => signature = Some(v),
                _ => {}
            }
        }
        let missing =
            |what| ApiError::incomplete_signature(&format!("Authorization has no {what}"));
        let signed_headers = signed.ok_or_else(|| missing("SignedHeaders"))?;
        let mut signed_headers: Vec<String> = signed_headers
            .split(';')
            .filter(|h| !h.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        signed_headers.sort();
        signed_headers.dedup();
        Ok(Authorization {
            credential: credential.ok_or_else(|| missing("Credential"))?,
            signed_headers,
            signature: signature.ok_or_else(|| missing("Signature"))?,
        })
    }
}

/// The V3 canonical request, with the signed headers read as received.
fn v3_canonical_request(req: &SignedRequest<'_>, signed: &[String], payload_hash: &str) -> String {
    let mut query: Vec<&(String, String)> = req.query.iter().collect();
    query.sort();
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    let mut headers = String::new();
    for name in signed {
        let mut values: Vec<&str> = req
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .collect();
        values.sort_unstable();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        query.join("&"),
        headers,
        signed.join(";"),
        payload_hash
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
        raw.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn key() -> AccessKey {
        "testAKID:testSecret".parse().expect("valid")
    }

    /// 2026-11-28T13:05:12Z, the time the SDK requests below were captured.
    const CAPTURE_MS: i64 = 1_795_871_112_000;

    /// The first captured request (the old SDK, V1), query parameters in wire order.
    fn v1_capture() -> Vec<(String, String)> {
        pairs(&[
            ("PageSize", "10"),
            ("ObjectType", "file"),
            ("DomainName", "example.com"),
            ("Version", "2018-05-10"),
            ("Action", "DescribeRefreshTasks"),
            ("Format", "JSON"),
            ("RegionId", "cn-hangzhou"),
            ("Timestamp", "2026-11-28T13:05:12Z"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureType", ""),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", "5c146bf0d12bb8de5346c96f46fe4375"),
            ("AccessKeyId", "testAKID"),
            ("Signature", "kQlIZRK6e7e3B4ICjDTiYuEbLc8="),
        ])
    }

    /// A POST without a body.
    fn post<'a>(
        query: &'a [(String, String)],
        headers: &'a [(String, String)],
    ) -> SignedRequest<'a> {
        SignedRequest {
            method: "POST",
            path: "/",
            query,
            form: &[],
            headers,
            body: b"",
        }
    }

    fn v1_request(query: &[(String, String)]) -> SignedRequest<'_> {
        post(query, &[])
    }

    #[test]
    fn v1_test_vector() {
        let query = v1_capture();
        assert_eq!(
            v1_string_to_sign("POST", query.iter()),
            "POST&%2F&AccessKeyId%3DtestAKID%26Action%3DDescribeRefreshTasks%26DomainName%3Dexample.com%26Format%3DJSON%26ObjectType%3Dfile%26PageSize%3D10%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D5c146bf0d12bb8de5346c96f46fe4375%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-28T13%253A05%253A12Z%26Version%3D2018-05-10"
        );
        let verifier = Verifier::new([key()]);
        verifier
            .verify(&v1_request(&query), CAPTURE_MS + 60_000)
            .expect("the captured signature verifies");
        // The same nonce again is a replay.
        let again = verifier.verify(&v1_request(&query), CAPTURE_MS + 61_000);
        assert_eq!(again.expect_err("replay").code(), "SignatureNonceUsed");
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a table: one row per failure, read top to bottom
    fn v1_failures_have_the_gateway_codes() {
        let verifier = Verifier::new([key()]);
        let with = |name: &str, value: Option<&str>| {
            let mut q = v1_capture();
            q.retain(|(k, _)| k != name);
            if let Some(v) = value {
                q.push((name.to_owned(), v.to_owned()));
            }
            q
        };
        type Case = (Vec<(String, String)>, i64, u16, &'static str);
        let cases: [Case; 8] = [
            (
                with("AccessKeyId", None),
                CAPTURE_MS,
                400,
                "MissingAccessKeyId",
            ),
            (
                with("AccessKeyId", Some("nobody")),
                CAPTURE_MS,
                404,
                "InvalidAccessKeyId.NotFound",
            ),
            (with("Signature", None), CAPTURE_MS, 400, "MissingSignature"),
            (
                with("SignatureMethod", Some("HMAC-MD5")),
                CAPTURE_MS,
                400,
                "InvalidSignatureMethod",
            ),
            (
                with("Timestamp", Some("yesterday")),
                CAPTURE_MS,
                400,
                "InvalidTimeStamp.Format",
            ),
            (
                v1_capture(),
                CAPTURE_MS + SKEW_MS_MAX + 1_000,
                400,
                "InvalidTimeStamp.Expired",
            ),
            (
                with("SignatureNonce", None),
                CAPTURE_MS,
                400,
                "MissingSignatureNonce",
            ),
            (
                with("PageSize", Some("11")),
                CAPTURE_MS,
                400,
                "SignatureDoesNotMatch",
            ),
        ];
        for (query, wall_ms, status, code) in cases {
            let e = verifier
                .verify(&v1_request(&query), wall_ms)
                .expect_err(code);
            assert_eq!((e.status(), e.code()), (status, code), "{}", e.message);
        }
        // The mismatch echoes the server's string to sign after the first ':'.
        let e = verifier
            .verify(&v1_request(&with("PageSize", Some("11"))), CAPTURE_MS)
            .expect_err("mismatch");
        let (_, echoed) = e.message.split_once(':').expect("has a colon");
        assert_eq!(
            echoed,
            v1_string_to_sign("POST", with("PageSize", Some("11")).iter())
        );
        // A failed request does not burn its nonce.
        verifier
            .verify(&v1_request(&v1_capture()), CAPTURE_MS)
            .expect("still fresh");
    }

    #[test]
    fn v1_signs_form_parameters_with_plus_decoded() {
        // Tea in v2 mode: business parameters in a form body, spaces as '+'.
        let form = crate::api::encoding::parse_pairs(
            "ObjectPath=http%3A%2F%2Fexample.com%2Fb+c.txt&ObjectType=File",
        )
        .expect("valid");
        let query = pairs(&[("Action", "RefreshObjectCaches")]);
        let sts = v1_string_to_sign("POST", query.iter().chain(&form));
        assert!(sts.contains("b%2520c.txt"), "{sts}");
    }

    fn v3_headers() -> Vec<(String, String)> {
        pairs(&[
            ("host", "127.0.0.1:18555"),
            ("x-acs-version", "2018-05-10"),
            ("x-acs-action", "DescribeRefreshTasks"),
            (
                "user-agent",
                "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
            ),
            ("x-acs-date", "2026-11-28T13:05:14Z"),
            ("x-acs-signature-nonce", "a52417fde58ea23e599a83d5a9400b15"),
            ("accept", "application/json"),
            (
                "x-acs-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("x-acs-credentials-provider", "static_ak"),
            (
                "authorization",
                "ACS3-HMAC-SHA256 Credential=testAKID,SignedHeaders=accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=552a6bedf77709eb6763ed7b2769189c73c59384430526e77668561997e2519e",
            ),
            ("accept-encoding", "identity"),
            ("content-length", "0"),
        ])
    }

    #[test]
    #[allow(clippy::too_many_lines)] // a captured V3 request, step by step, kept whole
    fn v3_test_vector() {
        let query = pairs(&[
            ("DomainName", "example.com"),
            ("ObjectType", "file"),
            ("PageSize", "10"),
        ]);
        let headers = v3_headers();
        let req = post(&query, &headers);
        let auth = Authorization::parse(&headers[9].1).expect("parses");
        let canonical = v3_canonical_request(&req, &auth.signed_headers, &headers[7].1);
        assert_eq!(
            hex(&Sha256::digest(canonical.as_bytes())),
            "1691c19fec4792e6830d707072bca28d0ebb890edcf5160bfc34fc416c301d19"
        );
        let verifier = Verifier::new([key()]);
        verifier
            .verify(&req, CAPTURE_MS)
            .expect("the captured signature verifies");
        assert_eq!(
            verifier
                .verify(&req, CAPTURE_MS)
                .expect_err("replay")
                .code(),
            "SignatureNonceUsed"
        );

        // Anything signed that changes breaks it: a header, the query, the body.
        let verifier = Verifier::new([key()]);
        let mut tampered = headers.clone();
        tampered[1].1 = "2014-11-11".into();
        let e = verifier
            .verify(
                &SignedRequest {
                    headers: &tampered,
                    ..req
                },
                CAPTURE_MS,
            )
            .expect_err("header changed");
        assert_eq!(e.code(), "SignatureDoesNotMatch");
        assert!(
            e.message
                .contains("server string to sign is:ACS3-HMAC-SHA256\n"),
            "{}",
            e.message
        );
        let other_query = pairs(&[("DomainName", "example.com"), ("PageSize", "10")]);
        let e = verifier
            .verify(
                &SignedRequest {
                    query: &other_query,
                    ..req
                },
                CAPTURE_MS,
            )
            .expect_err("query changed");
        assert_eq!(e.code(), "SignatureDoesNotMatch");
        let e = verifier
            .verify(
                &SignedRequest {
                    body: b"x=1",
                    ..req
                },
                CAPTURE_MS,
            )
            .expect_err("body changed");
        assert_eq!(e.code(), "SignatureDoesNotMatch");
        let e = Verifier::new([AccessKey {
            id: "other".into(),
            secret: "s".into(),
        }])
        .verify(&req, CAPTURE_MS)
        .expect_err("unknown key");
        assert_eq!((e.status(), e.code()), (404, "InvalidAccessKeyId.NotFound"));
        let e = verifier
            .verify(&req, CAPTURE_MS - SKEW_MS_MAX - 5_000)
            .expect_err("skew");
        assert_eq!(e.code(), "InvalidTimeStamp.Expired");
        let mut broken = headers.clone();
        broken[9].1 = "ACS3-HMAC-SHA256 Credential=testAKID".into();
        let e = verifier
            .verify(
                &SignedRequest {
                    headers: &broken,
                    ..req
                },
                CAPTURE_MS,
            )
            .expect_err("incomplete");
        assert_eq!(e.code(), "IncompleteSignature");
    }

    #[test]
    fn signers_reproduce_the_captures() {
        let query = v1_capture();
        let unsigned: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "Signature")
            .cloned()
            .collect();
        assert_eq!(
            sign_v1("POST", unsigned.iter(), "testSecret"),
            "kQlIZRK6e7e3B4ICjDTiYuEbLc8="
        );
        let headers = v3_headers();
        let query = pairs(&[
            ("DomainName", "example.com"),
            ("ObjectType", "file"),
            ("PageSize", "10"),
        ]);
        let req = post(&query, &headers);
        let signed = [
            "accept",
            "host",
            "user-agent",
            "x-acs-action",
            "x-acs-content-sha256",
            "x-acs-credentials-provider",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-version",
        ];
        assert_eq!(sign_v3(&req, &key(), &signed), headers[9].1);
        assert_eq!(content_sha256(b""), headers[7].1);
    }

    #[test]
    fn a_nonce_is_remembered_as_long_as_its_timestamp_passes() {
        let verifier = Verifier::new([key()]);
        // Signed 14 minutes ahead of the server's clock: valid until 29 minutes from now.
        let mut query = v1_capture();
        query.retain(|(k, _)| k != "Signature");
        let unsigned = query.clone();
        let sig = sign_v1("POST", unsigned.iter(), "testSecret");
        query.push(("Signature".into(), sig));
        let early = CAPTURE_MS - 14 * 60 * 1000;
        verifier.verify(&v1_request(&query), early).expect("fresh");
        let late = early + 28 * 60 * 1000;
        let e = verifier
            .verify(&v1_request(&query), late)
            .expect_err("replayed");
        assert_eq!(e.code(), "SignatureNonceUsed");
    }

    #[test]
    fn what_decides_a_request_must_be_signed() {
        // V1: the action comes from the signed parameters.
        let mut query = v1_capture();
        query.retain(|(k, _)| k != "Action" && k != "Signature");
        let sig = sign_v1("POST", query.iter(), "testSecret");
        query.push(("Signature".into(), sig));
        let e = Verifier::new([key()])
            .verify(&v1_request(&query), CAPTURE_MS)
            .expect_err("no Action");
        assert_eq!(e.code(), "MissingAction");
        // V3: a signature that leaves out x-acs-date could be replayed with any date.
        let headers = v3_headers();
        let query = pairs(&[("PageSize", "10")]);
        let req = post(&query, &headers);
        let mut signed = headers.clone();
        signed[9].1 = sign_v3(
            &req,
            &key(),
            &[
                "host",
                "x-acs-action",
                "x-acs-content-sha256",
                "x-acs-signature-nonce",
            ],
        );
        let e = Verifier::new([key()])
            .verify(
                &SignedRequest {
                    headers: &signed,
                    ..req
                },
                CAPTURE_MS,
            )
            .expect_err("date unsigned");
        assert_eq!(e.code(), "IncompleteSignature");
        assert!(e.message.contains("x-acs-date"), "{}", e.message);
    }

    #[test]
    fn access_keys_parse() {
        assert_eq!(key().id, "testAKID");
        let k: AccessKey = "id:se:cret".parse().expect("valid");
        assert_eq!(k.secret, "se:cret");
        for bad in ["", "id", ":secret", "id:"] {
            assert!(bad.parse::<AccessKey>().is_err(), "{bad}");
        }
    }
}
