//! The uniform evaluator: every legal action equally likely, value 0. Used to
//! measure pure search overhead and in tests.

use std::collections::VecDeque;

use super::{uniform_policy, Batch, Evaluator};
use crate::error::{Error, Result};

/// Uniform prior over legal actions and value 0 for every position.
#[derive(Default)]
pub struct Uniform {
    done: VecDeque<Batch>,
    /// Positions evaluated so far.
    pub evaluated: u64,
}

impl Uniform {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Evaluator for Uniform {
    fn submit(&mut self, mut batch: Batch) -> Result<()> {
        batch.prepare_results();
        let actions = batch.actions();
        for i in 0..batch.len() {
            let (legal, policy) = (&batch.legal, &mut batch.policy);
            uniform_policy(
                &legal[i * actions..(i + 1) * actions],
                &mut policy[i * actions..(i + 1) * actions],
            );
        }
        self.evaluated += batch.len() as u64;
        self.done.push_back(batch);
        Ok(())
    }
    fn collect(&mut self) -> Result<Batch> {
        self.done
            .pop_front()
            .ok_or_else(|| Error::Evaluator("collect() with no batch in flight".into()))
    }
    fn in_flight(&self) -> usize {
        self.done.len()
    }
}
