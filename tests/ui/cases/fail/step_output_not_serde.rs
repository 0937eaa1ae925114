use weft::prelude::*;

/// What the step returns: no Serialize, no Deserialize, so the journal cannot keep it.
pub struct Receipt {
    pub id: u64,
}

#[workflow]
pub struct Mailer {}

#[workflow]
impl Mailer {
    fn run(&mut self, to: String) -> RunStream<'_> {
        try_stream! {
            let ctx = self.ctx();
            let receipt = ctx.step("send_email", async { Receipt { id: 7 } }).await?;
            yield RunResponse::text(format!("sent {} to {to}", receipt.id));
        }
    }
}

fn main() {}
