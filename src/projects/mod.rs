//! The major-project library (重大项目库): investment projects in a pipeline
//! from first lead to operating plant.

pub mod handlers;
mod model;
pub(crate) mod queries;
mod rules;

pub use model::{NewProject, Project, ProjectPatch, StageEntry};
pub(crate) use model::{ProjectFields, StageRow};
pub use queries::ListFilter;
