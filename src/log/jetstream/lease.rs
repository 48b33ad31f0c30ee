//! The writer lease: which process may append to a simulation's stream.
//!
//! Safety is the fence (every publish names the stream sequence it extends, so a deposed
//! writer is refused); the lease is liveness: it makes one writer at a time *try*. It is a key
//! (the simulation's name) in the key-value bucket [`BUCKET`], whose entries expire after
//! [`TTL`] without renewal. A candidate creates the key — refused while another holds it —
//! and the revision it gets is its *epoch*, part of every message id it publishes (so a
//! retry of a deposed writer is never taken for a duplicate of its successor's message). The
//! holder renews every [`TTL`]`/3`; a holder that could not renew for half of it stops
//! committing (before any rival can have the key) until it renews again, or takes the key
//! anew with a new epoch if it expired meanwhile (a cluster electing leaders) and nobody else
//! took it. Only a key taken by another writer loses the lease for good.
//!
//! Wall time decides here, by necessity: a lease is about real processes dying. Nothing of it
//! reaches the log or an answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;

use super::{JetStreamError, Target, nats};

/// The key-value bucket of writer leases (one key per simulation).
pub const BUCKET: &str = "cdnsim_leases";
/// How long a lease outlives its last renewal.
pub const TTL: Duration = Duration::from_secs(3);
/// Longest a holder goes without a renewal before it stops committing.
const HOLD: Duration = Duration::from_millis(1_500);

/// A held lease, renewed in the background until dropped or lost.
#[derive(Debug)]
pub struct Lease {
    state: Arc<Held>,
    renewer: tokio::task::JoinHandle<()>,
    store: kv::Store,
    key: String,
}

#[derive(Debug)]
struct Held {
    /// The revision the key got when this holder created it: the writer's epoch.
    epoch: AtomicU64,
    /// The key's revision after the last renewal.
    revision: AtomicU64,
    /// Milliseconds since `since` of the last successful renewal.
    renewed_ms: AtomicU64,
    since: tokio::time::Instant,
    lost: AtomicBool,
}

impl Held {
    fn held(&self) -> bool {
        let age = self.since.elapsed().as_millis() as u64;
        !self.lost.load(Ordering::Acquire)
            && age.saturating_sub(self.renewed_ms.load(Ordering::Acquire)) < HOLD.as_millis() as u64
    }
}

/// A handle on a lease's state.
#[derive(Debug, Clone)]
pub struct LeaseWatch(Arc<Held>);

/// Where a writer stands with its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Held: it may publish.
    Held,
    /// Not renewed lately (a cluster electing leaders): wait, it may come back.
    Waiting,
    /// Another writer took it: stop.
    Lost,
}

impl LeaseWatch {
    /// Where the writer stands now.
    pub fn standing(&self) -> Standing {
        if self.0.lost.load(Ordering::Acquire) {
            Standing::Lost
        } else if self.0.held() {
            Standing::Held
        } else {
            Standing::Waiting
        }
    }
}

impl Lease {
    /// The epoch of the current hold.
    pub fn epoch(&self) -> u64 {
        self.state.epoch.load(Ordering::Acquire)
    }

    /// A handle on the lease's state, for checks on another thread.
    pub fn watch(&self) -> LeaseWatch {
        LeaseWatch(Arc::clone(&self.state))
    }

    /// Stops renewing (this writer stopped): the lease expires after [`TTL`], and a standby
    /// takes over.
    pub fn give_up(&self) {
        self.renewer.abort();
        self.state.lost.store(true, Ordering::Release);
    }

    /// Gives the lease up and deletes the key (if this holder still has it), so that a
    /// standby takes over at once instead of after [`TTL`].
    pub fn release(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.give_up();
        let (store, key) = (self.store.clone(), self.key.clone());
        let revision = self.state.revision.load(Ordering::Acquire);
        async move {
            match store.delete_expect_revision(&key, Some(revision)).await {
                Ok(()) => tracing::info!(sim = %key, "released the writer lease"),
                Err(e) => tracing::debug!(sim = %key, error = %e, "releasing the writer lease"),
            }
        }
    }

