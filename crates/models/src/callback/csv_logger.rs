//! Logging epochs to a CSV file.

use super::Callback;
use crate::error::io_error;
use crate::{Logs, ModelError, Sequential};
use std::io::Write;
use std::path::PathBuf;

/// Keras's `CSVLogger(filename, separator=",", append=False)`: one row per epoch, `epoch`
/// first, then the logs' keys.
#[derive(Clone, Debug)]
pub struct CsvLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    keys: Option<Vec<String>>,
}

impl CsvLogger {
    /// Writes (truncating) `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvLogger {
            path: path.into(),
            separator: ',',
            append: false,
            keys: None,
        }
    }

    /// Appends to an existing file instead of truncating it.
    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }

    /// The field separator.
    pub fn separator(mut self, separator: char) -> Self {
        self.separator = separator;
        self
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _model: &mut Sequential) -> Result<(), ModelError> {
        self.keys = None;
        if !self.append {
            std::fs::write(&self.path, "").map_err(|e| io_error(&self.path, e))?;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _model: &mut Sequential,
    ) -> Result<(), ModelError> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| io_error(&self.path, e))?;
        let sep = self.separator.to_string();
        let mut text = String::new();
        if self.keys.is_none() {
            let keys: Vec<String> = logs.keys().iter().map(|k| k.to_string()).collect();
            let needs_header = std::fs::metadata(&self.path)
                .map(|m| m.len() == 0)
                .unwrap_or(true);
            if needs_header {
                text += &format!("epoch{sep}{}\n", keys.join(&sep));
            }
            self.keys = Some(keys);
        }
        let values: Vec<String> = self
            .keys
            .as_ref()
            .expect("set above")
            .iter()
            .map(|k| {
                logs.get(k)
                    .map_or(String::new(), |v| crate::progress::python_float(v, None))
            })
            .collect();
        text += &format!("{epoch}{sep}{}\n", values.join(&sep));
        file.write_all(text.as_bytes())
            .map_err(|e| io_error(&self.path, e))
    }
}
