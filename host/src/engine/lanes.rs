//! Each tenant's plugin work, in lanes: a queue of jobs and at most `tenant_concurrency`
//! blocking threads draining it. A thread takes the next job as soon as one is done and stops
//! only when the queue is empty, so under load a tenant's chains run back to back without a
//! thread being woken (and put to sleep again) for each one; a tenant with slow or hostile
//! plugins still holds at most its lanes' threads, and its queue waits behind them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// One tenant's queue and how many threads drain it now.
#[derive(Default)]
struct Lane {
    state: Mutex<LaneState>,
}

#[derive(Default)]
struct LaneState {
    jobs: VecDeque<Job>,
    running: usize,
}

/// Every tenant's lane.
#[derive(Default)]
pub(crate) struct Lanes {
    lanes: Mutex<HashMap<i64, Arc<Lane>>>,
}

impl Lanes {
    /// Queue `job` in the tenant's lane, starting a draining thread when fewer than `width`
    /// are running.
    pub fn submit(&self, tenant: i64, width: usize, job: Job) {
        let lane = self
            .lanes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(tenant)
            .or_default()
            .clone();
        let start = {
            let mut s = lane.state.lock().unwrap_or_else(|e| e.into_inner());
            s.jobs.push_back(job);
            let start = s.running < width.max(1);
            if start {
                s.running += 1;
            }
            start
        };
        if start {
            tokio::task::spawn_blocking(move || drain(&lane));
        }
    }
}

fn drain(lane: &Lane) {
    loop {
        let job = {
            let mut s = lane.state.lock().unwrap_or_else(|e| e.into_inner());
            match s.jobs.pop_front() {
                Some(job) => job,
                None => {
                    s.running -= 1;
                    return;
                }
            }
        };
        // A job that panics must not take the lane's thread count with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lane_runs_every_job_with_at_most_its_width_at_once() {
        let lanes = Lanes::default();
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut done = Vec::new();
        for _ in 0..50 {
            let (now, most) = (now.clone(), most.clone());
            let (tx, rx) = tokio::sync::oneshot::channel();
            lanes.submit(
                7,
                2,
                Box::new(move || {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    now.fetch_sub(1, Ordering::SeqCst);
                    let _ = tx.send(());
                }),
            );
            done.push(rx);
        }
        for rx in done {
            rx.await.unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(now.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_does_not_stop_its_lane() {
        let lanes = Lanes::default();
        lanes.submit(1, 1, Box::new(|| panic!("a job fails")));
        let (tx, rx) = tokio::sync::oneshot::channel();
        lanes.submit(
            1,
            1,
            Box::new(move || {
                let _ = tx.send(42);
            }),
        );
        assert_eq!(rx.await.unwrap(), 42);
    }
}
