//! Response bodies in JSON and XML, shaped as the real service sends them. The HTTP server and `cdnsim query` both use
//! these, so their bodies are byte-identical.

use quick_xml::escape::escape;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use std::io::Write as _;

use crate::event::{TaskId, TimeMs};
use crate::projection::{Page, RowView};
use crate::time::format_second;

/// Response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json;charset=utf-8`.
    Json,
    /// `text/xml;charset=utf-8` (the V1 default when `Format` is absent).
    Xml,
}

impl Format {
    /// The Content-Type header value (Tea parses XML errors only with exactly this one).
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json;charset=utf-8",
            Format::Xml => "text/xml;charset=utf-8",
        }
    }
}

/// `HostId` of error bodies.
pub const HOST_ID: &str = "cdn.aliyuncs.com";

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// `<?xml ...?><root>inner</root>`; `inner` must be escaped already.
pub fn xml_document(root: &str, inner: &str) -> String {
    format!("{XML_DECLARATION}<{root}>{inner}</{root}>")
}

/// A JSON object of string fields, in the order given.
pub fn json_strings(fields: &[(&str, &str)]) -> String {
    let members: Vec<String> = fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}:{}",
                serde_json::Value::from(*k),
                serde_json::Value::from(*v)
            )
        })
        .collect();
    format!("{{{}}}", members.join(","))
}

/// A RequestId derived from what determines the answer (upper-case UUID form), so the same
/// request against the same state always gets the same id.
pub fn request_id(parts: &[&[u8]]) -> String {
    let mut hash = RequestIdHash::default();
    for part in parts {
        hash.part(&[part]);
    }
    hash.finish()
}

/// The hash behind a RequestId, fed part by part; a part may come in pieces (hashed as their
/// concatenation, without building it).
#[derive(Default)]
pub struct RequestIdHash(Sha256);

impl RequestIdHash {
    /// Adds one part: its length, then its bytes (the concatenated `pieces`).
    pub fn part(&mut self, pieces: &[&[u8]]) {
        let len: usize = pieces.iter().map(|p| p.len()).sum();
        self.0.update((len as u64).to_le_bytes());
        for piece in pieces {
            self.0.update(piece);
        }
    }

    /// The RequestId: the first 16 bytes of the hash in upper-case hex, grouped 8-4-4-4-12.
    pub fn finish(self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let digest = self.0.finalize();
        let mut id = String::with_capacity(36);
        for (i, b) in digest[..16].iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                id.push('-');
            }
            id.push(char::from(HEX[usize::from(b >> 4)]));
            id.push(char::from(HEX[usize::from(b & 0xF)]));
        }
        id
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskJson<'a> {
    task_id: String,
    object_path: &'a str,
    status: &'static str,
    process: String,
    object_type: &'static str,
    creation_time: String,
    description: &'static str,
}

impl<'a> From<&'a RowView> for TaskJson<'a> {
    fn from(row: &'a RowView) -> TaskJson<'a> {
        TaskJson {
            task_id: row.task_id.to_string(),
            object_path: &row.object_path,
            status: row.status.as_str(),
            process: row.process.to_string(),
            object_type: row.object_type.as_str(),
            creation_time: format_second(row.creation_ms),
            description: row.reason.map_or("", |r| r.as_str()),
        }
    }
}

/// A JSON string, escaped exactly as serde_json escapes it.
fn json_str(out: &mut Vec<u8>, text: &str) {
    // serde_json escapes `"`, `\` and control characters only: text without them (every
    // path the simulator makes) is copied as it is.
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// The JSON array of `rows`, byte for byte what serde_json makes of a `Vec<TaskJson>`, written
/// straight into `out`: the hot path of DescribeRefreshTasks and DescribeRefreshTaskById,
/// without a string allocated per field. Rows of one day share its date's rendering.
fn tasks_json(out: &mut Vec<u8>, rows: &[RowView]) {
    out.push(b'[');
    let mut day: Option<(TimeMs, String)> = None;
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"TaskId\":\"");
        out.extend_from_slice(itoa::Buffer::new().format(row.task_id.0).as_bytes());
        out.extend_from_slice(b"\",\"ObjectPath\":");
        json_str(out, &row.object_path);
        out.extend_from_slice(b",\"Status\":\"");
        out.extend_from_slice(row.status.as_str().as_bytes());
        out.extend_from_slice(b"\",\"Process\":\"");
        // As `Process`'s Display: "42%" when whole, else two decimals ("99.37%").
        let bp = row.process.basis_points();
        out.extend_from_slice(itoa::Buffer::new().format(bp / 100).as_bytes());
        if bp % 100 != 0 {
            out.push(b'.');
            two_digits(out, i64::from(bp % 100));
        }
        out.extend_from_slice(b"%\",\"ObjectType\":\"");
        out.extend_from_slice(row.object_type.as_str().as_bytes());
        out.extend_from_slice(b"\",\"CreationTime\":\"");
        creation_time(out, row.creation_ms, &mut day);
        out.extend_from_slice(b"\",\"Description\":\"");
        out.extend_from_slice(row.reason.map_or("", |r| r.as_str()).as_bytes());
        out.extend_from_slice(b"\"}");
    }
    out.push(b']');
}

