//! Project monitoring (DESIGN "Monitoring"): red, amber and green lights
//! from configurable rules, with reasons in Chinese; `GET /monitoring`
//! lists the watched projects with counts by park and light.

pub mod handlers;
pub mod notices;
pub mod rules;
pub mod tally;
pub mod watch;

pub use notices::{Notice, NoticeFields, ResponseFields};
pub use rules::{LightDates, Reason, RuleSettings, Rules};
