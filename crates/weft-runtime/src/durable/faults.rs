//! A hidden fault-injection seam for crash tests: named points in the run path where a test
//! process can stop (and be killed with SIGKILL exactly there).
//!
//! [`fault_point`] calls the process-wide hook if one is installed, else does nothing (one
//! atomic load). The hook is installed once per process through
//! `weft::__private::set_fault_hook`; it is not a public API.
//!
//! The points, in the order a run meets them:
//!
//! | point | where |
//! |---|---|
//! | `log.appended` | right after an item of a run was appended to its event log (before any consumer sees it) |
//! | `model.started` | before a model call that is not journaled goes out |
//! | `model.finished` | a model call's answer was received in full, before it is journaled |
//! | `tool.started` | before a tool call that is not journaled runs |
//! | `tool.finished` | a tool call returned, before it is journaled |
//! | `step.started` | before a user step (`ctx.step`) that is not journaled runs |
//! | `step.finished` | a user step returned, before it is journaled |
//! | `journal.written` | right after a journal entry (model call, tool call or step) was written |
//! | `run.final_save` | the run's body ended; before the session state is saved |
//! | `run.final_record` | state saved and the last item logged; before the final run record is written |

use std::sync::OnceLock;

/// The process-wide hook.
type Hook = Box<dyn Fn(&str) + Send + Sync>;

static HOOK: OnceLock<Hook> = OnceLock::new();

/// Calls the installed hook with `name`, if a hook is installed.
#[inline]
pub fn fault_point(name: &str) {
    if let Some(hook) = HOOK.get() {
        hook(name);
    }
}

/// Installs the process-wide fault hook; `false` (and the hook is dropped) if one was already
/// installed. The hook runs synchronously on the thread that reaches the point: a hook that
/// blocks stops that thread there.
pub fn set_fault_hook(hook: impl Fn(&str) + Send + Sync + 'static) -> bool {
    HOOK.set(Box::new(hook)).is_ok()
}
