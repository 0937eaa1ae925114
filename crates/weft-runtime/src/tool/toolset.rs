//! [`Toolset`]: tools an agent learns at run time, from a source such as an MCP server, and
//! how an agent merges them with its own.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{Tool, ToolError};
use crate::model::ToolSpec;
use crate::{Error, Result};

/// A source of tools found at run time: an MCP server (`weft::mcp::McpTools`), a registry.
///
/// An agent asks each of its toolsets ([`AgentBuilder::toolset`](crate::AgentBuilder::toolset))
/// for their tools once, when its first run needs the tool list (before its first model call),
/// and keeps the merged list (its own tools first, then each toolset's in the order they were
/// added, each in the order it gave them) for every later run of it and of its clones.
/// Building the agent does nothing: a toolset whose server is down does not stop an agent from
/// being built, and an agent that never runs never connects.
///
/// If a toolset cannot give its tools, the run fails with [`Error::ToolsetUnavailable`] naming
/// it, before any model call (the model was promised those tools), and the next run asks
/// again. Two tools with one name, across the agent's tools and its toolsets', fail the run
/// with [`Error::Config`] naming where each came from. Once listed, a tool's failures are its
/// own: they go back to the model as tool results, as for any tool.
///
/// ```
/// use std::sync::Arc;
/// use futures::future::BoxFuture;
/// use serde_json::json;
/// use weft_runtime::tool::Toolset;
/// use weft_runtime::{FunctionTool, Tool, ToolError};
///
/// /// Tools read from a registry when the agent first runs.
/// struct Registry;
///
/// impl Toolset for Registry {
///     fn label(&self) -> &str {
///         "the tool registry"
///     }
///     fn tools(&self) -> BoxFuture<'_, Result<Vec<Arc<dyn Tool>>, ToolError>> {
///         Box::pin(async {
///             let ping = FunctionTool::new("ping", "Answers pong.", json!({"type": "object"}), |_| async {
///                 Ok::<_, ToolError>("pong")
///             });
///             Ok(vec![Arc::new(ping) as Arc<dyn Tool>])
///         })
///     }
/// }
///
/// let agent = weft_runtime::Agent::builder()
///     .model(weft_runtime::Offline::default())
///     .toolset(Registry)
///     .build()?;
/// # Ok::<(), weft_runtime::Error>(())
/// ```
pub trait Toolset: Send + Sync {
    /// What the toolset is, in words, for errors and logs (`MCP server \`npx …\``).
    fn label(&self) -> &str;

    /// The tools, in a fixed order (the order is part of every model request, which durable
    /// runs hash). Called when an agent first needs its tool list; an `Err` fails that run
    /// with [`Error::ToolsetUnavailable`] and its text, so say what to do about it.
    fn tools(&self) -> BoxFuture<'_, Result<Vec<Arc<dyn Tool>>, ToolError>>;
}

impl<T: Toolset + ?Sized> Toolset for Arc<T> {
    fn label(&self) -> &str {
        (**self).label()
    }
    fn tools(&self) -> BoxFuture<'_, Result<Vec<Arc<dyn Tool>>, ToolError>> {
        (**self).tools()
    }
}

impl<T: Toolset + ?Sized> Toolset for Box<T> {
    fn label(&self) -> &str {
        (**self).label()
    }
    fn tools(&self) -> BoxFuture<'_, Result<Vec<Arc<dyn Tool>>, ToolError>> {
        (**self).tools()
    }
}

/// An agent's whole tool list: its own tools, then its toolsets'.
pub(crate) struct ResolvedTools {
    /// Every tool, in the order the model sees them.
    pub tools: Vec<Arc<dyn Tool>>,
    /// The tools as the model sees them.
    pub specs: Vec<ToolSpec>,
}

