//! `#[workflow]` on the impl block: check `run`, box its body, and implement `Workflow` plus
//! inherent `run_stream`/`run`/`run_json`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ctxt::Ctxt;
use crate::{crate_path, valid};

/// Entry point for an impl block.
pub fn expand(args: TokenStream, mut item: syn::ItemImpl) -> TokenStream {
    let mut cx = Ctxt::default();
    let weft = crate_path::weft();
    if !args.is_empty() {
        cx.error(
            &args,
            "`#[workflow]` on an impl block takes no arguments; put them on the struct",
        );
    }
    if let Some((_, path, _)) = &item.trait_ {
        cx.error(path, "`#[workflow]` goes on the workflow's inherent impl (`impl MyWorkflow { fn run(..) }`), not on a trait impl");
        let errors = cx.to_compile_errors();
        return quote!(#errors #item);
    }
    if !item.generics.params.is_empty() {
        cx.error(
            &item.generics,
            "generic workflows are not supported; use concrete types",
        );
    }
    let position = item
        .items
        .iter()
        .position(|it| matches!(it, syn::ImplItem::Fn(f) if f.sig.ident == "run"));
    let run = match position.map(|i| item.items.remove(i)) {
        Some(syn::ImplItem::Fn(run)) => valid::run_fn(&mut cx, &run),
        _ => {
            cx.error(
                &item.self_ty,
                "this `#[workflow]` impl has no `run`; add `fn run(&mut self, input: String) -> RunStream<'_> { try_stream! { … } }`",
            );
            None
        }
    };

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
        }

        impl #weft::Workflow for #self_ty {
            type Input = #input_ty;
            fn body(&mut self, input: Self::Input) -> #weft::RunStream<'_> {
                self.__weft_run(input)
            }
        }
    }
}
