//! Instances are independent: concurrent runs on two sessions, and agents never shared.

use weft::prelude::*;
use weft_testkit::{FakeLlm, Reply};

use crate::fixtures::*;

#[tokio::test]
async fn two_instances_on_two_sessions_run_concurrently_without_interfering() {
    let server = FakeLlm::start().await.unwrap();
    let storage = MemoryStorage::new();
    let build = |session: &str| {
        CountingWorkflow::builder()
            .session_id(session)
            .storage(storage.clone())
            .greeting(format!("Hi from {session}"))
            .build()
            .unwrap()
    };
    let (mut a, mut b) = (build("a"), build("b"));
    let (ra, rb) = tokio::join!(a.run("x".to_string()), b.run("y".to_string()));
    assert_eq!(ra.unwrap().content_text(), "Hi from a #1 on x");
    assert_eq!(rb.unwrap().content_text(), "Hi from b #1 on y");
    let (ra, rb) = tokio::join!(a.run("x".to_string()), b.run("y".to_string()));
    assert_eq!(ra.unwrap().content_text(), "Hi from a #2 on x");
    assert_eq!(rb.unwrap().content_text(), "Hi from b #2 on y");
    assert_eq!(
        storage
            .read_session("a")
            .await
            .unwrap()
            .unwrap()
            .session_state["last_topic"],
        "x"
    );
    assert_eq!(
        storage
            .read_session("b")
            .await
            .unwrap()
            .unwrap()
            .session_state["last_topic"],
        "y"
    );

    // Agent-backed instances too, with replies interleaved on one server.
    server.push(Reply::text("one"));
    server.push(Reply::text("two"));
    let mut c = CacheWorkflow::builder()
        .session_id("c")
        .storage(storage.clone())
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    let mut d = CacheWorkflow::builder()
        .session_id("d")
        .storage(storage.clone())
        .agent(fake_agent(&server))
        .build()
        .unwrap();
    let (rc, rd) = tokio::join!(c.run("q".to_string()), d.run("q".to_string()));
    let mut answers = vec![
        rc.unwrap().content_text().to_string(),
        rd.unwrap().content_text().to_string(),
    ];
    answers.sort();
    assert_eq!(answers, ["one", "two"]);
    assert_ne!(
        c.session_state.get::<String>("q"),
        d.session_state.get::<String>("q")
    );
}

/// Agno v1 shares class-level agents between instances, so one session's history leaks into
/// another. Here each instance builds its own agent.
#[tokio::test]
async fn agents_are_built_per_instance() {
    let a = CacheWorkflow::builder().build().unwrap();
    let b = CacheWorkflow::builder().build().unwrap();
    assert_eq!(a.agent.name(), Some("agent"));
    assert!(a
        .agent
        .system_message()
        .unwrap()
        .contains("Answer briefly."));

    let server = FakeLlm::start().await.unwrap();
    let remembering = Agent::builder()
        .model(
            OpenAIChat::new("gpt-4o")
                .base_url(server.openai_base_url())
                .api_key("sk-test"),
        )
        .add_history_to_messages(true)
        .build()
        .unwrap();
    let mut first = CacheWorkflow::builder()
        .agent(remembering.clone())
        .build()
        .unwrap();
    let mut second = CacheWorkflow::builder().agent(remembering).build().unwrap();
    first
        .run("secret of session one".to_string())
        .await
        .unwrap();
    second
        .run("question of session two".to_string())
        .await
        .unwrap();
    let sent = server.requests()[1].body.to_string();
    assert!(
        !sent.contains("secret of session one"),
        "history leaked across instances: {sent}"
    );
    assert!(
        second
            .agent
            .last_response()
            .content_text()
            .contains(weft_testkit::DEFAULT_REPLY_TEXT)
            && first.agent.last_response().run_id != second.agent.last_response().run_id,
        "each instance keeps its own last response"
    );
    drop((a, b));
}
