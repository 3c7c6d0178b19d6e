//! The major-project library (重大项目库): investment projects in a pipeline
//! from first lead to operating plant.

pub mod batch;
mod columns;
pub mod handlers;
pub mod lights;
mod model;
mod money;
pub(crate) mod queries;
mod rules;
mod unnest;

pub use model::{Project, ProjectFields, StageEntry};
pub(crate) use model::StageRow;
pub use queries::ListFilter;
