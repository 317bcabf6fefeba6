//! The network evaluator: a worker thread owns the network and evaluates
//! batches in submission order, so the caller's threads keep searching while
//! the device works (two batches in flight: one evaluated, one being filled).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use super::network::{write_outputs, Network};
use crate::error::{Error, Result};
use crate::eval::{Batch, EvalStats, Evaluator};
use crate::game::Game;

/// Evaluates batches with a [`Network`] on a worker thread.
pub struct NetEvaluator {
    jobs: Option<Sender<Batch>>,
    results: Receiver<Result<Batch>>,
    in_flight: usize,
    stats: Arc<Mutex<EvalStats>>,
    worker: Option<JoinHandle<()>>,
}

impl NetEvaluator {
    /// Starts the worker thread; the network moves there. `build` runs on the
    /// worker so that the device is created and used on one thread.
    pub fn spawn<G: Game>(
        build: impl FnOnce() -> Result<Network<G>> + Send + 'static,
    ) -> Result<Self> {
        Self::spawn_model(build)
    }

    /// [`NetEvaluator::spawn`] for any model that evaluates whole batches
    /// (the card game's network too).
    pub fn spawn_model<M: BatchModel>(
        build: impl FnOnce() -> Result<M> + Send + 'static,
    ) -> Result<Self> {
        let (job_tx, job_rx) = channel::<Batch>();
        let (res_tx, res_rx) = channel::<Result<Batch>>();
        let (ready_tx, ready_rx) = channel::<Result<()>>();
        let stats = Arc::new(Mutex::new(EvalStats::default()));
        let worker_stats = stats.clone();
        let worker = std::thread::Builder::new()
            .name("wgzero-network".into())
            .spawn(move || {
                let net = match build() {
                    Ok(n) => {
                        let _ = ready_tx.send(Ok(()));
                        n
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for mut batch in job_rx {
                    let start = Instant::now();
                    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        net.evaluate_batch(&mut batch)
                    }))
                    .unwrap_or_else(|p| {
                        Err(Error::Device(format!(
                            "the network panicked: {}",
                            panic_text(&p)
                        )))
                    });
                    let mut st = worker_stats.lock().unwrap_or_else(|e| e.into_inner());
                    st.batches += 1;
                    st.positions += batch.len() as u64;
                    st.busy_seconds += start.elapsed().as_secs_f64();
                    drop(st);
                    if res_tx.send(out.map(|()| batch)).is_err() {
                        return;
                    }
                }
            })?;
        ready_rx
            .recv()
            .map_err(|_| Error::Device("the network thread died while starting".into()))??;
        Ok(NetEvaluator {
            jobs: Some(job_tx),
            results: res_rx,
            in_flight: 0,
            stats,
            worker: Some(worker),
        })
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// A network that fills a whole batch's policies and values (on the
/// evaluator's worker thread).
pub trait BatchModel: 'static {
    fn evaluate_batch(&self, batch: &mut Batch) -> Result<()>;
}

impl<G: Game> BatchModel for Network<G> {
    fn evaluate_batch(&self, batch: &mut Batch) -> Result<()> {
        evaluate(self, batch)
    }
}

/// Fills `batch`'s policy (softmax over legal actions) and value.
fn evaluate<G: Game>(net: &Network<G>, batch: &mut Batch) -> Result<()> {
    batch.prepare_results();
    if batch.is_empty() {
        return Ok(());
    }
    let (logits, values) = net.forward(&batch.states)?;
    write_outputs(batch, &logits, &values)
}

impl Evaluator for NetEvaluator {
    fn submit(&mut self, batch: Batch) -> Result<()> {
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| Error::Device("evaluator closed".into()))?;
        jobs.send(batch)
            .map_err(|_| Error::Device("the network thread has stopped".into()))?;
        self.in_flight += 1;
        Ok(())
    }
    fn collect(&mut self) -> Result<Batch> {
        if self.in_flight == 0 {
            return Err(Error::Evaluator("collect() with no batch in flight".into()));
        }
        let out = self
            .results
            .recv()
            .map_err(|_| Error::Device("the network thread has stopped".into()))?;
        self.in_flight -= 1;
        out
    }
    fn in_flight(&self) -> usize {
        self.in_flight
    }
    fn stats(&self) -> EvalStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for NetEvaluator {
    fn drop(&mut self) {
        self.jobs = None; // ends the worker's loop
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}