/// Asks every toolset for its tools, one after the other (in order, so the list is the same
/// on every run), and checks that no two tools share a name.
pub(crate) async fn resolve(
    own: &[Arc<dyn Tool>],
    toolsets: &[Arc<dyn Toolset>],
) -> Result<ResolvedTools> {
    // Where each tool came from: `None` for the agent's own tools, else the toolset's index.
    let mut tools: Vec<(Option<usize>, Arc<dyn Tool>)> =
        own.iter().map(|tool| (None, Arc::clone(tool))).collect();
    for (index, toolset) in toolsets.iter().enumerate() {
        let listed = toolset
            .tools()
            .await
            .map_err(|error| Error::ToolsetUnavailable {
                toolset: toolset.label().to_string(),
                message: error.to_string(),
            })?;
        tracing::debug!(
            toolset = toolset.label(),
            tools = listed.len(),
            "toolset listed its tools"
        );
        tools.extend(listed.into_iter().map(|tool| (Some(index), tool)));
    }
    let origin = |from: Option<usize>| match from {
        None => "the agent's own tools".to_string(),
        Some(index) => toolsets
            .get(index)
            .map_or_else(String::new, |toolset| toolset.label().to_string()),
    };
    for (i, (from, tool)) in tools.iter().enumerate() {
        if let Some((first, _)) = tools[..i].iter().find(|(_, t)| t.name() == tool.name()) {
            return Err(Error::Config(format!(
                "two tools are named `{}`: one from {}, one from {}; tool names must be unique (give a toolset a name prefix, or leave one of them out)",
                tool.name(),
                origin(*first),
                origin(*from),
            )));
        }
    }
    let specs = tools.iter().map(|(_, tool)| tool.spec()).collect();
    Ok(ResolvedTools {
        tools: tools.into_iter().map(|(_, tool)| tool).collect(),
        specs,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::{Agent, FunctionTool, Offline};

    /// A toolset of fixed tools that counts how often it is asked, and fails the first
    /// `failures` times.
    struct Counted {
        names: Vec<&'static str>,
        asked: Arc<AtomicUsize>,
        failures: usize,
    }

    impl Toolset for Counted {
        fn label(&self) -> &str {
            "the counted toolset"
        }
        fn tools(&self) -> BoxFuture<'_, Result<Vec<Arc<dyn Tool>>, ToolError>> {
            Box::pin(async move {
                let asked = self.asked.fetch_add(1, Ordering::SeqCst);
                if asked < self.failures {
                    return Err("the server is down; start it".into());
                }
                Ok(self.names.iter().map(|name| tool(name)).collect())
            })
        }
    }

    fn tool(name: &str) -> Arc<dyn Tool> {
        Arc::new(FunctionTool::new(
            name,
            "A tool.",
            json!({"type": "object"}),
            |_| async { Ok::<_, ToolError>("done") },
        ))
    }

    fn counted(names: Vec<&'static str>, failures: usize) -> (Counted, Arc<AtomicUsize>) {
        let asked = Arc::new(AtomicUsize::new(0));
        let toolset = Counted {
            names,
            asked: Arc::clone(&asked),
            failures,
        };
        (toolset, asked)
    }

    #[tokio::test]
    async fn the_list_is_own_tools_then_each_toolsets_in_order() {
        let (first, _) = counted(vec!["b", "a"], 0);
        let (second, _) = counted(vec!["c"], 0);
        let toolsets: Vec<Arc<dyn Toolset>> = vec![Arc::new(first), Arc::new(second)];
        let resolved = resolve(&[tool("own")], &toolsets).await.unwrap();
        let names: Vec<&str> = resolved
            .specs
            .iter()
            .map(|spec| spec.name.as_str())
            .collect();
        assert_eq!(names, ["own", "b", "a", "c"]);
        assert_eq!(resolved.tools.len(), 4);
    }

    #[tokio::test]
    async fn a_shared_name_is_a_config_error_naming_both_sources() {
        let (toolset, _) = counted(vec!["own"], 0);
        let toolsets: Vec<Arc<dyn Toolset>> = vec![Arc::new(toolset)];
        let Err(Error::Config(message)) = resolve(&[tool("own")], &toolsets).await else {
            panic!("expected a config error");
        };
        assert!(message.contains("two tools are named `own`"), "{message}");
        assert!(message.contains("the agent's own tools"), "{message}");
        assert!(message.contains("the counted toolset"), "{message}");
    }

    #[tokio::test]
    async fn an_agent_asks_once_for_all_its_runs_and_clones() {
        let (toolset, asked) = counted(vec!["listed"], 0);
        let mut agent = Agent::builder()
            .model(Offline::default())
            .toolset(toolset)
            .build()
            .unwrap();
        assert_eq!(asked.load(Ordering::SeqCst), 0, "building asks nothing");
        agent.run("first").await.unwrap();
        let mut clone = agent.clone();
        clone.run("second").await.unwrap();
        agent.run("third").await.unwrap();
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        // The offline model called the listed tool: it was offered.
        assert_eq!(agent.last_response().tools[0].name, "listed");
    }

    #[tokio::test]
    async fn a_toolset_that_failed_fails_the_run_and_is_asked_again_by_the_next() {
        let (toolset, asked) = counted(vec!["listed"], 1);
        let mut agent = Agent::builder()
            .model(Offline::default())
            .toolset(toolset)
            .build()
            .unwrap();
        let error = agent.run("first").await.unwrap_err();
        let Error::ToolsetUnavailable { toolset, message } = &error else {
            panic!("expected ToolsetUnavailable, got {error:?}");
        };
        assert_eq!(toolset, "the counted toolset");
        assert_eq!(message, "the server is down; start it");
        assert_eq!(
            error.to_string(),
            "the tools of the counted toolset are unavailable: the server is down; start it"
        );
        assert_eq!(
            agent.usage().model_calls,
            0,
            "no model call without the tools"
        );
        agent.run("second").await.unwrap();
        assert_eq!(asked.load(Ordering::SeqCst), 2);
    }
}
