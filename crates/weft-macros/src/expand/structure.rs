//! `#[workflow]` on the struct: parse it (`parse`), check it (`valid`), and generate the struct
//! with the injected context fields, its builder and its `WorkflowDefinition` impl.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use crate::ast::{AgentSpec, Field, WorkflowSpec};
use crate::ctxt::Ctxt;
use crate::{crate_path, fallback, parse, valid};

/// Entry point for a struct.
pub fn expand(args: TokenStream, mut item: syn::ItemStruct) -> TokenStream {
    if let syn::Fields::Unnamed(fields) = &mut item.fields {
        for field in fields.unnamed.iter_mut() {
            field.attrs.retain(|a| !a.path().is_ident("agent"));
        }
        return fallback::tuple_struct(item);
    }
    let mut cx = Ctxt::default();
    let mut parsed = parse::workflow_struct(&mut cx, args, item);
    let spec = valid::workflow_spec(&mut cx, &parsed.item.ident, parsed.args, parsed.doc);
    let reserved = valid::no_injected_names(&mut cx, &parsed.fields);
    // Leave the offending fields out of the output: their error is the only one.
    parsed
        .fields
        .retain(|field| !reserved.contains(&field.ident));
    if let syn::Fields::Named(named) = &mut parsed.item.fields {
        named.named = std::mem::take(&mut named.named)
            .into_iter()
            .filter(|field| field.ident.as_ref().is_none_or(|i| !reserved.contains(i)))
            .collect();
    }
    let agents: Vec<(usize, AgentSpec)> = parsed
        .fields
        .iter()
        .enumerate()
        .filter_map(|(i, field)| {
            let args = field.agent.clone()?;
            Some((i, valid::agent_spec(&mut cx, field, args)))
        })
        .collect();
    let pairs: Vec<(&Field, &AgentSpec)> = agents
        .iter()
        .map(|(i, spec)| (&parsed.fields[*i], spec))
        .collect();
    valid::unique_agent_names(&mut cx, &pairs);
    let expanded = generate(&parsed.item, &parsed.fields, &agents, &spec);
    let errors = cx.to_compile_errors();
    quote!(#errors #expanded)
}

fn generate(
    item: &syn::ItemStruct,
    fields: &[Field],
    agents: &[(usize, AgentSpec)],
    spec: &WorkflowSpec,
) -> TokenStream {
    let weft = crate_path::weft();
    let ident = &item.ident;
    let vis = &item.vis;
    let attrs = &item.attrs;
    let builder = format_ident!("{}Builder", ident);
    let state_ty: syn::Type = spec
        .state
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(#weft::SessionState));
    let user_fields = match &item.fields {
        syn::Fields::Named(named) => named.named.iter().collect::<Vec<_>>(),
        _ => Vec::new(),
    };

    let agent_spec = |index: usize| agents.iter().find(|(i, _)| *i == index).map(|(_, s)| s);
    let mut slots = Vec::new();
    let mut setters = Vec::new();
    // `let` bindings in `build()`: plain fields first, so agent keys can use them by name.
    let mut plain_inits = Vec::new();
    let mut agent_inits = Vec::new();
    let mut names = Vec::new();
    let mut empties = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let name = &field.ident;
        let ty = &field.ty;
        names.push(name);
        empties.push(quote!(#name: ::std::option::Option::None));
        match agent_spec(index) {
            Some(agent) => {
                // The declared type (checked to be `Agent`), so a wrong type is one error.
                slots.push(quote!(#name: ::std::option::Option<#ty>));
                let doc =
                    format!("Uses this agent instead of the one `#[agent]` declares for `{name}`.");
                setters.push(quote! {
                    #[doc = #doc]
                    pub fn #name(mut self, agent: #ty) -> Self {
                        self.#name = ::std::option::Option::Some(agent);
                        self
                    }
                });
                let build = build_agent(&weft, field, agent);
                agent_inits.push(quote! {
                    let #name: #ty = match self.#name {
                        ::std::option::Option::Some(agent) => agent,
                        ::std::option::Option::None => #build,
                    };
                });
            }
            None => {
                slots.push(quote!(#name: ::std::option::Option<#ty>));
                let doc = format!("Sets `{name}`.");
                setters.push(quote! {
                    #[doc = #doc]
                    pub fn #name(mut self, value: #ty) -> Self {
                        self.#name = ::std::option::Option::Some(value);
                        self
                    }
                });
                let missing =
                    format!("`{ident}::builder()` needs `.{name}(..)`: its type has no `Default`");
                plain_inits.push(quote! {
                    let #name: #ty = match self.#name {
                        ::std::option::Option::Some(value) => value,
                        ::std::option::Option::None => {
                            #[allow(unused_imports)]
                            use #weft::__private::{ViaDefault as _, ViaNone as _};
                            match (&&#weft::__private::DefaultProbe::<#ty>::new()).default_value() {
                                ::std::option::Option::Some(value) => value,
                                ::std::option::Option::None => {
                                    return ::std::result::Result::Err(#weft::Error::Config(#missing.to_string()))
                                }
                            }
                        }
                    };
                });
            }
        }
    }

    // Agents whose attribute checked out (others have a compile error already).
    let agent_refs = agents
        .iter()
        .filter(|(_, agent)| agent.valid)
        .map(|(index, _)| &fields[*index].ident);
    let name = &spec.name;
    let description = match &spec.description {
        Some(text) => quote!(::std::option::Option::Some(#text)),
        None => quote!(::std::option::Option::None),
    };
    let builder_doc = format!(
        "Builds a [`{ident}`]: `{ident}::builder().session_id(\"…\").storage(…).build()?`."
    );

    quote! {
        #(#attrs)*
        #vis struct #ident {
            #(#user_fields,)*
            /// The session this instance reads and writes (a new UUID v4 unless the builder set one).
            pub session_id: ::std::string::String,
            /// The user the session belongs to, if any.
            pub user_id: ::std::option::Option<::std::string::String>,
            /// The id of the run in progress, or of the last one.
            pub run_id: ::std::option::Option<::std::string::String>,
            /// The session state: read from `storage` when a run starts, saved when it ends,
            /// fails or is dropped.
            pub session_state: #state_ty,
            /// Where sessions and runs are kept (in memory unless the builder set a store).
            pub storage: #weft::StorageRef,
            #[doc(hidden)]
            pub __weft: #weft::__private::WorkflowMeta,
        }

        #[doc = #builder_doc]
        #[must_use = "call `.build()` to get the workflow"]
        #vis struct #builder {
            session_id: ::std::option::Option<::std::string::String>,
            user_id: ::std::option::Option<::std::string::String>,
            storage: ::std::option::Option<#weft::StorageRef>,
            session_state: ::std::option::Option<#state_ty>,
            #(#slots,)*
        }

        impl #ident {
            /// Starts building an instance of this workflow. Every instance gets its own agents.
            #vis fn builder() -> #builder {
                #builder {
                    session_id: ::std::option::Option::None,
                    user_id: ::std::option::Option::None,
                    storage: ::std::option::Option::None,
                    session_state: ::std::option::Option::None,
                    #(#empties,)*
                }
            }
        }

        impl #ident {
            /// Reads this instance's session from `storage` and takes in its state (a run does
            /// this itself). `None` if the session was never saved.
            pub async fn load_session(&mut self) -> #weft::Result<::std::option::Option<#weft::WorkflowSession>> {
                #weft::__private::load_session(self).await
            }

            /// Switches to a new, empty session (new UUID v4, default state); returns its id.
            pub fn new_session(&mut self) -> ::std::string::String {
                #weft::__private::new_session(self)
            }

            /// Gives the current session a human name and saves it.
            pub async fn rename_session(&mut self, name: impl ::std::convert::Into<::std::string::String>) -> #weft::Result<()> {
                #weft::__private::rename_session(self, name.into()).await
            }

            /// Deletes a session and its runs from `storage`.
            pub async fn delete_session(&mut self, session_id: &str) -> #weft::Result<bool> {
                #weft::__private::delete_session(self, session_id).await
            }

            /// This workflow's sessions in `storage`, newest first (a filter without
            /// `workflow_id` means this workflow).
            pub async fn sessions(&self, filter: #weft::SessionFilter) -> #weft::Result<::std::vec::Vec<#weft::WorkflowSession>> {
                #weft::__private::sessions(&self.storage, <Self as #weft::WorkflowDefinition>::NAME, filter).await
            }

            /// A session's runs, oldest first.
            pub async fn runs(&self, session_id: &str) -> #weft::Result<::std::vec::Vec<#weft::RunRecord>> {
                #weft::__private::runs(&self.storage, session_id).await
            }

            /// This workflow's runs left `interrupted` by a process that died, oldest first:
            /// each can be taken up again with `resume(run_id)`.
            pub async fn interrupted_runs(&self) -> #weft::Result<::std::vec::Vec<#weft::RunRecord>> {
                #weft::WorkflowStorage::interrupted_runs(
                    &*self.storage,
                    ::std::option::Option::Some(<Self as #weft::WorkflowDefinition>::NAME),
                )
                .await
            }

            /// The context of the run in progress, for journaled steps:
            /// `self.ctx().step("name", async { … }).await?` runs the work once per run (a
            /// resumed run gets its journaled output back). Owned, so it can go into spawned
            /// tasks; outside a run, steps just run.
            pub fn ctx(&self) -> #weft::RunContext {
                self.__weft.run_context()
            }
        }

        impl #builder {
            /// Uses this session id (default: a new UUID v4). Instances with the same session
            /// id and storage share the session's state.
            pub fn session_id(mut self, session_id: impl ::std::convert::Into<::std::string::String>) -> Self {
                self.session_id = ::std::option::Option::Some(session_id.into());
                self
            }

            /// Sets the user the session belongs to.
            pub fn user_id(mut self, user_id: impl ::std::convert::Into<::std::string::String>) -> Self {
                self.user_id = ::std::option::Option::Some(user_id.into());
                self
            }

            /// Keeps sessions and runs in this store (default: a private in-memory store).
            pub fn storage(mut self, storage: impl #weft::IntoStorage) -> Self {
                self.storage = ::std::option::Option::Some(#weft::IntoStorage::into_storage(storage));
                self
            }

            /// The initial session state. A session already in storage keeps its saved values;
            /// this state only fills in keys it lacks (see `weft::workflow::runner`).
            pub fn session_state(mut self, state: #state_ty) -> Self {
                self.session_state = ::std::option::Option::Some(state);
                self
            }

            #(#setters)*

            /// Builds the instance: constructs its agents (a bad model spec or missing
            /// configuration is an error here; a missing API key is reported when the agent
            /// first runs).
            pub fn build(self) -> #weft::Result<#ident> {
                #(#plain_inits)*
                #(#agent_inits)*
                ::std::result::Result::Ok(#ident {
                    #(#names,)*
                    session_id: self.session_id.unwrap_or_else(#weft::__private::new_session_id),
                    user_id: self.user_id,
                    run_id: ::std::option::Option::None,
                    session_state: #weft::__private::initial_state::<#ident>(self.session_state),
                    storage: self.storage.unwrap_or_else(#weft::__private::memory_storage),
                    __weft: #weft::__private::WorkflowMeta::new(),
                })
            }
        }

        impl #weft::workflow::WorkflowBuilder for #builder {
            type Workflow = #ident;
            fn with_session_id(self, session_id: ::std::string::String) -> Self {
                self.session_id(session_id)
            }
            fn with_user_id(self, user_id: ::std::string::String) -> Self {
                self.user_id(user_id)
            }
            fn with_storage(self, storage: #weft::StorageRef) -> Self {
                self.storage(storage)
            }
            fn build_workflow(self) -> #weft::Result<#ident> {
                self.build()
            }
        }

        impl #weft::WorkflowDefinition for #ident {
            type State = #state_ty;
            const NAME: &'static str = #name;
            const DESCRIPTION: ::std::option::Option<&'static str> = #description;
            fn context(&mut self) -> #weft::workflow::WorkflowContext<'_, Self::State> {
                #weft::workflow::WorkflowContext {
                    session_id: &mut self.session_id,
                    user_id: &mut self.user_id,
                    run_id: &mut self.run_id,
                    session_state: &mut self.session_state,
                    storage: &self.storage,
                    meta: &mut self.__weft,
                }
            }
            fn agents(&self) -> ::std::vec::Vec<&#weft::Agent> {
                ::std::vec![#(&self.#agent_refs),*]
            }
        }
    }
}

