//! The offline model's text answers: an extract of the prompt, labelled as offline.

use super::calls::urls_in;

/// The most sections an extract lists.
const MAX_SECTIONS: usize = 8;

/// The answer to `prompt`: for a prompt with Markdown sections (`#` headings), the first
/// sentence of each section as a bullet citing the section's first URL; otherwise the prompt
/// restated.
pub(super) fn answer(id: &str, prompt: &str) -> String {
    let label = format!("[offline model `{id}`: no LLM was called]");
    let sections = sections(prompt);
    if sections.is_empty() {
        let asked: String = prompt.trim().chars().take(200).collect();
        return format!(
            "{label} You asked: \"{asked}\". Set OPENAI_API_KEY, ANTHROPIC_API_KEY or WEFT_MODEL for a real answer."
        );
    }
    let mut answer =
        format!("{label} An extract, not a summary: the first sentence of each source.\n\n");
    for (title, body) in sections.into_iter().take(MAX_SECTIONS) {
        let sentence = first_sentence(&body);
        answer.push_str(&format!("- **{title}**: {sentence}"));
        if let Some(url) = urls_in(&body).first() {
            answer.push_str(&format!(" ([source]({url}))"));
        }
        answer.push('\n');
    }
    answer
}

/// `(heading, body)` of each Markdown section.
fn sections(prompt: &str) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in prompt.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            let title = trimmed.trim_start_matches('#').trim();
            if !title.is_empty() {
                sections.push((title.to_string(), String::new()));
                continue;
            }
        }
        if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    sections
}

/// Whether a line is a `Label: value` line (`Source: …`, `Published: …`) rather than prose.
fn is_label_line(line: &str) -> bool {
    line.split_once(": ").is_some_and(|(label, _)| {
        let words = label.split_whitespace().count();
        (1..=2).contains(&words) && label.chars().next().is_some_and(char::is_uppercase)
    })
}

/// The first sentence of a section's prose (lines that are not a URL or a label).
fn first_sentence(body: &str) -> String {
    let prose: String = body
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.contains("://") && !is_label_line(line))
        .collect::<Vec<_>>()
        .join(" ");
    let end = prose
        .char_indices()
        .find(|(i, c)| matches!(c, '.' | '!' | '?') && prose[i + 1..].starts_with(' '))
        .map_or(prose.len(), |(i, _)| i + 1);
    let sentence: String = prose[..end].chars().take(300).collect();
    if sentence.is_empty() {
        "(no text)".to_string()
    } else {
        sentence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_become_cited_first_sentences() {
        let prompt = "Summarise:\n\n## Sled\nSource: https://sled.test/a\nAuthors: Ada\nSled is embedded. It is fast.\n\n## Tokio\nTokio runs tasks! Many.\n";
        let answer = answer("echo", prompt);
        assert!(answer.starts_with("[offline model `echo`"), "{answer}");
        assert!(
            answer.contains("- **Sled**: Sled is embedded. ([source](https://sled.test/a))"),
            "{answer}"
        );
        assert!(
            answer.contains("- **Tokio**: Tokio runs tasks!\n"),
            "{answer}"
        );
    }

    #[test]
    fn a_plain_prompt_is_restated() {
        assert!(answer("echo", "hello").contains("You asked: \"hello\""));
    }
}
