//! The offline model: deterministic and network-free.

use weft::prelude::*;

use crate::support::*;

#[tokio::test]
async fn offline_is_deterministic_and_streams_the_same_answer() {
    let mut a = Agent::builder().model(Offline::default()).build().unwrap();
    let mut b = Agent::builder().model("offline:echo").build().unwrap();
    let first = a.run("What is weft?").await.unwrap();
    let second = b.run("What is weft?").await.unwrap();
    assert_eq!(first.content_text(), second.content_text());
    assert!(
        first.content_text().contains("offline"),
        "it says what it is"
    );
    assert!(first.content_text().contains("What is weft?"));
    let (items, error) = drain(a.run_stream("What is weft?")).await;
    assert!(error.is_none());
    assert_eq!(text_of(&items), first.content_text());
    let other = a.run("Something else").await.unwrap();
    assert_ne!(other.content_text(), first.content_text());
}
