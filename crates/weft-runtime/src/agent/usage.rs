//! Counting an agent's usage across its runs and clones, so a workflow can report every model
//! call its agents made during a run, yielded or not.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::Usage;

/// Tokens and model calls, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgentUsage {
    /// Prompt tokens (those served from a prompt cache included).
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// The part of `input_tokens` served from the provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Model calls made.
    pub model_calls: u64,
}

impl AgentUsage {
    /// `self - earlier`, per field (never below zero).
    pub fn since(self, earlier: AgentUsage) -> AgentUsage {
        AgentUsage {
            input_tokens: self.input_tokens.saturating_sub(earlier.input_tokens),
            output_tokens: self.output_tokens.saturating_sub(earlier.output_tokens),
            cached_input_tokens: self
                .cached_input_tokens
                .saturating_sub(earlier.cached_input_tokens),
            model_calls: self.model_calls.saturating_sub(earlier.model_calls),
        }
    }
}

impl std::iter::Sum for AgentUsage {
    fn sum<I: Iterator<Item = AgentUsage>>(iter: I) -> AgentUsage {
        iter.fold(AgentUsage::default(), |a, b| AgentUsage {
            input_tokens: a.input_tokens + b.input_tokens,
            output_tokens: a.output_tokens + b.output_tokens,
            cached_input_tokens: a.cached_input_tokens + b.cached_input_tokens,
            model_calls: a.model_calls + b.model_calls,
        })
    }
}

/// The counter behind [`AgentUsage`], in the configuration every clone of an agent shares,
/// so clones count into the same one.
#[derive(Debug, Default)]
pub(crate) struct UsageMeter {
    input: AtomicU64,
    output: AtomicU64,
    cached_input: AtomicU64,
    calls: AtomicU64,
}

impl UsageMeter {
    pub fn add(&self, usage: Usage) {
        self.input.fetch_add(usage.input_tokens, Ordering::Relaxed);
        self.output
            .fetch_add(usage.output_tokens, Ordering::Relaxed);
        self.cached_input
            .fetch_add(usage.cached_input_tokens, Ordering::Relaxed);
    }

    pub fn add_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    pub fn total(&self) -> AgentUsage {
        AgentUsage {
            input_tokens: self.input.load(Ordering::Relaxed),
            output_tokens: self.output.load(Ordering::Relaxed),
            cached_input_tokens: self.cached_input.load(Ordering::Relaxed),
            model_calls: self.calls.load(Ordering::Relaxed),
        }
    }
}
