//! The one place that decides what a poisoned lock means.
//!
//! A lock is poisoned when a thread panicked while holding it. Every lock in cdnsim guards
//! state that stays readable after such a panic (a projection missing only the events after
//! the published clock, counters, bookkeeping), so the guard is taken anyway; the code that
//! owns state a panic can leave half-way (the log writer) checks [`was_poisoned`] itself.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, taking the guard even if a panicking thread poisoned it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Locks `mutex` and says whether a panicking thread had poisoned it (the poison is cleared,
/// so the next caller is told `false`: the caller must remember what it means).
pub fn was_poisoned<T>(mutex: &Mutex<T>) -> (MutexGuard<'_, T>, bool) {
    match mutex.lock() {
        Ok(guard) => (guard, false),
        Err(poisoned) => {
            mutex.clear_poison();
            (poisoned.into_inner(), true)
        }
    }
}

/// Read-locks `lock`, poisoned or not.
pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Write-locks `lock`, poisoned or not.
pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_mutex_is_reported_once_and_still_usable() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = std::sync::Arc::clone(&m);
        let _ = std::thread::spawn(move || {
            let _g = lock(&m2);
            panic!("poison it");
        })
        .join();
        let (mut g, poisoned) = was_poisoned(&m);
        assert!(poisoned);
        *g += 1;
        drop(g);
        let (g, poisoned) = was_poisoned(&m);
        assert!(!poisoned);
        assert_eq!(*g, 2);
    }
}