    /// True once another writer took the key: the lease is not coming back.
    pub fn is_lost(&self) -> bool {
        self.state.lost.load(Ordering::Acquire)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// The lease bucket, created by hand when missing: the client's `create_key_value` asks the
/// account for fields that nats-server 2.9 does not send.
async fn bucket(js: &jetstream::Context, replicas: usize) -> Result<kv::Store, JetStreamError> {
    if let Ok(store) = js.get_key_value(BUCKET).await {
        return Ok(store);
    }
    let config = stream::Config {
        name: format!("KV_{BUCKET}"),
        subjects: vec![format!("$KV.{BUCKET}.>")],
        max_messages_per_subject: 1,
        max_age: TTL,
        num_replicas: replicas,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    super::retrying("create the lease bucket", || {
        js.get_or_create_stream(config.clone())
    })
    .await?;
    js.get_key_value(BUCKET).await.map_err(nats)
}

/// Waits until this process holds the lease of `target`'s simulation (telling who holds it
/// meanwhile, every half minute), then renews it in the background.
pub async fn acquire(
    js: &jetstream::Context,
    target: &Target,
    holder: &str,
) -> Result<Lease, JetStreamError> {
    let store = bucket(js, target.servers.len().clamp(1, 3)).await?;
    let key = target.sim.clone();
    let mut waited = 0u32;
    let epoch = loop {
        match store.create(&key, Bytes::from(holder.to_owned())).await {
            Ok(revision) => break revision,
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                if waited.is_multiple_of(30) {
                    let by = match store.get(&key).await {
                        Ok(Some(value)) => String::from_utf8_lossy(&value).into_owned(),
                        _ => "another writer".into(),
                    };
                    tracing::warn!(sim = %key, holder = %by, "waiting for the writer lease");
                }
                waited += 1;
            }
            Err(e) => tracing::debug!(error = %e, "taking the writer lease; trying again"),
        }
        tokio::time::sleep(TTL / 3).await;
    };
    tracing::info!(sim = %key, epoch, "holding the writer lease");
    let state = Arc::new(Held {
        epoch: AtomicU64::new(epoch),
        revision: AtomicU64::new(epoch),
        renewed_ms: AtomicU64::new(0),
        since: tokio::time::Instant::now(),
        lost: AtomicBool::new(false),
    });
    let renewer = tokio::spawn(renew(
        store.clone(),
        key.clone(),
        Bytes::from(holder.to_owned()),
        epoch,
        Arc::clone(&state),
    ));
    Ok(Lease {
        state,
        renewer,
        store,
        key,
    })
}

/// Renews every [`TTL`]`/3` until the key is taken by another writer.
async fn renew(store: kv::Store, key: String, value: Bytes, mut revision: u64, held: Arc<Held>) {
    // A renewal counts from when it was sent: the server's expiry counts from no later.
    let renewed = |held: &Held, sent: u64, revision: u64| {
        held.revision.store(revision, Ordering::Release);
        held.renewed_ms.store(sent, Ordering::Release);
    };
    loop {
        tokio::time::sleep(TTL / 3).await;
        let sent = held.since.elapsed().as_millis() as u64;
        match store.update(&key, value.clone(), revision).await {
            Ok(next) => {
                revision = next;
                renewed(&held, sent, next);
            }
            // Expired (nobody could renew it while the cluster elected leaders) or taken.
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                match store.create(&key, value.clone()).await {
                    Ok(next) => {
                        tracing::warn!(sim = %key, epoch = next, "the writer lease had expired; took it again");
                        revision = next;
                        held.epoch.store(next, Ordering::Release);
                        renewed(&held, sent, next);
                    }
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                        tracing::error!(sim = %key, "lost the writer lease to another writer");
                        held.lost.store(true, Ordering::Release);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(sim = %key, error = %e, "taking the writer lease again failed")
                    }
                }
            }
            Err(e) => tracing::warn!(sim = %key, error = %e, "renewing the writer lease failed"),
        }
    }
}
