//! A stack-wide catalogue (the roles, the custom attribute keys) as this process last read it,
//! for display only: the Admin Portal decides on every page whether to show its Roles and
//! Attributes tabs, and pays no round trip for that while the copy is under `CATALOGUE_TTL` old.
//! A catalogue saved through another process (the management function) shows within that time;
//! every use case that validates against a catalogue reads it fresh instead.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a process shows the catalogue it last read.
pub const CATALOGUE_TTL: Duration = Duration::from_secs(60);

/// The process's copy of a catalogue and when it was read (a field of `Service`).
#[derive(Debug)]
pub(crate) struct CatalogueCache<T>(Mutex<Option<(Instant, Arc<T>)>>);

impl<T> Default for CatalogueCache<T> {
    fn default() -> Self {
        CatalogueCache(Mutex::new(None))
    }
}

impl<T> CatalogueCache<T> {
    pub(crate) fn get(&self) -> Option<Arc<T>> {
        let held = self.0.lock().ok()?;
        let (at, c) = held.as_ref()?;
        (at.elapsed() < CATALOGUE_TTL).then(|| Arc::clone(c))
    }

    pub(crate) fn set(&self, c: Arc<T>) {
        if let Ok(mut held) = self.0.lock() {
            *held = Some((Instant::now(), c));
        }
    }
}
