//! A tool call's result as the text the model reads.
//!
//! Text parts are joined with newlines; an embedded text resource gives its text. Other
//! content is described in one line (`[image: image/png, 1024 bytes]`), since the model's
//! tool result is text. A result with no content gives its structured content as JSON.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

/// The text of a result.
pub(crate) fn text_of(result: &CallToolResult) -> String {
    if result.content.is_empty() {
        return result
            .structured_content
            .as_ref()
            .map_or_else(String::new, ToString::to_string);
    }
    result
        .content
        .iter()
        .map(describe)
        .collect::<Vec<_>>()
        .join("\n")
}

fn describe(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(image) => {
            format!(
                "[image: {}, {} bytes]",
                image.mime_type,
                decoded_len(&image.data)
            )
        }
        ContentBlock::Audio(audio) => {
            format!(
                "[audio: {}, {} bytes]",
                audio.mime_type,
                decoded_len(&audio.data)
            )
        }
        ContentBlock::Resource(embedded) => match &embedded.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => {
                format!("[resource {uri}]\n{text}")
            }
            ResourceContents::BlobResourceContents {
                uri,
                mime_type,
                blob,
                ..
            } => format!(
                "[resource {uri}: {}, {} bytes]",
                mime_type.as_deref().unwrap_or("binary"),
                decoded_len(blob)
            ),
            _ => "[a resource of a kind weft cannot show]".to_string(),
        },
        ContentBlock::ResourceLink(link) => match &link.description {
            Some(description) => format!(
                "[resource link {} <{}>: {description}]",
                link.name, link.uri
            ),
            None => format!("[resource link {} <{}>]", link.name, link.uri),
        },
        // A kind of content newer than this crate.
        _ => "[content of a kind weft cannot show]".to_string(),
    }
}

/// How many bytes base64 text decodes to.
fn decoded_len(base64: &str) -> usize {
    let trimmed = base64.trim_end_matches('=');
    trimmed.len() * 3 / 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ContentBlock;

    #[test]
    fn text_parts_are_joined_and_other_content_is_described() {
        let result = CallToolResult::success(vec![
            ContentBlock::text("first"),
            ContentBlock::image("aGVsbG8=", "image/png"),
            ContentBlock::text("last"),
        ]);
        assert_eq!(text_of(&result), "first\n[image: image/png, 5 bytes]\nlast");
    }

    #[test]
    fn a_result_without_content_gives_its_structured_content() {
        let result = CallToolResult::structured(serde_json::json!({"sum": 3}));
        // `structured` also adds the JSON as text, as the spec asks servers to.
        assert_eq!(text_of(&result), r#"{"sum":3}"#);
        let mut bare = result.clone();
        bare.content.clear();
        assert_eq!(text_of(&bare), r#"{"sum":3}"#);
    }
}
