//! JSON Lines: the measurement model as is, one object per line.

use std::io::Write;

use super::ReportError;
use crate::measurement::Measurement;

pub struct JsonlWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(out: W) -> Self {
        JsonlWriter { out }
    }

    pub fn record(&mut self, m: &Measurement) -> Result<(), ReportError> {
        serde_json::to_writer(&mut self.out, m)?;
        self.out.write_all(b"\n")?;
        // Flushed per record so a reader sees each result as it lands.
        self.out.flush()?;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), ReportError> {
        self.out.flush()?;
        Ok(())
    }
}