/// [`format_second`] of `at_ms`, the date taken from `day` when it is that day's (else
/// rendered once and kept there).
fn creation_time(out: &mut Vec<u8>, at_ms: TimeMs, day: &mut Option<(TimeMs, String)>) {
    const DAY_MS: TimeMs = 86_400_000;
    let (number, in_day) = (at_ms.div_euclid(DAY_MS), at_ms.rem_euclid(DAY_MS) / 1000);
    let date = match day {
        Some((n, date)) if *n == number => date,
        _ => &mut day.insert((number, format_second(number * DAY_MS))).1,
    };
    // `YYYY-MM-DDT00:00:00Z` for every time of the timeline (years 1970 to 9999).
    match date.get(..11).filter(|_| date.len() == 20) {
        Some(prefix) => {
            out.extend_from_slice(prefix.as_bytes());
            for (i, part) in [in_day / 3600, in_day / 60 % 60, in_day % 60]
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    out.push(b':');
                }
                two_digits(out, part);
            }
            out.push(b'Z');
        }
        None => out.extend_from_slice(format_second(at_ms).as_bytes()),
    }
}

/// `n` (0 to 99) as two digits.
fn two_digits(out: &mut Vec<u8>, n: i64) {
    let n = n.clamp(0, 99) as u8;
    out.extend_from_slice(&[b'0' + n / 10, b'0' + n % 10]);
}

fn task_xml(out: &mut String, element: &str, row: &RowView) {
    let t = TaskJson::from(row);
    out.push_str(&format!("<{element}>"));
    for (name, value) in [
        ("TaskId", t.task_id.as_str()),
        ("ObjectPath", t.object_path),
        ("Status", t.status),
        ("Process", t.process.as_str()),
        ("ObjectType", t.object_type),
        ("CreationTime", t.creation_time.as_str()),
    ] {
        out.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    match t.description {
        "" => out.push_str("<Description/>"),
        d => out.push_str(&format!("<Description>{}</Description>", escape(d))),
    }
    out.push_str(&format!("</{element}>"));
}

/// The DescribeRefreshTasks body.
pub fn describe_tasks(
    format: Format,
    request_id: &str,
    page: &Page,
    number: u32,
    size: u32,
) -> String {
    match format {
        Format::Json => {
            let mut out = Vec::with_capacity(160 + 224 * page.rows.len());
            out.extend_from_slice(b"{\"RequestId\":");
            json_str(&mut out, request_id);
            let _ = write!(
                out,
                ",\"PageNumber\":{number},\"PageSize\":{size},\"TotalCount\":{},\
                 \"Tasks\":{{\"CDNTask\":",
                page.total
            );
            tasks_json(&mut out, &page.rows);
            out.extend_from_slice(b"}}");
            String::from_utf8(out).unwrap_or_default()
        }
        Format::Xml => {
            let mut out = format!("{XML_DECLARATION}<DescribeRefreshTasksResponse>");
            out.push_str(&format!("<RequestId>{}</RequestId>", escape(request_id)));
            out.push_str(&format!(
                "<PageNumber>{number}</PageNumber><PageSize>{size}</PageSize>"
            ));
            out.push_str(&format!("<TotalCount>{}</TotalCount>", page.total));
            if page.rows.is_empty() {
                out.push_str("<Tasks/>");
            } else {
                out.push_str("<Tasks>");
                for row in &page.rows {
                    task_xml(&mut out, "CDNTask", row);
                }
                out.push_str("</Tasks>");
            }
            out.push_str("</DescribeRefreshTasksResponse>");
            out
        }
    }
}

/// The DescribeRefreshTaskById body: a bare `Tasks` array, no paging.
pub fn tasks_by_id(format: Format, request_id: &str, page: &Page) -> String {
    match format {
        Format::Json => {
            let mut out = Vec::with_capacity(96 + 224 * page.rows.len());
            out.extend_from_slice(b"{\"RequestId\":");
            json_str(&mut out, request_id);
            let _ = write!(out, ",\"TotalCount\":{},\"Tasks\":", page.total);
            tasks_json(&mut out, &page.rows);
            out.push(b'}');
            String::from_utf8(out).unwrap_or_default()
        }
        Format::Xml => {
            let mut out = format!("{XML_DECLARATION}<DescribeRefreshTaskByIdResponse>");
            out.push_str(&format!("<RequestId>{}</RequestId>", escape(request_id)));
            out.push_str(&format!("<TotalCount>{}</TotalCount>", page.total));
            for row in &page.rows {
                task_xml(&mut out, "Tasks", row);
            }
            out.push_str("</DescribeRefreshTaskByIdResponse>");
            out
        }
    }
}

/// An error body: `{RequestId, HostId, Code, Message, Recommend}`.
pub fn error(format: Format, request_id: &str, e: &ApiError) -> String {
    let recommend = format!(
        "https://error-center.aliyun.com/status/search?Keyword={}&source=PopGw",
        e.code()
    );
    match format {
        Format::Json => {
            #[derive(Serialize)]
            #[serde(rename_all = "PascalCase")]
            struct Body<'a> {
                request_id: &'a str,
                host_id: &'a str,
                code: &'a str,
                message: &'a str,
                recommend: &'a str,
            }
            let body = Body {
                request_id,
                host_id: HOST_ID,
                code: e.code(),
                message: &e.message,
                recommend: &recommend,
            };
            serde_json::to_string(&body).unwrap_or_default()
        }
        Format::Xml => format!(
            "{XML_DECLARATION}<Error><RequestId>{}</RequestId><HostId>{HOST_ID}</HostId>\
             <Code>{}</Code><Message>{}</Message><Recommend>{}</Recommend></Error>",
            escape(request_id),
            escape(e.code()),
            escape(e.message.as_ref()),
            escape(recommend.as_str()),
        ),
    }
}

