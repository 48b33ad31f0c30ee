//! `cdnsim query LOG [--at T] KEY=VALUE...`: the body the HTTP endpoint would answer.

use std::io::Write;
use std::path::PathBuf;

use super::{CliError, Outcome};
use crate::api::{self, Answer, ApiError, Format, Params};
use crate::drive;
use crate::model::Account;
use crate::time::parse_rfc3339;

/// Print the exact response body the HTTP endpoint would give for these parameters as of a
/// time, byte-identical on every run.
///
/// Parameters are KEY=VALUE words, as in the query string but not percent-encoded:
/// `Action` (DescribeRefreshTasks, the default, DescribeRefreshTaskById or
/// DescribeRefreshQuota), `Format` (XML, the real default, or JSON), and the action's own
/// (TaskId, ObjectPath, DomainName, ObjectType, Status, StartTime, EndTime, PageNumber,
/// PageSize). API limits and quotas are today's defaults; write actions answer 403
/// Forbidden.ReadOnly, as `serve --log` does. Exit 0 for a 2xx answer, 2 for an error answer
/// (its body is printed too).
///
/// Example: cdnsim query run.cdnlog --at 2026-11-20T10:00:00Z Format=JSON ObjectType=file
/// Status=Failed
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The log file (`*.cdnlog`).
    log: PathBuf,
    /// Replay time, RFC 3339 (default: the time of the log's last event).
    #[arg(long, value_name = "T")]
    at: Option<String>,
    /// Request parameters, KEY=VALUE.
    #[arg(value_name = "KEY=VALUE")]
    params: Vec<String>,
}

pub(super) fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome, CliError> {
    let mut pairs = Vec::with_capacity(args.params.len());
    for word in &args.params {
        let Some((key, value)) = word.split_once('=') else {
            return Err(CliError::Usage(format!(
                "parameter {word:?} is not KEY=VALUE"
            )));
        };
        pairs.push((key.to_owned(), value.to_owned()));
    }
    let params = Params(pairs);
    let model = drive::load(&args.log, Account::default())?;
    let at_ms = match &args.at {
        Some(text) => parse_rfc3339(text).ok_or_else(|| {
            CliError::Usage(format!(
                "--at {text:?} is not an RFC 3339 time {}",
                crate::time::RANGE
            ))
        })?,
        None => model.last_ms().unwrap_or(0),
    };
    let action = params.get("Action").unwrap_or("DescribeRefreshTasks");
    let call = api::Call {
        action,
        params: &params,
        at_ms,
        replayed: false,
        writable: false,
        default_format: Format::Xml,
        version: params.get("Version"),
    };
    let response = match api::answer(&model, &call) {
        Answer::Done(response) => response,
        // Not writable: every write action refuses before this.
        Answer::Write(pending) => pending.done(Err(ApiError::read_only(action))),
    };
    writeln!(out, "{}", response.body)?;
    Ok(if (200..300).contains(&response.status) {
        Outcome::Ok
    } else {
        Outcome::BadInput
    })
}
