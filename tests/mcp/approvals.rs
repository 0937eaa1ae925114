//! An MCP tool that needs approval (`McpTools::confirm`) pauses a workflow run like a
//! `#[tool(confirm)]` tool: nothing reaches the server until the call is approved, and a
//! rejection goes back to the model as the call's result.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;
use weft::prelude::*;
use weft::{RunStatus, StorageRef};
use weft_testkit::{FakeLlm, Reply};

use crate::support::*;

/// One agent, streamed.
#[workflow]
pub struct Assistant {
    #[agent(model = "openai:gpt-4o")]
    pub agent: Agent,
}

#[workflow]
impl Assistant {
    fn run(&mut self, request: String) -> RunStream<'_> {
        try_stream! {
            for await item in self.agent.run_stream(request) {
                yield item?;
            }
        }
    }
}

/// Every item of a stream (panicking on an error).
async fn items(mut stream: RunStream<'_>) -> Vec<RunResponse> {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item.unwrap());
    }
    items
}

#[tokio::test]
async fn an_mcp_tool_that_needs_approval_pauses_the_run_until_it_is_answered() {
    let Some(server) = server("an_mcp_tool_that_needs_approval_pauses_the_run") else {
        return;
    };
    for approved in [true, false] {
        let llm = FakeLlm::start().await.unwrap();
        llm.push(Reply::tool_call("echo", json!({"message": "woven"})));
        llm.push(Reply::text("Done."));
        let everything = stdio(&server).confirm(["echo"]);
        let storage: StorageRef = Arc::new(MemoryStorage::new());
        let mut assistant = Assistant::builder()
            .storage(storage.clone())
            .agent(agent(&llm).toolset(everything).build().unwrap())
            .build()
            .unwrap();
        let paused = items(assistant.run_stream("Echo woven.".into())).await;
        let last = paused.last().unwrap();
        assert_eq!(last.event, RunEvent::RunPaused);
        let pause = last.pause.clone().unwrap();
        assert_eq!(pause.name, "approve:echo");
        assert_eq!(
            pause.question,
            json!({"tool": "echo", "arguments": {"message": "woven"}})
        );
        let run_id = last.run_id.clone();

        let answer = json!({"approved": approved, "reason": "not now"});
        let rest = items(assistant.continue_run(&run_id, answer)).await;
        assert_eq!(rest.last().unwrap().event, RunEvent::WorkflowCompleted);
        let record = storage.read_run(&run_id).await.unwrap().unwrap();
        assert_eq!(record.status, RunStatus::Completed);
        let results = tool_results(&llm.requests()[1]);
        if approved {
            assert_eq!(results, ["Echo: woven"]);
        } else {
            assert_eq!(results.len(), 1);
            assert!(
                results[0].contains("the user rejected this call"),
                "{results:?}"
            );
            assert!(results[0].contains("not now"), "{results:?}");
        }
    }
}
