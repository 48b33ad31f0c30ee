//! DescribeRefreshQuota: each type's daily quota and what is left of it as of the request's
//! time (the day starts at the account's local midnight). Takes no parameters of its own.

use super::{Handled, Request};
use crate::api::error::ApiError;
use crate::api::render::{Format, json_strings, xml_document};
use crate::event::ObjectType;
use crate::model::{QuotaView, ReadModel};

/// Reads only.
pub(super) const WRITES: bool = false;

pub(super) fn handle(model: &ReadModel, request: &Request<'_>) -> Result<Handled, ApiError> {
    let view = model.quota_view(request.at_ms);
    Ok(Handled::Body(render(
        request.format,
        request.request_id,
        &view,
    )))
}

/// The DescribeRefreshQuota body: every value a string, in the documented demo's order.
fn render(format: Format, request_id: &str, view: &QuotaView) -> String {
    let of = |t: ObjectType| view.by_type[t];
    let pairs: [(&str, (u32, u32)); 7] = [
        ("Url", of(ObjectType::File)),
        ("Dir", of(ObjectType::Directory)),
        ("Preload", of(ObjectType::Preload)),
        ("Regex", of(ObjectType::Regex)),
        ("Block", (view.block, view.block)),
        ("IgnoreParams", of(ObjectType::IgnoreParams)),
        ("PreloadEdge", (view.preload_edge, view.preload_edge)),
    ];
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, (quota, remain)) in pairs {
        fields.push((format!("{name}Quota"), quota.to_string()));
        fields.push((format!("{name}Remain"), remain.to_string()));
    }
    match format {
        Format::Json => {
            let mut all: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            all.push(("RequestId", request_id));
            json_strings(&all)
        }
        Format::Xml => {
            let mut body = String::new();
            for (k, v) in fields {
                body.push_str(&format!("<{k}>{v}</{k}>"));
            }
            body.push_str(&format!("<RequestId>{request_id}</RequestId>"));
            xml_document("DescribeRefreshQuotaResponse", &body)
        }
    }
}
