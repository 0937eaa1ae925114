//! `#[workflow]` on the impl block: parse it (`parse`), check `run` (`valid`), box its body,
//! and implement `Workflow` plus inherent `run_stream`/`run`/`run_json`/`resume`/
//! `continue_run`/`continue_collected`/`start`/`start_resume`/`start_continue`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;
use crate::{crate_path, parse, valid};

/// Entry point for an impl block.
pub fn expand(args: TokenStream, item: syn::ItemImpl) -> TokenStream {
    let mut cx = Ctxt::default();
    let weft = crate_path::weft();
    let parsed = parse::workflow_impl(args, item);
    if !valid::workflow_impl(&mut cx, &parsed) {
        // A trait impl: emit it untouched next to the error.
        let errors = cx.to_compile_errors();
        let mut item = parsed.item;
        item.items.extend(parsed.run.map(syn::ImplItem::Fn));
        return quote!(#errors #item);
    }
    let item = parsed.item;
    let run = parsed.run.and_then(|run| valid::run_fn(&mut cx, &run));
    let self_ty = &item.self_ty;
    let (input_ty, body) = match run {
        Some(run) => {
            let attrs = run.attrs;
            let pat = run.input_pat;
            let ty = run.input_ty;
            let mac = run.body;
            (
                quote!(#ty),
                quote! {
                    #(#attrs)*
                    #[doc(hidden)]
                    fn __weft_run(&mut self, #pat: #ty) -> #weft::RunStream<'_> {
                        ::std::boxed::Box::pin(#mac)
                    }
                },
            )
        }
        // Stand-in so that callers type-check; the compile error above stands.
        None => (
            quote!(#weft::__private::serde_json::Value),
            quote! {
                #[doc(hidden)]
                fn __weft_run(&mut self, _input: #weft::__private::serde_json::Value) -> #weft::RunStream<'_> {
                    ::std::boxed::Box::pin(#weft::__private::futures::stream::empty())
                }
            },
        ),
    };
    let errors = cx.to_compile_errors();
    quote! {
        #errors
        #item

        impl #self_ty {
            #body

            /// Runs the workflow, streaming `WorkflowStarted`, everything `run` yields (stamped
            /// with this run's ids), then `WorkflowCompleted`, or a `RunError` item and the
            /// error. The session state is saved when the run ends, fails or is dropped.
            pub fn run_stream(&mut self, input: #input_ty) -> #weft::RunStream<'_> {
                <Self as #weft::Workflow>::run_stream(self, input)
            }

            /// Runs the workflow and collects the answer: the concatenated text, the tools
            /// called and the run's metrics.
            pub async fn run(&mut self, input: #input_ty) -> #weft::Result<#weft::RunResponse> {
                <Self as #weft::Workflow>::run(self, input).await
            }

            /// Runs the workflow on JSON input; input that does not fit gives a `RunError` item
            /// and `Error::InvalidInput` naming the field.
            pub fn run_json(&mut self, input: #weft::__private::serde_json::Value) -> #weft::RunStream<'_> {
                <Self as #weft::Workflow>::run_json(self, input)
            }

            /// Resumes a run left `interrupted` by a process that died and streams what it
            /// had not logged yet: journaled work returns at once, new work runs live (see
            /// `weft::Workflow::resume`).
            pub fn resume(&mut self, run_id: &str) -> #weft::RunStream<'_> {
                <Self as #weft::Workflow>::resume(self, run_id)
            }

            /// Continues a paused run with the answer to its interrupt, and streams what it
            /// does next (see `weft::Workflow::continue_run`).
            pub fn continue_run(
                &mut self,
                run_id: &str,
                answer: #weft::__private::serde_json::Value,
            ) -> #weft::RunStream<'_> {
                <Self as #weft::Workflow>::continue_run(self, run_id, answer)
            }

            /// Continues a paused run and collects what it does, like `run`.
            pub async fn continue_collected(
                &mut self,
                run_id: &str,
                answer: #weft::__private::serde_json::Value,
            ) -> #weft::Result<#weft::RunResponse> {
                <Self as #weft::Workflow>::continue_collected(self, run_id, answer).await
            }

            /// Starts a run in the background and returns its handle at once (`events`,
            /// `cancel`, `wait`); dropping the handle does not stop the run.
            pub fn start(self, input: #input_ty) -> #weft::RunHandle {
                <Self as #weft::Workflow>::start(self, input)
            }

            /// Resumes an interrupted run in the background: its handle once it has begun
            /// again, or why it cannot be resumed.
            pub async fn start_resume(self, run_id: &str) -> #weft::Result<#weft::RunHandle> {
                <Self as #weft::Workflow>::start_resume(self, run_id).await
            }

            /// Continues a paused run in the background: its handle once it has begun again,
            /// or why it cannot be continued.
            pub async fn start_continue(
                self,
                run_id: &str,
                answer: #weft::__private::serde_json::Value,
            ) -> #weft::Result<#weft::RunHandle> {
                <Self as #weft::Workflow>::start_continue(self, run_id, answer).await
            }
        }

        impl #weft::Workflow for #self_ty {
            type Input = #input_ty;
            fn body(&mut self, input: Self::Input) -> #weft::RunStream<'_> {
                self.__weft_run(input)
            }
        }
    }
}
