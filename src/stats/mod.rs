//! Statistics over the three libraries: counts and money grouped by the
//! dimensions a report asks for (`GET /stats/{library}`), and the project
//! pipeline's funnel by first-contact year (`GET /stats/funnel`).
//!
//! Both read exactly the rows the library's list would show the caller with
//! the same filters (its `matching` query), so a group's sum is the sum over
//! that list, and a park role's figures cover its park only.

mod dimension;
pub mod funnel;
mod grouped;
pub mod handlers;

pub use dimension::Dimension;
pub use funnel::{Cohort, Funnel, FunnelParams};
pub use grouped::{Figures, Group, Stats};
