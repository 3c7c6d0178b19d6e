//! The investor library (客商库): companies, business people and trade
//! associations being courted or already settled, with their contacts,
//! follow-ups (跟进记录) and yearly output figures.

mod batch;
pub(crate) mod children;
pub mod handlers;
pub mod identifiers;
mod matching;
mod merge;
mod model;
pub(crate) mod queries;
mod rules;

pub use children::{Contact, ContactFields, Figure, FigureFields, FollowUp, FollowUpFields};
pub use matching::name_key;
pub use merge::MergeBody;
pub use model::{Investor, InvestorFields, InvestorPatch};
