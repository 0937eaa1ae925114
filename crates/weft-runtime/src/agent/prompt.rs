//! Builds the messages of a run: one system message from the agent's description,
//! instructions, expected output and markdown flag; the kept history; the prompt, unchanged.

use std::collections::VecDeque;

use crate::message::Message;

/// One finished run kept for `add_history_to_messages`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PastRun {
    pub prompt: String,
    pub answer: String,
}

/// What the system message is made of, as the builder was given it.
pub(crate) struct PromptParts {
    pub description: Option<String>,
    pub instructions: Vec<String>,
    pub expected_output: Option<String>,
    pub markdown: bool,
}

impl PromptParts {
    /// The system message, or `None` when the agent has nothing to say.
    pub fn system_message(&self) -> Option<String> {
        system_message(
            self.description.as_deref(),
            &self.instructions,
            self.expected_output.as_deref(),
            self.markdown,
        )
    }
}

/// The system message, or `None` when the agent has nothing to say.
pub(crate) fn system_message(
    description: Option<&str>,
    instructions: &[String],
    expected_output: Option<&str>,
    markdown: bool,
) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(description) = description {
        parts.push(description.to_string());
    }
    match instructions {
        [] => {}
        [one] => parts.push(format!("<instructions>\n{one}\n</instructions>")),
        many => {
            let list: Vec<String> = many.iter().map(|i| format!("- {i}")).collect();
            parts.push(format!(
                "<instructions>\n{}\n</instructions>",
                list.join("\n")
            ));
        }
    }
    if let Some(expected) = expected_output {
        parts.push(format!("<expected_output>\n{expected}\n</expected_output>"));
    }
    if markdown {
        parts.push("Use markdown to format your answers.".to_string());
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// The messages of a run.
pub(crate) fn messages(
    system: Option<&str>,
    history: &VecDeque<PastRun>,
    prompt: &str,
) -> Vec<Message> {
    let mut messages = Vec::with_capacity(2 + history.len() * 2);
    if let Some(system) = system {
        messages.push(Message::system(system));
    }
    for run in history {
        messages.push(Message::user(run.prompt.clone()));
        messages.push(Message::assistant(run.answer.clone()));
    }
    messages.push(Message::user(prompt));
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_message_holds_every_part_in_order() {
        let system = system_message(
            Some("You write."),
            &["Be brief.".to_string(), "Cite sources.".to_string()],
            Some("Three bullets."),
            true,
        )
        .unwrap();
        let order = [
            "You write.",
            "- Be brief.",
            "- Cite sources.",
            "Three bullets.",
            "markdown",
        ];
        let positions: Vec<usize> = order.iter().map(|p| system.find(p).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{system}");
        assert_eq!(system_message(None, &[], None, false), None);
    }

    #[test]
    fn prompt_is_last_and_unchanged() {
        let history = VecDeque::from([PastRun {
            prompt: "hi".into(),
            answer: "hello".into(),
        }]);
        let messages = messages(Some("sys"), &history, "  what now? ");
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[3].content, "  what now? ");
    }
}
