//! Counting an agent's usage across its runs and clones, so a workflow can report every model
//! call its agents made during a run, yielded or not.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::Usage;

/// Tokens and model calls, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentUsage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Model calls made.
    pub model_calls: u64,
}

impl AgentUsage {
    /// `self - earlier`, per field (never below zero).
    pub fn since(self, earlier: AgentUsage) -> AgentUsage {
        AgentUsage {
            input_tokens: self.input_tokens.saturating_sub(earlier.input_tokens),
            output_tokens: self.output_tokens.saturating_sub(earlier.output_tokens),
            model_calls: self.model_calls.saturating_sub(earlier.model_calls),
        }
    }
}

impl std::iter::Sum for AgentUsage {
    fn sum<I: Iterator<Item = AgentUsage>>(iter: I) -> AgentUsage {
        iter.fold(AgentUsage::default(), |a, b| AgentUsage {
            input_tokens: a.input_tokens + b.input_tokens,
            output_tokens: a.output_tokens + b.output_tokens,
            model_calls: a.model_calls + b.model_calls,
        })
    }
}

/// The counter behind [`AgentUsage`], in the configuration every clone of an agent shares,
/// so clones count into the same one.
#[derive(Debug, Default)]
pub(crate) struct UsageMeter([AtomicU64; 3]);

impl UsageMeter {
    pub fn add(&self, usage: Usage) {
        self.0[0].fetch_add(usage.input_tokens, Ordering::Relaxed);
        self.0[1].fetch_add(usage.output_tokens, Ordering::Relaxed);
    }

    pub fn add_call(&self) {
        self.0[2].fetch_add(1, Ordering::Relaxed);
    }

    pub fn total(&self) -> AgentUsage {
        AgentUsage {
            input_tokens: self.0[0].load(Ordering::Relaxed),
            output_tokens: self.0[1].load(Ordering::Relaxed),
            model_calls: self.0[2].load(Ordering::Relaxed),
        }
    }
}
