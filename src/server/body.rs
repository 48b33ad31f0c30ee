//! Response bodies shared by the API endpoint and the admin endpoints.

use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use super::Body;

/// A full body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}
