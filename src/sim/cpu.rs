//! CPU-bound work sized in CPU time, not in wall time.
//!
//! "Spin until the wall clock says 20 ms" fakes parallelism: forty such calls on two
//! cores all finish after 20 ms of wall time while each got a fraction of a core. Here a
//! call does real work until its thread has used 20 ms of CPU time, as the kernel's
//! per-thread CPU clock counts it. Forty 20 ms calls on two cores then take at least
//! 400 ms, and the speedup can never exceed the core count.
//!
//! Counting CPU time rather than a fixed number of work units also keeps the sequential
//! baseline honest: a core woken from idle runs slower for a while (cold caches, a
//! virtual CPU rescheduled by its host), which would make each sequential call, and
//! only those, a little longer, and inflate the speedup above the core count. The work
//! units calibrated below only size the chunks between two readings of the CPU clock.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;

/// Work between two checks for cancellation (~50 µs on current machines).
const CHUNK: u64 = 1 << 14;

/// How many units of work one nanosecond of CPU time buys on this machine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    units_per_ns: f64,
}

impl Calibration {
    /// Measures this machine once per process (about 20 ms, the first time).
    pub fn get() -> Calibration {
        static CALIBRATION: OnceLock<Calibration> = OnceLock::new();
        *CALIBRATION.get_or_init(Calibration::measure)
    }

    /// The fastest of several short trials: a trial only ever runs slower than the
    /// machine can (interrupted, descheduled), never faster.
    fn measure() -> Calibration {
        let units = 1u64 << 17;
        burn(units); // warm up caches and the frequency governor
        let best = (0..12)
            .map(|_| {
                let t = Instant::now();
                burn(units);
                t.elapsed()
            })
            .min()
            .expect("trials ran");
        Calibration {
            units_per_ns: units as f64 / best.as_nanos().max(1) as f64,
        }
    }

    /// Units of work that take `cpu` of CPU time.
    pub fn units(&self, cpu: Duration) -> u64 {
        (cpu.as_nanos() as f64 * self.units_per_ns).round() as u64
    }
}

/// The work itself: a xorshift chain the compiler can neither skip nor vectorise.
fn burn(units: u64) -> u64 {
    let mut x = black_box(0x9e37_79b9_7f4a_7c15u64);
    for _ in 0..units {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x)
}

/// Works on the calling thread until it has used `cpu` of CPU time, stopping early once
/// `cancel` is set.
fn work_for(cpu: Duration, calibration: Calibration, cancel: &AtomicBool) {
    let start = ThreadTime::now();
    while !cancel.load(Ordering::Relaxed) {
        let Some(left) = cpu.checked_sub(start.elapsed()).filter(|d| !d.is_zero()) else {
            return;
        };
        // Calibrated at the machine's best speed, so a chunk never overshoots by more
        // than the slowdown of its last few microseconds.
        burn(calibration.units(left).clamp(1, CHUNK));
    }
}

/// A pool of one thread per core that runs CPU work off the async runtime, so a CPU
/// call never stalls the I/O calls' timers.
///
/// A call waits for a free thread on the async side (a semaphore with one permit per
/// thread) and only then hands its job to the pool. Queueing jobs inside the pool instead
/// would let a thread start its next job without the round trip through the runtime that a
/// sequential run pays on every call: the parallel run would save that handoff (~60 µs a
/// call here) and show a speedup above the core count.
#[derive(Debug, Clone)]
pub struct CpuPool {
    pool: Arc<rayon::ThreadPool>,
    free: Arc<tokio::sync::Semaphore>,
    calibration: Calibration,
}

impl CpuPool {
    /// A pool of `threads` threads.
    ///
    /// # Errors
    ///
    /// When the threads cannot be spawned.
    pub fn new(threads: usize) -> Result<Self, rayon::ThreadPoolBuildError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("parabench-cpu-{i}"))
            .build()?;
        Ok(Self {
            pool: Arc::new(pool),
            free: Arc::new(tokio::sync::Semaphore::new(threads.max(1))),
            calibration: Calibration::get(),
        })
    }

    /// Waits for one of the pool's threads to be free and holds it until the returned
    /// [`Core`] is dropped.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives up the wait; no thread is held.
    pub async fn acquire(&self) -> Core<'_> {
        // The semaphore is never closed.
        let permit = self.free.acquire().await.expect("open semaphore");
        Core {
            pool: self,
            _permit: permit,
        }
    }

    /// Works until one of the pool's threads has used `cpu` of CPU time (after waiting
    /// for a thread to be free).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the work within a few tens of microseconds.
    pub async fn work(&self, cpu: Duration) {
        self.acquire().await.work(cpu).await;
    }
}

/// One of a [`CpuPool`]'s threads, held for CPU work: no other call gets it until this
/// is dropped.
#[derive(Debug)]
pub struct Core<'a> {
    pool: &'a CpuPool,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Core<'_> {
    /// Works on this thread until it has used `cpu` of CPU time.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the work within a few tens of microseconds (one chunk),
    /// so a timed-out call frees its core for the next one at once.
    pub async fn work(&self, cpu: Duration) {
        let calibration = self.pool.calibration;
        let cancel = Arc::new(AtomicBool::new(false));
        let guard = CancelOnDrop(cancel.clone());
        let (done, finished) = tokio::sync::oneshot::channel();
        self.pool.pool.spawn(move || {
            work_for(cpu, calibration, &cancel);
            let _ = done.send(());
        });
        // The pool never drops a job, so the sender always sends.
        let _ = finished.await;
        drop(guard);
    }
}

struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_uses_the_cpu_time_it_was_given() {
        let start = ThreadTime::now();
        work_for(Duration::from_millis(3), Calibration::get(), &AtomicBool::new(false));
        assert!(start.elapsed() >= Duration::from_millis(3));
    }

    #[tokio::test]
    async fn work_completes_on_the_pool() {
        let pool = CpuPool::new(1).unwrap();
        pool.work(Duration::from_micros(200)).await;
        pool.work(Duration::ZERO).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelling_work_in_its_middle_frees_the_core_for_the_next_call() {
        // One thread, and a call that would work for centuries.
        let pool = CpuPool::new(1).unwrap();
        let endless = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.work(Duration::MAX).await })
        };
        while pool.free.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // Let it get well into its work (a setup delay, not a measurement).
        std::thread::sleep(Duration::from_millis(20));
        endless.abort();
        assert!(endless.await.unwrap_err().is_cancelled());
        // The next call runs on the same single thread: it can only finish if the endless
        // one stopped. Without cancellation this would wait forever; the bound below is
        // only a guard against hanging the test suite.
        let next = tokio::time::timeout(Duration::from_secs(60), pool.work(Duration::from_millis(1)));
        assert!(next.await.is_ok(), "the core was never freed");
        assert_eq!(pool.free.available_permits(), 1);
    }
}
