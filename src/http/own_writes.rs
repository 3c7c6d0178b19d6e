//! Remembers who wrote, for the read replica's read-your-writes rule
//! (`db::replica`): once a write request is answered, its caller's reads
//! stay on the primary until the replica has replayed it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::state::AppState;

/// Who made a request that may write; the `Caller` extractor leaves it in
/// the request's extensions for any method but GET, HEAD and OPTIONS.
#[derive(Debug, Clone)]
pub struct Writer(pub String);

/// Notes the writer once the answer is ready: by then the request's
/// transaction has committed (or rolled back, which costs a few reads on
/// the primary and nothing else). An answer that is an error is noted too
/// (handlers' errors reach here as responses).
///
/// A known gap: when the client hangs up first, this future is dropped and
/// nothing is noted, while the write's work on the blocking pool may still
/// commit; noting at the drop would be too early (before that commit). The
/// caller's reads may then miss that write for up to `REPLICA_MAX_LAG_MS`.
pub async fn remember(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = match req.method().is_safe() {
        true => None,
        false => req.app_data::<web::Data<AppState>>().cloned(),
    };
    let res = next.call(req).await?;
    if let Some(state) = state {
        if let Some(Writer(name)) = res.request().extensions().get::<Writer>() {
            state.pool.note_write(name);
        }
    }
    Ok(res)
}
