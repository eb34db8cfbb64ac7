//! Epoch logs and the training history.

use serde::{Deserialize, Serialize};

/// Named values at the end of an epoch (`loss`, `accuracy`, `val_loss`, …), in Keras's order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Logs {
    entries: Vec<(String, f32)>,
}

impl Logs {
    /// The value of `key`, if logged.
    pub fn get(&self, key: &str) -> Option<f32> {
        self.entries.iter().find(|(k, _)| k == key).map(|&(_, v)| v)
    }

    /// Sets `key` (replacing an earlier value, else appending).
    pub fn insert(&mut self, key: impl AsRef<str> + Into<String>, value: f32) {
        match self.entries.iter_mut().find(|(k, _)| k == key.as_ref()) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.into(), value)),
        }
    }

    /// Every entry, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f32)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The keys, in order.
    pub fn keys(&self) -> Vec<&str> {
        self.entries.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// Whether nothing is logged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What `fit` returns: every epoch's logs, by key (Keras's `History.history`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    series: Vec<(String, Vec<f32>)>,
    /// The epochs that ran (0-based).
    pub epochs: Vec<usize>,
}

impl History {
    pub(crate) fn record(&mut self, epoch: usize, logs: &Logs) {
        self.epochs.push(epoch);
        for (k, v) in logs.iter() {
            match self.series.iter_mut().find(|(key, _)| key == k) {
                Some((_, values)) => values.push(v),
                None => self.series.push((k.to_string(), vec![v])),
            }
        }
    }

    /// The values of `key` per epoch (`history.history["loss"]`).
    pub fn get(&self, key: &str) -> Option<&[f32]> {
        self.series
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// The keys, in Keras's order.
    pub fn keys(&self) -> Vec<&str> {
        self.series.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// Every series.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[f32])> {
        self.series.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Appends another history (e.g. a second `fit` call), continuing the epoch numbers.
    pub fn extend(&mut self, other: &History) {
        let offset = self.epochs.last().map_or(0, |e| e + 1);
        for (i, &e) in other.epochs.iter().enumerate() {
            let mut logs = Logs::default();
            for (k, v) in other.iter() {
                if let Some(&value) = v.get(i) {
                    logs.insert(k, value);
                }
            }
            self.record(
                offset + e - other.epochs.first().copied().unwrap_or(0),
                &logs,
            );
        }
    }
}
