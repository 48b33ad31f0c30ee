//! Open connections and what each is doing, so that silent and slow clients cannot hold the
//! server's connection slots.
//!
//! A connection is *busy* from the moment a request's handler starts until its response body
//! is finished; *reading a head* from the first byte of a request that arrives while it is not
//! busy until its handler starts; *idle* otherwise (before its first request, and between
//! keep-alive requests). A reaper closes a connection idle for the idle timeout, or reading
//! one head for longer than the (shorter) header timeout. When every slot is taken and a new
//! client is waiting, the connection idle the longest — else the one reading a head the
//! longest — is closed to make room. A busy connection is never closed.
//!
//! Wall time measures connections only; it never reaches the log or a body.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Bytes, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::locks;

/// Every open connection.
#[derive(Debug)]
pub struct Conns {
    slots: Mutex<BTreeMap<u64, Arc<Slot>>>,
    next_id: AtomicU64,
    epoch: std::time::Instant,
}

/// One connection's state.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    /// Requests being answered.
    busy: AtomicU32,
    /// When the connection last became idle (ms since the epoch).
    idle_since: AtomicU64,
    /// One more than when the first byte of a head arrived while idle; 0 when none has.
    head_since: AtomicU64,
    /// Told to close.
    close: Notify,
}

impl Default for Conns {
    fn default() -> Conns {
        Conns {
            slots: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(0),
            // Wall time, for connection ages only (see the module docs).
            #[allow(clippy::disallowed_methods)]
            epoch: std::time::Instant::now(),
        }
    }
}

impl Conns {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Registers a new connection (idle from now).
    pub fn open(self: &Arc<Self>) -> Arc<Slot> {
        let slot = Arc::new(Slot {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            busy: AtomicU32::new(0),
            idle_since: AtomicU64::new(self.now_ms()),
            head_since: AtomicU64::new(0),
            close: Notify::new(),
        });
        locks::lock(&self.slots).insert(slot.id, Arc::clone(&slot));
        slot
    }

    /// Forgets a closed connection.
    pub fn closed(&self, slot: &Slot) {
        locks::lock(&self.slots).remove(&slot.id);
    }

    /// Tells the connection idle the longest (else the one reading a head the longest) to
    /// close, to make room for a new client; false when every connection is busy.
    pub fn evict_one(&self) -> bool {
        let slots = locks::lock(&self.slots);
        let victim = slots
            .values()
            .filter(|s| s.busy.load(Ordering::Acquire) == 0)
            .min_by_key(|s| {
                let head = s.head_since.load(Ordering::Acquire);
                // Idle ones (no head started) first, oldest first; then the slowest heads.
                (
                    head != 0,
                    if head == 0 {
                        s.idle_since.load(Ordering::Acquire)
                    } else {
                        head
                    },
                )
            });
        match victim {
            Some(slot) => {
                slot.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Closes connections idle for `idle` or reading one head for longer than `header`, every
    /// quarter of a second, forever.
    pub async fn reap(self: Arc<Self>, idle: Duration, header: Duration) {
        let mut ticks = tokio::time::interval(Duration::from_millis(250));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (idle, header) = (idle.as_millis() as u64, header.as_millis() as u64);
        loop {
            ticks.tick().await;
            let now = self.now_ms();
            for slot in locks::lock(&self.slots).values() {
                if slot.busy.load(Ordering::Acquire) > 0 {
                    continue;
                }
                let head = slot.head_since.load(Ordering::Acquire);
                let expired = if head == 0 {
                    now.saturating_sub(slot.idle_since.load(Ordering::Acquire)) > idle
                } else {
                    now.saturating_sub(head - 1) > header
                };
                if expired {
                    slot.close.notify_one();
                }
            }
        }
    }

    /// A request's handler starts on `slot`: busy until the returned guard is dropped (with
    /// the response body).
    pub fn enter(self: &Arc<Self>, slot: &Arc<Slot>) -> Busy {
        slot.busy.fetch_add(1, Ordering::AcqRel);
        slot.head_since.store(0, Ordering::Release);
        Busy {
            conns: Arc::clone(self),
            slot: Arc::clone(slot),
        }
    }

    fn saw_bytes(&self, slot: &Slot) {
        if slot.busy.load(Ordering::Acquire) == 0 && slot.head_since.load(Ordering::Acquire) == 0 {
            slot.head_since.store(self.now_ms() + 1, Ordering::Release);
        }
    }
}

impl Slot {
    /// Waits until the connection is told to close while it is not busy.
    pub async fn closing(&self) {
        loop {
            self.close.notified().await;
            if self.busy.load(Ordering::Acquire) == 0 {
                return;
            }
        }
    }
}

/// A request being answered; dropped with its response body.
#[derive(Debug)]
pub struct Busy {
    conns: Arc<Conns>,
    slot: Arc<Slot>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.slot.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            let now = self.conns.now_ms();
            self.slot.idle_since.store(now, Ordering::Release);
        }
    }
}

/// A response body that keeps its connection busy until it is finished or dropped.
pub struct BusyBody {
    /// The body.
    pub inner: super::Body,
    /// The connection's busy mark.
    pub busy: Busy,
}

impl hyper::body::Body for BusyBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A TCP stream that tells its connection's slot when request bytes arrive.
pub struct Watched {
    stream: TcpStream,
    conns: Arc<Conns>,
    slot: Arc<Slot>,
}

impl Watched {
    /// Watches `stream` for `slot`.
    pub fn new(stream: TcpStream, conns: Arc<Conns>, slot: Arc<Slot>) -> Watched {
        Watched {
            stream,
            conns,
            slot,
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conns.saw_bytes(&self.slot);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
