//! The talent library (人才库): Taiwanese professionals and young people to
//! recruit, employ or back as founders. Phone, e-mail and permit number are
//! personal data (PIPL): masked unless a writer reads one record, which is
//! audited; erased for good by a purge.

mod batch;
pub mod handlers;
mod model;
pub(crate) mod queries;
mod rules;

pub use model::{Programme, Qualification, Talent, TalentFields, TalentPatch};
