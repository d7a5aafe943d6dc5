//! Batched inserts that are safe to retry.
//!
//! Rows are cut into batches at fixed row counts, so the same input always produces the same
//! batches. A batch that fails with a transient error (network trouble, a timeout, an
//! overloaded server) is retried, but such an error is ambiguous: the server may have
//! committed the batch before the answer was lost. What keeps a retry from doubling rows:
//!
//! - **Targets that deduplicate** (a MergeTree with `non_replicated_deduplication_window`,
//!   set by schema file `0012_insert_dedup.sql` on the tables the loaders write directly,
//!   or a `Replicated*` table) and that no materialized view reads: every attempt of a batch carries the same
//!   `insert_deduplication_token = <load>:<table>:<inserter>:<batch>` (with
//!   `insert_deduplicate = 1`), so the engine drops a resent batch it has committed.
//!   `<inserter>` names this inserter (its creation time and a process counter): a token is
//!   never reused by another batch, another inserter or a later run. Tokens are deliberately
//!   not the same across runs: a later run only sends rows it has just found absent (the
//!   loaders are insert-if-absent), and a token it shared with an earlier run would make the
//!   engine drop rows that were deleted since (a `--force` reload, a repair by hand).
//! - **Targets that cannot** (Buffer tables never deduplicate, nor do the `Null` entry points
//!   whose materialized views write into Buffers) **or not cleanly** (`PackageSetName` and
//!   `TaskStates` fire materialized views, which see a resent block again even when the
//!   table drops it): before the retry the inserter reads back which rows of the batch are
//!   stored ([`recheck`]) and resends only the others.
//! - **Any other target** is not retried after an ambiguous error: the batch fails with
//!   [`DbError::Insert`] and the load, which is insert-if-absent, can be run again.
//!
//! Errors the server answered (bad data, unknown table) are never retried.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clickhouse::{Client, Row, RowOwned, RowWrite};

use crate::error::{is_transient, one_line, DbError};
use crate::recheck;
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
    /// Delay before attempt `n` (1-based retry number): the `n`-th delay of a
    /// [`crate::backoff::Backoff`] seeded with `seed`, in the upper half of
    /// `[0, min(max, base·2^n)]`.
    pub fn delay(&self, n: u32, seed: u64) -> Duration {
        let mut b = crate::backoff::Backoff::seeded(self.base_delay, self.max_delay, seed);
        for _ in 0..n {
            b.next_delay();
        }
        b.next_delay()
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
    /// Whether the target deduplicates by token (asked once, after the first ambiguous error).
    deduplicates: Option<bool>,
    /// Names this inserter in its tokens.
    instance: String,
}

impl<T> BatchInserter<T>
where
    T: Row + RowOwned + RowWrite,
{
    /// A new inserter into `table`; `token_prefix` names the load (e.g. the package set's
    /// UUID, or the task id and its change time).
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
            deduplicates: None,
            instance: instance_id(),
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
        let rows = self.pending.len();
        let started = Instant::now();
        let spec = recheck::spec(&self.table);
        let token = format!(
            "{}:{}:{}:{}",
            self.token_prefix, self.table, self.instance, batch
        );
        let mut attempt = 0u32;
        // Set after a failure that may have been committed: the next attempt must settle first.
        let mut unsure: Option<String> = None;
        loop {
            attempt += 1;
            if let Some(why) = unsure.take() {
                match self.settle(spec, batch, &why).await {
                    Ok(()) if self.pending.is_empty() => break,
                    Ok(()) => {}
                    Err(Settle::Retry(err)) if attempt < self.retry.attempts => {
                        self.back_off(batch, attempt, &err).await;
                        unsure = Some(why);
                        continue;
                    }
                    Err(Settle::Retry(message) | Settle::Fail(message)) => {
                        return Err(self.failed(batch, rows, message))
                    }
                }
            }
            match self.send(&token).await {
                Ok(()) => break,
                Err(err) if is_transient(&err) && attempt < self.retry.attempts => {
                    let message = one_line(&err.to_string());
                    self.back_off(batch, attempt, &message).await;
                    unsure = Some(message);
                }
                Err(err) => return Err(self.failed(batch, rows, one_line(&err.to_string()))),
            }
        }
        self.stats.rows += rows as u64;
        self.stats.batches += 1;
        self.stats.elapsed += started.elapsed();
        self.next_batch += 1;
        self.pending.clear();
        Ok(())
    }

    fn failed(&self, batch: u64, rows: usize, message: String) -> DbError {
        DbError::Insert {
            table: self.table.clone(),
            batch,
            rows,
            message,
        }
    }

    async fn back_off(&mut self, batch: u64, attempt: u32, error: &str) {
        let delay = self.retry.delay(attempt, batch ^ self.pending.len() as u64);
        tracing::warn!(
            table = %self.table, batch, attempt, error,
            "transient insert failure, retrying in {:?}", delay
        );
        self.stats.retries += 1;
        tokio::time::sleep(delay).await;
    }

    /// After an ambiguous failure: drops the rows the target holds (re-checked targets),
    /// or makes sure the target drops a resent batch by its token.
    async fn settle(
        &mut self,
        spec: Option<&'static recheck::Spec>,
        batch: u64,
        why: &str,
    ) -> Result<(), Settle> {
        if let Some(spec) = spec {
            let stored = recheck::stored_rows(&self.client, spec, &self.pending)
                .await
                .map_err(|e| match &e {
                    recheck::RecheckError::Query(q) if is_transient(q) => {
                        Settle::Retry(one_line(&e.to_string()))
                    }
                    _ => Settle::Fail(one_line(&e.to_string())),
                })?;
            if !stored.is_empty() {
                tracing::info!(
                    table = %self.table, batch, stored = stored.len(), of = self.pending.len(),
                    "the failed batch was committed (in part); resending only the rest"
                );
                let mut i = 0;
                self.pending.retain(|_| {
                    i += 1;
                    !stored.contains(&(i - 1))
                });
            }
            return Ok(());
        }
        let dedup = match self.deduplicates {
            Some(d) => d,
            None => {
                let d = recheck::table_deduplicates(&self.client, &self.table)
                    .await
                    .map_err(|e| {
                        let m = one_line(&e.to_string());
                        if is_transient(&e) {
                            Settle::Retry(m)
                        } else {
                            Settle::Fail(m)
                        }
                    })?;
                self.deduplicates = Some(d);
                d
            }
        };
        if dedup {
            Ok(())
        } else {
            Err(Settle::Fail(format!(
                "{why}; the server may have committed the batch, and {} neither deduplicates \
                 inserts nor can be re-checked, so it is not resent",
                self.table
            )))
        }
    }

    async fn send(&self, token: &str) -> Result<(), clickhouse::error::Error> {
        let mut insert = self
            .client
            .insert::<T>(&self.table)
            .await?
            .with_setting("insert_deduplicate", "1")
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

/// Why settling an ambiguous failure did not succeed.
enum Settle {
    /// A transient failure of the re-check itself: try again later.
    Retry(String),
    /// Resending cannot be made safe.
    Fail(String),
}

/// `<creation time in ns>.<process counter>`, in hex: unique per inserter.
fn instance_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}.{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
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

    #[test]
    fn inserters_never_share_a_token_name() {
        let a = instance_id();
        let b = instance_id();
        assert_ne!(a, b);
    }
}
