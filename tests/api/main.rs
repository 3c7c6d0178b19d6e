//! HTTP-level tests: one binary, a module per feature. Every test in the
//! feature modules runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod claims;
mod auth;
mod changes;
mod errors;
mod exchange;
mod funds;
mod monitoring;
mod money_migration;
mod investors;
mod merge;
mod openapi;
mod parks_meta_health;
mod projects_create;
mod projects_list;
mod projects_write;
mod records;
mod reference;
mod reliability;
mod replica;
mod slow_lane;
mod talents;
mod target_summary;
mod targets;
mod users;
mod dashboard;
mod stats;
mod webhooks;
mod light_dates;
mod import_batches;
mod search_rare;
