//! Who is calling and what they may touch: tokens, passwords, sessions,
//! login throttling, and the [`Caller`] every protected handler takes.
//! Every query takes the caller and narrows itself with [`Caller::scope`].

mod caller;
mod gate;
pub mod handlers;
mod known_parks;
pub mod passwords;
mod recheck;
pub mod session;
mod throttle;
pub mod tokens;

pub use caller::{Caller, ParkScope};
pub use gate::{GateCounts, HashGate};
pub use known_parks::KnownParks;
pub use recheck::Rechecks;
pub use tokens::TokenKeys;
pub use crate::vocab::Role;