/// The RefreshObjectCaches (`RefreshTaskId`) or PushObjectCache (`PushTaskId`) body: the
/// distinct TaskIds, comma-joined.
pub fn submitted(format: Format, request_id: &str, preload: bool, task_ids: &[TaskId]) -> String {
    let ids: Vec<String> = task_ids.iter().map(TaskId::to_string).collect();
    let ids = ids.join(",");
    let (root, field) = if preload {
        ("PushObjectCacheResponse", "PushTaskId")
    } else {
        ("RefreshObjectCachesResponse", "RefreshTaskId")
    };
    match format {
        Format::Json => json_strings(&[(field, &ids), ("RequestId", request_id)]),
        Format::Xml => xml_document(
            root,
            &format!("<{field}>{ids}</{field}><RequestId>{request_id}</RequestId>"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FailReason, ObjectType, Process, TaskId};
    use crate::projection::Status;
    use proptest::prelude::*;

    fn row() -> impl Strategy<Value = RowView> {
        let status = prop::sample::select(vec![
            Status::Pending,
            Status::Refreshing,
            Status::Complete,
            Status::Failed,
        ]);
        let reason = prop::option::of(prop::sample::select(FailReason::ALL.to_vec()));
        (
            any::<u64>(),
            // Quotes, backslashes, control characters and non-ASCII text among the paths.
            "[a-z/\"\\\\\u{0}-\u{1f}\u{7f}é中🙂]{0,40}",
            status,
            0u16..=10_000,
            prop::sample::select(ObjectType::ALL.to_vec()),
            crate::time::MIN_MS..=crate::time::MAX_MS,
            reason,
        )
            .prop_map(
                |(id, path, status, bp, object_type, at_ms, reason)| RowView {
                    task_id: TaskId(id),
                    object_path: format!("http://a.example.com/{path}"),
                    status,
                    process: Process::from_basis_points(bp).unwrap_or(Process::ZERO),
                    object_type,
                    creation_ms: at_ms.div_euclid(1000) * 1000,
                    reason,
                },
            )
    }

    proptest! {
        /// The hand-written task list is serde_json's, byte for byte, for any rows (rows of
        /// one day and of many, paths that need escaping, every status, type and reason).
        #[test]
        fn tasks_json_is_serde_jsons(
            mut rows in prop::collection::vec(row(), 0..30),
            same_day in any::<bool>(),
        ) {
            if same_day {
                for r in &mut rows {
                    r.creation_ms = 1_795_000_000_000 + r.creation_ms.rem_euclid(86_400) * 1000;
                }
            }
            let mut fast = Vec::new();
            tasks_json(&mut fast, &rows);
            let tasks: Vec<TaskJson<'_>> = rows.iter().map(TaskJson::from).collect();
            let oracle = serde_json::to_string(&tasks).unwrap_or_default();
            prop_assert_eq!(String::from_utf8(fast).unwrap_or_default(), oracle);
        }
    }

    fn page() -> Page {
        Page {
            total: 2,
            rows: vec![
                RowView {
                    task_id: TaskId(14_286_878_547),
                    object_path: "http://a.com/x?a=1&b=<2>".into(),
                    status: Status::Failed,
                    process: Process::from_basis_points(9937).unwrap_or(Process::ZERO),
                    object_type: ObjectType::File,
                    creation_ms: 1_417_076_602_000,
                    reason: Some(FailReason::OriginTimeout),
                },
                RowView {
                    task_id: TaskId(7),
                    object_path: "http://a.com/".into(),
                    status: Status::Complete,
                    process: Process::FULL,
                    object_type: ObjectType::Directory,
                    creation_ms: 1_417_076_600_000,
                    reason: None,
                },
            ],
        }
    }

    #[test]
    fn json_shapes() {
        let body = describe_tasks(Format::Json, "R", &page(), 1, 20);
        assert_eq!(
            body,
            r#"{"RequestId":"R","PageNumber":1,"PageSize":20,"TotalCount":2,"Tasks":{"CDNTask":[{"TaskId":"14286878547","ObjectPath":"http://a.com/x?a=1&b=<2>","Status":"Failed","Process":"99.37%","ObjectType":"file","CreationTime":"2014-11-27T08:23:22Z","Description":"Origin timeout"},{"TaskId":"7","ObjectPath":"http://a.com/","Status":"Complete","Process":"100%","ObjectType":"directory","CreationTime":"2014-11-27T08:23:20Z","Description":""}]}}"#
        );
        let by_id = tasks_by_id(Format::Json, "R", &page());
        assert!(
            by_id
                .starts_with(r#"{"RequestId":"R","TotalCount":2,"Tasks":[{"TaskId":"14286878547""#),
            "{by_id}"
        );
        let empty = describe_tasks(
            Format::Json,
            "R",
            &Page {
                total: 0,
                rows: vec![],
            },
            3,
            5,
        );
        assert!(
            empty.ends_with(r#""TotalCount":0,"Tasks":{"CDNTask":[]}}"#),
            "{empty}"
        );
    }

    #[test]
    fn xml_shapes_escape_text() {
        let body = describe_tasks(Format::Xml, "R", &page(), 1, 20);
        assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeRefreshTasksResponse><RequestId>R</RequestId><PageNumber>1</PageNumber>"), "{body}");
        assert!(
            body.contains("<ObjectPath>http://a.com/x?a=1&amp;b=&lt;2&gt;</ObjectPath>"),
            "{body}"
        );
        assert!(
            body.contains("<Description/></CDNTask></Tasks></DescribeRefreshTasksResponse>"),
            "{body}"
        );
        let by_id = tasks_by_id(Format::Xml, "R", &page());
        assert_eq!(by_id.matches("<Tasks>").count(), 2, "{by_id}");
        let empty = describe_tasks(
            Format::Xml,
            "R",
            &Page {
                total: 0,
                rows: vec![],
            },
            1,
            20,
        );
        assert!(
            empty.contains("<TotalCount>0</TotalCount><Tasks/>"),
            "{empty}"
        );
    }

    #[test]
    fn errors_and_request_ids() {
        let e = ApiError::from(crate::api::ErrorKind::InvalidTime);
        let body = error(Format::Json, "R", &e);
        assert!(body.starts_with(r#"{"RequestId":"R","HostId":"cdn.aliyuncs.com","Code":"InvalidTime","Message":"The query time cannot exceed the last 3 days.","Recommend":"#), "{body}");
        assert!(error(Format::Xml, "R", &e).contains("<Error><RequestId>R</RequestId><HostId>cdn.aliyuncs.com</HostId><Code>InvalidTime</Code>"));
        let id = request_id(&[b"a", b"b"]);
        assert_eq!(id.len(), 36);
        assert_eq!(id, request_id(&[b"a", b"b"]));
        assert_ne!(id, request_id(&[b"ab"]));
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
    }
}
