//! The fault-injection seam the crash tests stop a process at: every named point is reached,
//! in the order of the run, and a resumed run does not reach the points of journaled work.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use serde_json::json;
use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply};

use crate::drain::drain;
use crate::durable::{agent_on, lookup};

thread_local! {
    /// The points this thread reached while recording (`#[tokio::test]` runs the test and
    /// every task it spawns on its own thread).
    static REACHED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Installs the process's hook once: it records the points reached on a recording thread.
fn record() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let installed = weft::__private::set_fault_hook(|point| {
            REACHED.with(|reached| {
                if let Some(reached) = reached.borrow_mut().as_mut() {
                    reached.push(point.to_string());
                }
            });
        });
        assert!(installed);
    });
    REACHED.with(|reached| *reached.borrow_mut() = Some(Vec::new()));
}

fn reached() -> Vec<String> {
    REACHED.with(|reached| reached.borrow_mut().replace(Vec::new()).unwrap_or_default())
}

/// An agent call with a tool, then a step.
#[workflow]
pub struct Points {
    #[agent(model = "openai:gpt-4o")]
    pub writer: Agent,
}

#[workflow]
impl Points {
    fn run(&mut self, topic: String) -> RunStream<'_> {
        try_stream! {
            for await chunk in self.writer.run_stream(&topic) {
                yield chunk?;
            }
            let ctx = self.ctx();
            let sent: bool = ctx.step("send", async { true }).await?;
            self.session_state.insert("sent", sent)?;
        }
    }
}

#[tokio::test]
async fn every_fault_point_is_reached_in_the_order_of_the_run() {
    let server = FakeLlm::start().await.unwrap();
    server.push(Reply::tool_call("lookup", json!({"id": "A"})));
    server.push(Reply::text("Found it."));
    let calls = Arc::new(AtomicUsize::new(0));
    let memory = MemoryStorage::new();
    let points = |server: &FakeLlm| {
        Points::builder()
            .session_id("points")
            .storage(memory.clone())
            .writer(agent_on(server, "writer", vec![lookup(&calls)]))
            .build()
            .unwrap()
    };
    record();
    let (items, error) = drain(points(&server).run_stream("find A".to_string())).await;
    assert!(error.is_none(), "{error:?}");
    let log = "log.appended";
    let expected = [
        log, // WorkflowStarted
        log, // RunStarted
        "model.started",
        "model.finished",
        "journal.written",
        log, // ToolCallStarted
        "tool.started",
        "tool.finished",
        "journal.written",
        log, // ToolCallCompleted
        "model.started",
        log,
        log, // "Found ", "it."
        "model.finished",
        "journal.written",
        log, // RunCompleted
        "step.started",
        "step.finished",
        "journal.written",
        "run.final_save",
        log, // WorkflowCompleted
        "run.final_record",
    ];
    assert_eq!(reached(), expected);
    assert_eq!(items.len(), 8);

    // Interrupted after the tool call started: a resumed run replays the first model call
    // (no `model.started`), runs the tool and the second call live.
    server.push(Reply::tool_call("lookup", json!({"id": "A"})));
    server.push(Reply::text("Found it."));
    let mut first = points(&server);
    let mut stream = first.run_stream("find A again".to_string());
    while let Some(item) = futures::StreamExt::next(&mut stream).await {
        if item.unwrap().event == RunEvent::ToolCallStarted {
            break;
        }
    }
    std::mem::forget(stream);
    memory.interrupt_running_runs();
    let run_id = memory
        .interrupted_runs(None)
        .await
        .unwrap()
        .pop()
        .unwrap()
        .run_id;
    reached();
    let (resumed, error) = drain(points(&server).resume(&run_id)).await;
    assert!(error.is_none(), "{error:?}");
    let resumed_points = reached();
    assert_eq!(
        resumed_points
            .iter()
            .filter(|point| *point == "model.started")
            .count(),
        1,
        "{resumed_points:?}"
    );
    assert_eq!(
        resumed_points
            .iter()
            .filter(|p| *p == "tool.started")
            .count(),
        1
    );
    assert_eq!(resumed[0].event, RunEvent::ToolCallCompleted);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(server.request_count(), 4);
    REACHED.with(|reached| *reached.borrow_mut() = None);
}
