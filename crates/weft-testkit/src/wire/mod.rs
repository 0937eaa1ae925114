//! Rendering a [`Reply`](crate::Reply) in each provider's wire format.

pub(crate) mod anthropic;
pub(crate) mod openai;

/// One SSE frame of a streamed reply.
pub(crate) struct Frame {
    /// The frame's bytes, blank line included.
    pub text: String,
    /// Whether the frame carries content (text or a tool-call piece): faults and chunk delays
    /// count these.
    pub content: bool,
}

impl Frame {
    pub fn data(json: serde_json::Value, content: bool) -> Frame {
        Frame {
            text: format!("data: {json}\n\n"),
            content,
        }
    }

    pub fn event(name: &str, json: serde_json::Value, content: bool) -> Frame {
        Frame {
            text: format!("event: {name}\ndata: {json}\n\n"),
            content,
        }
    }
}

/// Splits a tool call's arguments into pieces, as providers stream them.
pub(crate) fn argument_pieces(arguments: &str) -> Vec<String> {
    let chars: Vec<char> = arguments.chars().collect();
    chars
        .chunks(8)
        .map(|piece| piece.iter().collect())
        .collect()
}
