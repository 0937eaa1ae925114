//! How a typed answer (`Agent::run_typed`) is asked of Claude: the Messages API's native JSON
//! outputs where the model has them, else a tool whose input is the answer.
//!
//! Native JSON outputs are `"output_config": {"format": {"type": "json_schema", "schema": …}}`
//! in the request, generally available without a beta header (it began as the beta
//! `output_format` parameter with `anthropic-beta: structured-outputs-2025-11-13`); the answer
//! then comes back as a text block holding the JSON. See
//! <https://platform.claude.com/docs/en/build-with-claude/structured-outputs>, which lists the
//! models that have it: Claude Haiku 4.5, Sonnet 4.5, Opus 4.5 and their successors (Sonnet 4.6,
//! Opus 4.6, Opus 4.7). The API accepts only schemas whose objects are closed
//! (`additionalProperties: false`), the same subset as OpenAI's strict mode.

use crate::model::OutputSchema;

/// How a [`Claude`](super::Claude) model is asked for a typed answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StructuredOutput {
    /// Native JSON output when the model has it ([`supports_native_output`]) and the schema
    /// fits the subset the API accepts ([`OutputSchema::strict`]); the answer tool otherwise.
    #[default]
    Auto,
    /// Always native JSON output (`output_config.format`): for a model weft does not know to
    /// have it, such as a gateway's alias.
    Native,
    /// Always the answer tool: a tool whose input is the answer, which the model must call.
    AnswerTool,
}

impl StructuredOutput {
    /// Whether `output` is asked for natively of the model `model_id`.
    pub(crate) fn native(self, model_id: &str, output: &OutputSchema) -> bool {
        match self {
            StructuredOutput::Auto => output.strict && supports_native_output(model_id),
            StructuredOutput::Native => true,
            StructuredOutput::AnswerTool => false,
        }
    }
}

/// Whether a Claude model id names a model with native JSON outputs: `claude-opus-*`,
/// `claude-sonnet-*` or `claude-haiku-*` of version 4.5 or later (`claude-sonnet-4-5`,
/// `claude-haiku-4-5-20251001`, `claude-opus-4-7`, `claude-sonnet-5`…). A date suffix and a
/// cloud prefix or suffix (`anthropic.claude-sonnet-4-5-20250929-v1:0`,
/// `claude-sonnet-4-5@20250929`) are allowed; older models (`claude-opus-4-1`,
/// `claude-sonnet-4-20250514`, `claude-3-7-sonnet-latest`) and other ids are not.
pub fn supports_native_output(model_id: &str) -> bool {
    let Some(start) = model_id.find("claude-") else {
        return false;
    };
    let mut parts = model_id[start + "claude-".len()..].split(['-', '@', ':', '.']);
    if !matches!(parts.next(), Some("opus" | "sonnet" | "haiku")) {
        return false;
    }
    let Some(major) = parts.next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    // A one- or two-digit part is the minor version; a date is not.
    let minor = parts
        .next()
        .filter(|p| p.len() <= 2)
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(0);
    (major, minor) >= (4, 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_output_from_version_4_5_on() {
        for id in [
            "claude-sonnet-4-5",
            "claude-sonnet-4-5-20250929",
            "claude-haiku-4-5",
            "claude-opus-4-5-20251101",
            "claude-opus-4-7",
            "claude-sonnet-4-6",
            "claude-sonnet-5",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "claude-sonnet-4-5@20250929",
        ] {
            assert!(supports_native_output(id), "{id}");
        }
        for id in [
            "claude-opus-4-1",
            "claude-sonnet-4-20250514",
            "claude-3-7-sonnet-latest",
            "claude-3-5-haiku-20241022",
            "claude",
            "gpt-4o",
            "claude-sonnet",
        ] {
            assert!(!supports_native_output(id), "{id}");
        }
    }

    #[test]
    fn auto_needs_a_schema_the_api_accepts() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Closed {
            name: String,
        }
        let closed = OutputSchema::of::<Closed>();
        let open = OutputSchema::of::<std::collections::HashMap<String, u32>>();
        assert!(StructuredOutput::Auto.native("claude-sonnet-4-5", &closed));
        assert!(!StructuredOutput::Auto.native("claude-sonnet-4-5", &open));
        assert!(!StructuredOutput::Auto.native("claude-opus-4-1", &closed));
        assert!(StructuredOutput::Native.native("claude-opus-4-1", &open));
        assert!(!StructuredOutput::AnswerTool.native("claude-sonnet-4-5", &closed));
    }
}
