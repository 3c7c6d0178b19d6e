//! Who is calling and what they may touch. Every query takes a [`Caller`]
//! and narrows itself with [`Caller::scope`].

mod caller;

pub use caller::{Caller, ParkScope, Role};
