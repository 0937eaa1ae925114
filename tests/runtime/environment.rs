//! What providers read from the environment: keys, endpoints, `model_from_env`'s choice, and
//! setters that override all of it.
//!
//! The environment is process-wide, so each case runs in a child process: the test binary
//! itself, running one `#[ignore]`d `child_*` test with exactly the variables the case needs.
//! Nothing here changes the environment of the parallel tests.

use std::process::{Command, Output};

use weft::prelude::*;
use weft_testkit::{FakeLlm, WireFormat, DEFAULT_REPLY_TEXT};

/// Every variable weft reads, cleared in the child unless the case sets it.
const VARS: [&str; 6] = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OLLAMA_HOST",
    "WEFT_MODEL",
];

/// Runs the ignored test `child` of this module in a child process with `vars` set.
fn run_child(child: &str, vars: &[(&str, String)]) -> Output {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([
        &format!("environment::{child}"),
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for var in VARS {
        command.env_remove(var);
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{child} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// [`run_child`] off the test's runtime, which keeps serving the fake servers meanwhile.
async fn run_child_beside(child: &'static str, vars: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || run_child(child, &vars))
        .await
        .unwrap()
}

#[tokio::test]
async fn keys_and_endpoints_come_from_the_environment_and_setters_override_them() {
    let from_env = FakeLlm::start().await.unwrap();
    let from_setter = FakeLlm::start().await.unwrap();
    let host = from_env.url().trim_start_matches("http://").to_string();
    run_child_beside(
        "child_uses_the_environment",
        vec![
            ("OPENAI_API_KEY", "env-openai-key".into()),
            ("OPENAI_BASE_URL", from_env.openai_base_url()),
            ("ANTHROPIC_API_KEY", "env-anthropic-key".into()),
            ("ANTHROPIC_BASE_URL", from_env.anthropic_base_url()),
            ("OLLAMA_HOST", host), // `host:port`, no scheme, as Ollama users write it
            ("WEFT_TEST_SETTER_BASE", from_setter.openai_base_url()),
        ],
    )
    .await;

    let requests = from_env.requests();
    assert_eq!(
        requests.len(),
        3,
        "openai, anthropic and ollama from the environment"
    );
    assert_eq!(requests[0].format, WireFormat::OpenAI);
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer env-openai-key")
    );
    assert_eq!(requests[1].format, WireFormat::Anthropic);
    assert_eq!(requests[1].header("x-api-key"), Some("env-anthropic-key"));
    assert_eq!(requests[2].path, "/v1/chat/completions");
    assert_eq!(requests[2].body["model"], "llama3.2");
    assert!(
        requests[2].header("authorization").is_none(),
        "Ollama needs no key"
    );

    let overridden = from_setter.requests();
    assert_eq!(overridden.len(), 1);
    assert_eq!(
        overridden[0].header("authorization"),
        Some("Bearer setter-key"),
        "the setter's key wins over OPENAI_API_KEY"
    );
    assert_eq!(overridden[0].body["temperature"], 0.25);
    assert_eq!(overridden[0].body["max_tokens"], 77);
}

#[tokio::test]
#[ignore = "a child process of keys_and_endpoints_come_from_the_environment_and_setters_override_them"]
async fn child_uses_the_environment() {
    let mut answers = Vec::new();
    for model in [
        std::sync::Arc::new(OpenAIChat::new("gpt-4o")) as weft::ModelRef,
        std::sync::Arc::new(Claude::new("claude-sonnet-4-5")),
        std::sync::Arc::new(Ollama::new("llama3.2")),
        std::sync::Arc::new(
            OpenAIChat::new("gpt-4o")
                .base_url(std::env::var("WEFT_TEST_SETTER_BASE").unwrap())
                .api_key("setter-key")
                .temperature(0.25)
                .max_tokens(77),
        ),
    ] {
        let mut agent = Agent::builder().model(model).build().unwrap();
        answers.push(agent.run("hi").await.unwrap().content_text().to_string());
    }
    assert!(
        answers.iter().all(|a| a == DEFAULT_REPLY_TEXT),
        "{answers:?}"
    );
}

#[tokio::test]
async fn missing_keys_name_the_variable() {
    let server = FakeLlm::start().await.unwrap();
    run_child_beside(
        "child_has_no_keys",
        vec![
            ("OPENAI_BASE_URL", server.openai_base_url()),
            ("ANTHROPIC_BASE_URL", server.anthropic_base_url()),
        ],
    )
    .await;
    assert_eq!(server.request_count(), 0, "nothing is sent without a key");
}

#[tokio::test]
#[ignore = "a child process of missing_keys_name_the_variable"]
async fn child_has_no_keys() {
    let mut openai = Agent::builder()
        .model(OpenAIChat::new("gpt-4o"))
        .build()
        .expect("a missing key is reported when the agent runs, not when it is built");
    let err = openai.run("hi").await.unwrap_err();
    assert!(
        matches!(
            err,
            weft::Error::MissingApiKey {
                var: "OPENAI_API_KEY",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("OPENAI_API_KEY"));

    let mut claude = Agent::builder()
        .model(Claude::new("claude-sonnet-4-5"))
        .build()
        .unwrap();
    let mut events = claude.run_stream("hi");
    let mut error = None;
    while let Some(event) = events.next().await {
        if let Err(err) = event {
            error = Some(err);
        }
    }
    assert!(
        matches!(
            error,
            Some(weft::Error::MissingApiKey {
                var: "ANTHROPIC_API_KEY",
                ..
            })
        ),
        "{error:?}"
    );
}

/// `model_from_env` in a child with `vars`: the `provider:id` it picked, and its stderr.
fn picked(vars: &[(&str, &str)]) -> (String, String) {
    let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let output = run_child("child_prints_model_from_env", &vars);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        // libtest may print its `test … ` prefix on the same line.
        .find_map(|line| line.split_once("PICKED ").map(|(_, picked)| picked))
        .unwrap_or_else(|| panic!("no PICKED line in {stdout}"));
    (
        line.to_string(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn model_from_env_prefers_weft_model_then_openai_then_anthropic_then_offline() {
    let all_keys = [("OPENAI_API_KEY", "k1"), ("ANTHROPIC_API_KEY", "k2")];
    let (model, _) = picked(&[("WEFT_MODEL", "ollama:llama3.2"), all_keys[0], all_keys[1]]);
    assert_eq!(model, "ollama:llama3.2");
    let (model, _) = picked(&all_keys);
    assert_eq!(
        model,
        format!("openai:{}", weft::providers::DEFAULT_OPENAI_MODEL)
    );
    let (model, _) = picked(&all_keys[1..]);
    assert_eq!(
        model,
        format!("anthropic:{}", weft::providers::DEFAULT_ANTHROPIC_MODEL)
    );
    let (model, stderr) = picked(&[]);
    assert!(model.starts_with("offline:"), "{model}");
    let notices: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("offline model"))
        .collect();
    assert_eq!(notices.len(), 1, "one notice, once, on stderr: {stderr}");
    let (model, stderr) = picked(&[("OPENAI_API_KEY", "k1")]);
    assert!(model.starts_with("openai:") && !stderr.contains("offline model"));
}

#[test]
fn a_malformed_weft_model_is_an_error_not_ignored() {
    let (model, _) = picked(&[("WEFT_MODEL", "gemini:pro"), ("OPENAI_API_KEY", "k1")]);
    assert!(
        model.starts_with("error: invalid model spec `gemini:pro`"),
        "{model}"
    );
}

#[test]
#[ignore = "a child process of the model_from_env tests"]
fn child_prints_model_from_env() {
    // Asked twice: the offline notice is printed once per process.
    let first = weft::model_from_env();
    let _second = weft::model_from_env();
    match first {
        Ok(model) => println!("PICKED {}:{}", model.provider(), model.id()),
        Err(err) => println!("PICKED error: {err}"),
    }
}
