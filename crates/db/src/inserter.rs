//! Batched, retry-safe inserts.
//!
//! Rows are cut into batches at fixed row counts, so the same input always produces the same
//! batches. Each batch carries `insert_deduplication_token = <load id>:<table>:<batch>`: a batch
//! that is retried after a transient error (or re-sent by a re-run of the same load) is
//! recognised by tables that deduplicate inserts, and never doubles rows there.

use std::time::{Duration, Instant};

use clickhouse::{Client, Row, RowOwned, RowWrite};

use crate::error::{is_transient, one_line, DbError};

/// Rows per batch unless a table asks for something else.
pub const DEFAULT_BATCH_ROWS: usize = 100_000;

/// Retry policy for transient failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total (1 = no retry).
    pub attempts: u32,
    /// First back-off delay; doubled each time, with full jitter.
    pub base_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `n` (1-based retry number), full jitter in `[0, min(max, base*2^n)]`.
    pub fn delay(&self, n: u32, seed: u64) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << n.min(16))
            .min(self.max_delay);
        // A cheap deterministic jitter source (splitmix64) is enough to spread retries.
        let mut z = seed.wrapping_add(0x9e3779b97f4a7c15u64.wrapping_mul(u64::from(n) + 1));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^= z >> 31;
        let nanos = cap.as_nanos().max(1) as u64;
        Duration::from_nanos(z % nanos)
    }
}

/// Counters of one [`BatchInserter`].
#[derive(Debug, Default, Clone, Copy)]
pub struct InsertStats {
    /// Rows committed.
    pub rows: u64,
    /// Batches committed.
    pub batches: u64,
    /// Retries needed.
    pub retries: u64,
    /// Time spent inside INSERTs.
    pub elapsed: Duration,
}

/// Buffers rows of one table and writes them in deterministic batches.
pub struct BatchInserter<T> {
    client: Client,
    table: String,
    token_prefix: String,
    batch_rows: usize,
    retry: RetryPolicy,
    pending: Vec<T>,
    next_batch: u64,
    stats: InsertStats,
}

impl<T> BatchInserter<T>
where
    T: Row + RowOwned + RowWrite,
{
    /// A new inserter into `table`; `token_prefix` identifies the load (e.g. its UUID).
    pub fn new(client: &Client, table: &str, token_prefix: &str) -> Self {
        BatchInserter {
            client: client.clone(),
            table: table.to_owned(),
            token_prefix: token_prefix.to_owned(),
            batch_rows: DEFAULT_BATCH_ROWS,
            retry: RetryPolicy::default(),
            pending: Vec::new(),
            next_batch: 0,
            stats: InsertStats::default(),
        }
    }

    /// Sets the batch size in rows (at least 1).
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The table this inserter writes.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Rows buffered and not yet sent.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Queues one row; sends a batch when it is full.
    pub async fn push(&mut self, row: T) -> Result<(), DbError> {
        self.pending.push(row);
        if self.pending.len() >= self.batch_rows {
            self.flush().await?;
        }
        Ok(())
    }

    /// Queues many rows.
    pub async fn extend(&mut self, rows: impl IntoIterator<Item = T>) -> Result<(), DbError> {
        for row in rows {
            self.push(row).await?;
        }
        Ok(())
    }

    /// Sends what is buffered as one batch (no-op when empty).
    pub async fn flush(&mut self) -> Result<(), DbError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = self.next_batch;
        let token = format!("{}:{}:{}", self.token_prefix, self.table, batch);
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.send(&token).await {
                Ok(()) => break,
                Err(err) if is_transient(&err) && attempt < self.retry.attempts => {
                    let delay = self.retry.delay(attempt, batch ^ self.pending.len() as u64);
                    tracing::warn!(
                        table = %self.table, batch, attempt, error = %one_line(&err.to_string()),
                        "transient insert failure, retrying in {:?}", delay
                    );
                    self.stats.retries += 1;
                    tokio::time::sleep(delay).await;
                }
                Err(err) => {
                    return Err(DbError::Insert {
                        table: self.table.clone(),
                        batch,
                        rows: self.pending.len(),
                        message: one_line(&err.to_string()),
                    })
                }
            }
        }
        self.stats.rows += self.pending.len() as u64;
        self.stats.batches += 1;
        self.stats.elapsed += started.elapsed();
        self.next_batch += 1;
        self.pending.clear();
        Ok(())
    }

    async fn send(&self, token: &str) -> Result<(), clickhouse::error::Error> {
        let mut insert = self
            .client
            .insert::<T>(&self.table)
            .await?
            .with_setting("insert_deduplication_token", token);
        for row in &self.pending {
            insert.write(row).await?;
        }
        insert.end().await
    }

    /// Sends the rest and returns the counters.
    pub async fn finish(mut self) -> Result<InsertStats, DbError> {
        self.flush().await?;
        Ok(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        for n in 1..20 {
            assert!(p.delay(n, 7) <= p.max_delay);
        }
        assert!(p.delay(1, 1) <= Duration::from_millis(400));
    }
}
