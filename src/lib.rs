//! invest-registry: the major-project, investor and talent libraries of the
//! Cross-Strait Industrial Cooperation Zone (Hunan), served over HTTP.
//!
//! [`startup::Application`] builds the whole service, so tests start it
//! in-process exactly as `main` does.

pub mod admission;
pub mod audit;
pub mod auth;
pub mod changes;
pub mod claims;
pub mod clock;
pub mod config;
pub mod contact;
pub mod db;
pub mod demo;
pub mod error;
pub mod exchange;
pub mod funds;
pub mod health;
pub mod http;
pub mod links;
pub mod loadgen;
pub mod machine;
pub mod investors;
pub mod memory;
pub mod meta;
pub mod metrics;
pub mod monitoring;
pub mod openapi;
pub mod parks;
pub mod privacy;
pub mod projects;
pub mod records;
pub mod routes;
pub mod startup;
pub mod state;
pub mod talents;
pub mod targets;
pub mod telemetry;
pub mod text;
pub mod top100;
pub mod users;
pub mod vocab;
pub mod dashboard;
pub mod stats;
pub mod webhooks;

pub use startup::{Application, ServeOptions};
pub use state::AppState;