/// The expression that builds one declared agent.
fn build_agent(weft: &TokenStream, field: &Field, spec: &AgentSpec) -> TokenStream {
    if !spec.valid {
        let message = format!("the `#[agent]` of `{}` is invalid", field.ident);
        return quote!(return ::std::result::Result::Err(#weft::Error::Config(#message.to_string())));
    }
    if let Some(with) = &spec.with {
        return quote_spanned!(field.agent_attr_span=> (#with)());
    }
    let default_name = field.ident.to_string();
    let name = spec
        .name
        .as_ref()
        .map_or_else(|| quote!(#default_name), |name| quote!(#name));
    let model = match &spec.model {
        Some(model) => quote!(#model),
        None => quote!(#weft::model_from_env()?),
    };
    let mut calls = vec![quote!(.name(#name)), quote!(.model(#model))];
    if let Some(description) = &spec.description {
        calls.push(quote!(.description(#description)));
    }
    if !spec.instructions.is_empty() {
        let instructions = &spec.instructions;
        calls.push(quote!(.instructions([#(#instructions),*])));
    }
    if let Some(expected) = &spec.expected_output {
        calls.push(quote!(.expected_output(#expected)));
    }
    for tool in &spec.tools {
        calls.push(quote!(.tool(#tool)));
    }
    if let Some(markdown) = &spec.markdown {
        calls.push(quote!(.markdown(#markdown)));
    }
    if let Some(retries) = &spec.retries {
        calls.push(quote!(.retries(#retries)));
    }
    if let Some(limit) = &spec.tool_call_limit {
        calls.push(quote!(.tool_call_limit(#limit)));
    }
    if let Some(turns) = &spec.max_turns {
        calls.push(quote!(.max_turns(#turns)));
    }
    if let Some(timeout) = &spec.tool_timeout {
        calls.push(quote!(.tool_timeout(#timeout)));
    }
    quote!(#weft::Agent::builder() #(#calls)* .build()?)
}
