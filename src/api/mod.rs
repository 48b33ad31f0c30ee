//! The CDN query API, independent of HTTP: parameters, validation, errors (and, as the
//! projection lands, rendering). The HTTP server and `cdnsim query` share it.

pub mod error;
pub mod params;

pub use error::ApiError;
pub use params::{ByIdQuery, DescribeQuery, Params, StatusFilter, TypeFilter};
