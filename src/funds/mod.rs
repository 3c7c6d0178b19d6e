//! Funds in place (到位资金): money that has arrived for a project, recorded by
//! the park with its evidence and counted only once the province verifies
//! it. A sub-resource of the project on the records core's child protocol:
//! each change is version-guarded, moves the project's version and is an
//! event in the project's history. The project's `actual_investment_usd` is
//! the sum of its verified funds, kept in the same transaction.

pub mod handlers;
mod queries;

pub use queries::{decide, Decision, DecisionBody, Fund, FundFields, FundPatch};
