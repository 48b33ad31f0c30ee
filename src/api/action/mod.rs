//! The action registry: every API action cdnsim answers, one module each.
//!
//! An action module turns a request into an answer in three steps — parse its parameters
//! (checked in the order the real service checks them, the first failure answering), run
//! against the [`ReadModel`], render the body — behind one function:
//!
//! ```text
//! pub(super) const WRITES: bool = false;
//! pub(super) fn handle(model: &ReadModel, request: &Request<'_>) -> Result<Handled, ApiError>
//! ```
//!
//! A reading action answers [`Handled::Body`]. A writing action checks what it can without
//! the log and answers [`Handled::Write`]: the caller (the server) decides it against the
//! model under the log's writer ([`crate::api::write::decide`]), appends, waits until it is
//! durable and renders the TaskIds with [`crate::api::PendingWrite::done`].
//!
//! Adding an action: write its module here, and add one line to the `actions!` list below.

mod describe_refresh_quota;
mod describe_refresh_task_by_id;
mod describe_refresh_tasks;
mod push_object_cache;
mod refresh_object_caches;

pub use describe_refresh_task_by_id::parse as parse_by_id;
pub use describe_refresh_tasks::parse as parse_describe;

use super::error::ApiError;
use super::params::Params;
use super::render::Format;
use super::write::WriteRequest;
use crate::event::TimeMs;
use crate::model::ReadModel;

/// What an action is asked, once the request has passed the checks every action shares.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The parameters, decoded.
    pub params: &'a Params,
    /// The time the answer is as of.
    pub at_ms: TimeMs,
    /// The body's format.
    pub format: Format,
    /// The answer's RequestId.
    pub request_id: &'a str,
    /// The request named its time (`x-cdnsim-replay-time`): writes refuse it.
    pub replayed: bool,
    /// Writes are possible (false when serving a finished log, and for `cdnsim query`).
    pub writable: bool,
}

/// What an action made of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The body of a 200 answer.
    Body(String),
    /// A checked write, for the caller to decide, log and answer.
    Write(WriteRequest),
}

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $module:ident,)*) => {
        /// An API action cdnsim answers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action {
            $($(#[$doc])* $variant,)*
        }

        impl Action {
            /// Every action, in registry order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The action's name, as the `Action` parameter and `x-acs-action` give it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => stringify!($variant),)*
                }
            }

            /// True for an action that creates rows (it answers [`Handled::Write`]).
            pub fn writes(self) -> bool {
                match self {
                    $(Action::$variant => $module::WRITES,)*
                }
            }

            /// Answers `request` against `model`.
            pub fn handle(
                self,
                model: &ReadModel,
                request: &Request<'_>,
            ) -> Result<Handled, ApiError> {
                match self {
                    $(Action::$variant => $module::handle(model, request),)*
                }
            }
        }
    };
}

actions! {
    /// Task rows as of a time, filtered and paged.
    DescribeRefreshTasks => describe_refresh_tasks,
    /// The rows of up to ten TaskIds.
    DescribeRefreshTaskById => describe_refresh_task_by_id,
    /// Submit refreshes (writes).
    RefreshObjectCaches => refresh_object_caches,
    /// Submit preloads (writes).
    PushObjectCache => push_object_cache,
    /// Daily quotas and what is left of them.
    DescribeRefreshQuota => describe_refresh_quota,
}

impl Action {
    /// The action called `name` (exact case), if cdnsim answers it.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }
}

/// The refusal every write gives where it cannot write: a read-only server, or a request
/// that asked for an answer as of an earlier time.
fn writable(action: Action, request: &Request<'_>) -> Result<(), ApiError> {
    if !request.writable {
        return Err(ApiError::read_only(action.name()));
    }
    if request.replayed {
        return Err(ApiError::bad_replay_time(
            "applies to reading actions only; writes happen at the clock",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
        assert_eq!(Action::from_name("describerefreshtasks"), None);
        assert_eq!(Action::from_name(""), None);
    }
}
