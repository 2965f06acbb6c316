//! The worker pool: OS threads that run the blocking work (SQLite episode statements, journal appends) so the
//! async executors never block.
//!
//! Jobs go through an unbounded crossbeam channel, but a job can only be submitted with a permit from a
//! semaphore sized `workers * queue_per_worker`: when the pool is that far behind, submitters wait (async, no
//! thread blocked), which is the backpressure. A worker thread that dies (a panic outside a job's own
//! `catch_unwind`) is replaced at once by its guard and counted in the metrics; the job it was running drops
//! its reply channel, so whoever waited learns the work was lost.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, unbounded};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;

type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct WorkerPool {
    tx: Sender<(Job, OwnedSemaphorePermit)>,
    permits: Arc<Semaphore>,
}

/// The pool has been shut down.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the worker pool is shut down")]
pub struct PoolClosed;

struct Worker {
    index: usize,
    rx: Receiver<(Job, OwnedSemaphorePermit)>,
    metrics: Arc<Metrics>,
}

impl Worker {
    fn spawn(self) {
        let name = format!("agentworld-worker-{}", self.index);
        // If the OS refuses a thread there is nothing better to do than run with fewer workers.
        let _ = std::thread::Builder::new().name(name).spawn(move || self.run());
    }

    fn run(self) {
        let guard = Respawn(Some(self));
        let w = guard.0.as_ref().map(|w| (w.rx.clone(), w.metrics.clone()));
        if let Some((rx, metrics)) = w {
            while let Ok((job, permit)) = rx.recv() {
                metrics.queued(-1);
                job();
                drop(permit);
            }
        }
        std::mem::forget(guard);
    }
}

/// Replaces its worker thread if it unwinds.
struct Respawn(Option<Worker>);

impl Drop for Respawn {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(w) = self.0.take()
        {
            w.metrics.worker_restarted();
            w.spawn();
        }
    }
}

impl WorkerPool {
    pub fn new(workers: usize, queue_per_worker: usize, metrics: Arc<Metrics>) -> WorkerPool {
        let (tx, rx) = unbounded();
        let workers = workers.max(1);
        for index in 0..workers {
            Worker { index, rx: rx.clone(), metrics: metrics.clone() }.spawn();
        }
        WorkerPool { tx, permits: Arc::new(Semaphore::new(workers * queue_per_worker.max(1))) }
    }

    /// Queues `job`, waiting for room first.
    pub async fn submit(&self, metrics: &Metrics, job: impl FnOnce() + Send + 'static) -> Result<(), PoolClosed> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| PoolClosed)?;
        metrics.queued(1);
        self.tx.send((Box::new(job), permit)).map_err(|_| PoolClosed)
    }

    /// Runs `f` on a worker and returns its result; `None` if the worker died running it.
    pub async fn run<T: Send + 'static>(
        &self,
        metrics: &Metrics,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Option<T>, PoolClosed> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(metrics, move || {
            let _ = tx.send(f());
        })
        .await?;
        Ok(rx.await.ok())
    }

    /// Stops accepting jobs; workers finish what is queued and exit.
    pub fn close(&self) {
        self.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_worker_is_replaced_and_its_caller_told() {
        let metrics = Arc::new(Metrics::default());
        let pool = WorkerPool::new(2, 4, metrics.clone());
        let lost = pool.run(&metrics, || -> u32 { panic!("injected: worker dies") }).await.unwrap();
        assert_eq!(lost, None);
        // Both workers still serve (kill each one more time to be sure the replacement works too).
        for _ in 0..3 {
            assert_eq!(pool.run(&metrics, || -> u32 { panic!("again") }).await.unwrap(), None);
        }
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let d = done.clone();
            assert!(pool.run(&metrics, move || d.fetch_add(1, Ordering::SeqCst) + 1).await.unwrap().is_some());
        }
        assert_eq!(done.load(Ordering::SeqCst), 100);
        assert_eq!(metrics.snapshot().worker_restarts, 4);
        assert_eq!(metrics.snapshot().queued_jobs, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn submitters_wait_when_the_queue_is_full() {
        let metrics = Arc::new(Metrics::default());
        let pool = Arc::new(WorkerPool::new(1, 2, metrics.clone()));
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(0);
        // Occupy the worker and fill the queue (2 permits for 1 worker x 2).
        let r = release_rx.clone();
        pool.submit(&metrics, move || {
            let _ = r.recv();
        })
        .await
        .unwrap();
        pool.submit(&metrics, || ()).await.unwrap();
        let p = pool.clone();
        let m = metrics.clone();
        let third = tokio::spawn(async move { p.submit(&m, || ()).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "a full pool must make the submitter wait");
        release_tx.send(()).unwrap();
        third.await.unwrap().unwrap();
    }
}
