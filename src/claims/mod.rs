//! First claims (首报首谈): a park that begins formal talks with an investor
//! files a claim on it through one of its projects; the first claim on an
//! identity (USCC, 統一編號 or folded name) wins, a later one from another
//! park is contested at once, and the province decides a contest. A
//! rejected claim's project is credited to no target (`targets::facts`).

pub mod handlers;
mod model;
mod store;

pub use model::{Claim, ClaimFields, ClaimFilter, Decision, Identity, Rival};
pub use store::{file, list, Moment};
