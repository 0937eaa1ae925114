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

/// Per field, saturating: the token counts come from providers.
impl std::iter::Sum for AgentUsage {
    fn sum<I: Iterator<Item = AgentUsage>>(iter: I) -> AgentUsage {
        iter.fold(AgentUsage::default(), |a, b| AgentUsage {
            input_tokens: a.input_tokens.saturating_add(b.input_tokens),
            output_tokens: a.output_tokens.saturating_add(b.output_tokens),
            cached_input_tokens: a.cached_input_tokens.saturating_add(b.cached_input_tokens),
            model_calls: a.model_calls.saturating_add(b.model_calls),
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

/// `counter += amount`, saturating at `u64::MAX` instead of wrapping as `fetch_add` does: the
/// token counts come from providers.
fn saturating_add(counter: &AtomicU64, amount: u64) {
    // The closure always returns `Some`, so the update cannot fail.
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |total| {
        Some(total.saturating_add(amount))
    });
}

impl UsageMeter {
    pub fn add(&self, usage: Usage) {
        saturating_add(&self.input, usage.input_tokens);
        saturating_add(&self.output, usage.output_tokens);
        saturating_add(&self.cached_input, usage.cached_input_tokens);
    }

    pub fn add_call(&self) {
        saturating_add(&self.calls, 1);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_saturate_instead_of_overflowing() {
        let meter = UsageMeter::default();
        let huge = Usage {
            input_tokens: u64::MAX,
            output_tokens: u64::MAX - 1,
            cached_input_tokens: u64::MAX,
        };
        meter.add(huge);
        meter.add(huge);
        let total = meter.total();
        assert_eq!(total.input_tokens, u64::MAX);
        assert_eq!(total.output_tokens, u64::MAX);
        assert_eq!(total.cached_input_tokens, u64::MAX);
        let sum: AgentUsage = [total, total].into_iter().sum();
        assert_eq!(sum.input_tokens, u64::MAX);
        assert_eq!(sum.model_calls, 0);
    }
}
