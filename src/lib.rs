//! cdnsim: a deterministic, event-sourced local simulator of Alibaba Cloud CDN refresh and
//! preload tasks.
//!
//! # Layout
//!
//! - [`event`]: the event model — [`event::Record`] (seq, virtual time, [`event::Event`]),
//!   TaskIds, object types, failure reasons, process.
//! - [`log`]: the append-only log — header, framed records, the bincode [`log::codec`],
//!   [`log::LogWriter`] (buffered, flush/sync, torn-tail recovery), [`log::Records`] (streaming
//!   reader) and [`log::LogFile`] (sparse index, seek by seq or time).
//! - [`scenario`]: scenario files → validated [`scenario::Scenario`].
//! - [`sim`]: the deterministic discrete-event simulator (pure: no threads, files or channels).
//! - [`drive`]: the drivers that move events from the simulator to the log and from the log to
//!   the read model (`run_to`, `load`, `simulate_to_log`, `resume`).
//! - [`objpath`]: submitted object paths (scheme, domain).
//! - [`projection`]: the temporal projection — task rows and their state as of any time.
//! - [`model`]: the read model — projection, quota ledger, account — with one `apply`.
//! - [`api`]: the CDN API independent of HTTP — the action registry and its one dispatcher,
//!   parameters, validation order, error codes, JSON/XML bodies, percent-encoding, V1/V3
//!   signatures, the pure write decision.
//! - [`server`]: `cdnsim serve` — hyper on tokio, the clock, the admin endpoints.
//! - [`locks`]: the one poison policy for std locks.
//! - [`testing`]: an in-process server for Rust tests ([`testing::TestServer`]).
//! - [`dump`]: the JSON-lines view of events.
//! - [`time`]: rendering and parsing virtual time.
//! - [`cli`]: the `cdnsim` subcommands; `src/bin/cdnsim.rs` is a thin wrapper.
//!
//! Data flows scenario → simulator → log → read model → API → HTTP; see ARCHITECTURE.md (its
//! "Layers" table says which module may use which; `tests/layers.rs` enforces it).

#![warn(missing_docs)]
// One audited exception: the SSE 4.2 small-frame checksum (`log::crc`).
#![deny(unsafe_code)]
// Library functions stay short enough to read whole (the limit is in clippy.toml).
#![warn(clippy::too_many_lines)]

pub mod api;
pub mod cli;
pub mod drive;
pub mod dump;
pub mod event;
pub mod locks;
pub mod log;
pub mod model;
pub mod objpath;
pub mod projection;
pub mod scenario;
pub mod server;
pub mod sim;
pub mod testing;
pub mod time;
