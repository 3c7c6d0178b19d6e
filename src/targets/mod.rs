//! The 2025 targets of the policy (湘政办发〔2021〕58号), computed from dated
//! facts so that any past date can be asked about, per park or for the zone,
//! down to the rows behind every number. The crediting rules are in
//! [`compute`] and, in plain words, in the README ("How the province counts").
//!
//! `GET /targets` reads the [`summary`] that every write keeps in its own
//! transaction; `/items` and `/series` compute from the facts. Both run on
//! the blocking pool (`db::run_heavy`), never on an HTTP worker.

mod compute;
mod facts;
pub mod handlers;
mod report;
mod settings;
pub mod summary;

pub use compute::{EnterpriseItem, FundItem, GroupItem, InvestorRef, Items, MissingFigure, OutputItem};
pub use report::{ItemsQuery, MAX_ITEMS_LIMIT, ItemsReport, ParkFigure, SeriesPoint, SeriesReport, Status, TargetReport, TargetsReport, ZoneFigure};
pub use settings::{Period, SettingsBody, TargetSettings, TargetValues};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The four targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKey {
    /// 新增台商投资: verified funds of Taiwanese projects in the period.
    NewTaiwanInvestmentUsd,
    /// 台资企业数量: Taiwan-funded enterprises settled in the parks.
    TaiwanFundedEnterprises,
    /// 入驻台湾地区前百大企业: top-100 groups present.
    TaiwanTop100Present,
    /// 台资企业产值较2020年倍数: output value over the 2020 baseline.
    TaiwanFundedOutputRatio,
}

impl TargetKey {
    pub const ALL: [TargetKey; 4] = [
        Self::NewTaiwanInvestmentUsd,
        Self::TaiwanFundedEnterprises,
        Self::TaiwanTop100Present,
        Self::TaiwanFundedOutputRatio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewTaiwanInvestmentUsd => "new_taiwan_investment_usd",
            Self::TaiwanFundedEnterprises => "taiwan_funded_enterprises",
            Self::TaiwanTop100Present => "taiwan_top100_present",
            Self::TaiwanFundedOutputRatio => "taiwan_funded_output_ratio",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NewTaiwanInvestmentUsd => "新增台商投资",
            Self::TaiwanFundedEnterprises => "台资企业数量",
            Self::TaiwanTop100Present => "入驻台湾地区前百大企业",
            Self::TaiwanFundedOutputRatio => "台资企业产值较2020年倍数",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}
