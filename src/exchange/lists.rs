//! The exports of the lists that are not libraries: first claims
//! (`/claims`), the change feed (`/changes`), the rows of a target
//! (`/targets/{key}/items`) and the watched projects (`/monitoring`). Each row comes from the list's own function,
//! so filters, scope and what a role may see are exactly those of the JSON
//! answer.

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::Value;

use super::columns::{date, instant, joined, label, opt_label, opt_text, text, Asker, Cell, Exportable, Rows};
use super::{export, ListQuery};
use crate::auth::Caller;
use crate::changes::{self, ChangeEvent, ChangesQuery};
use crate::claims::{self, Claim, ClaimFilter};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::monitoring::handlers::{self as monitoring, MonitoringQuery, Watched};
use crate::state::AppState;
use crate::targets::{self, EnterpriseItem, FundItem, GroupItem, InvestorRef, Items, ItemsQuery, OutputItem, TargetKey};
use crate::vocab::{FundEvidence, Vocabulary};

impl Exportable for Claim {
    const LIBRARY: &'static str = "claims";
    const SHEET: &'static str = "首报首谈";
    const COLUMNS: &'static [&'static str] = &[
        "记录编号", "园区代码", "项目编号", "凭证类型", "凭证编号", "报备时间", "统一社会信用代码", "台湾统一编号",
        "名称", "状态", "最近进展日期", "失效日期", "灯号", "竞争园区", "裁定人", "裁定时间", "裁定理由",
        "创建时间", "创建人", "更新时间", "更新人", "版本",
    ];
    const ENTITY: &'static str = "claim";
    type Filter = ClaimFilter;

    fn list(conn: &mut DbConnection, asker: &Asker, filter: ClaimFilter) -> Result<Rows<Self>, ApiError> {
        claims::list(conn, &asker.caller, filter, asker.today).map(Rows::from)
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn cells(&self) -> Vec<Cell> {
        // A rival is shown as the list shows it: its park, status and filing date.
        let rivals = self.rivals.iter().map(|r| format!("{}（{}，{}）", r.park_code, r.status.label().zh, r.filed_on));
        vec![
            text(&self.id),
            text(&self.park_code),
            text(&self.project_id),
            label(self.evidence),
            text(&self.evidence_ref),
            instant(&self.filed_at),
            joined(&self.identity.unified_social_credit_codes),
            joined(&self.identity.taiwan_business_ids),
            joined(&self.identity.names),
            label(self.status),
            date(Some(self.last_progress_on)),
            date(self.expires_on),
            opt_label(self.light),
            joined(rivals),
            opt_text(self.decided_by.as_deref()),
            self.decided_at.as_ref().map_or(Cell::Empty, instant),
            opt_text(self.reason.as_deref()),
            instant(&self.created_at),
            text(&self.created_by),
            instant(&self.updated_at),
            text(&self.updated_by),
            Cell::Int(i64::from(self.version)),
        ]
    }
}

impl Exportable for ChangeEvent {
    const LIBRARY: &'static str = "changes";
    const SHEET: &'static str = "变更记录";
    const COLUMNS: &'static [&'static str] = &["事件编号", "时间", "操作人", "操作", "记录类型", "记录编号", "园区代码", "变更内容"];
    const ENTITY: &'static str = "change";
    type Filter = ChangesQuery;

    /// The feed ends where it has nothing more ready (`more: false`).
    fn list(conn: &mut DbConnection, asker: &Asker, query: ChangesQuery) -> Result<Rows<Self>, ApiError> {
        let page = changes::page(conn, &asker.caller, query)?;
        Ok(Rows { next_cursor: page.more.then_some(page.next_cursor), items: page.items })
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn cells(&self) -> Vec<Cell> {
        // `field: new` for a value that was not there before, `field: old → new` otherwise.
        let changes = self.changes.iter().map(|c| match &c.old {
            Value::Null => format!("{}: {}", c.field, shown(&c.new)),
            old => format!("{}: {} → {}", c.field, shown(old), shown(&c.new)),
        });
        vec![
            text(&self.id),
            instant(&self.at),
            text(&self.actor),
            text(action_label(&self.action)),
            text(library_label(&self.library)),
            text(&self.record_id),
            opt_text(self.park_code.as_deref()),
            joined(changes),
        ]
    }
}

/// A value of a change as a cell shows it: text without its quotes, null as empty.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The Chinese name of what happened.
fn action_label(action: &crate::audit::Action) -> &'static str {
    use crate::audit::Action;
    match action {
        Action::Create => "新建",
        Action::Update => "修改",
        Action::Delete => "删除",
        Action::Purge => "清除个人信息",
        Action::Import => "导入",
        Action::Export => "导出",
        Action::ReadPersonal => "查看个人信息",
        Action::Login => "登录",
        Action::LoginFailed => "登录失败",
        Action::Logout => "退出",
        Action::RefreshReuse => "令牌重用",
    }
}

/// The Chinese name of a kind of record in the feed (its code when unknown).
fn library_label(library: &str) -> &str {
    match library {
        "project" => "重大项目",
        "investor" => "客商",
        "talent" => "人才",
        "park" => "园区",
        "top100" => "台湾地区前百大企业",
        "target_settings" => "目标设置",
        "claim" => "首报首谈",
        "monitoring_rules" => "监测规则",
        other => other,
    }
}

/// The filter of a target's rows as a spreadsheet: the target (the path of
/// `/targets/{key}/items`), then the parameters of the JSON answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetItemsFilter {
    key: TargetKey,
    as_of: Option<String>,
    park: Option<String>,
    year: Option<i32>,
    #[allow(dead_code)] // read for its rule only: an export has every row
    limit: Option<i64>,
    #[allow(dead_code)]
    cursor: Option<String>,
}

/// `/targets/{key}/items` as CSV or XLSX: every row counted in the target
/// (the rows of each target have columns of their own).
pub async fn export_target_items(state: &AppState, caller: Caller, key: TargetKey, query: ListQuery<ItemsQuery>) -> Result<HttpResponse, ApiError> {
    let mut keyed = form_urlencoded::Serializer::new(String::new());
    keyed.append_pair("key", key.as_str());
    let mut keyed = keyed.finish();
    if !query.query.is_empty() {
        keyed = format!("{keyed}&{}", query.query);
    }
    let filter = crate::http::parse_query::<TargetItemsFilter>(&keyed)?;
    let query = ListQuery { filter, format: query.format, query: keyed };
    match key {
        TargetKey::NewTaiwanInvestmentUsd => export::<FundItem>(state, caller, query).await,
        TargetKey::TaiwanFundedEnterprises => export::<EnterpriseItem>(state, caller, query).await,
        TargetKey::TaiwanTop100Present => export::<GroupItem>(state, caller, query).await,
        TargetKey::TaiwanFundedOutputRatio => export::<OutputItem>(state, caller, query).await,
    }
}

/// Every row of the target, computed once (the computation reads every
/// counted row anyway, so the export does not page it).
fn target_items(conn: &mut DbConnection, asker: &Asker, filter: TargetItemsFilter) -> Result<Items, ApiError> {
    let TargetItemsFilter { key, as_of, park, year, .. } = filter;
    let every_row = ItemsQuery { as_of, park, year, limit: None, cursor: None };
    Ok(targets::handlers::items(conn, &asker.caller, key, every_row)?.items)
}

fn not_its_rows() -> ApiError {
    ApiError::internal("a target answered rows of another kind")
}

/// The rows of one target as one page (see [`target_items`]).
fn all_at_once<T>(items: Vec<T>) -> Rows<T> {
    Rows { items, next_cursor: None }
}

/// Names with their park: `甲精密（yueyang）; 乙光电（xiangtan）`.
fn investors(refs: &[InvestorRef]) -> Cell {
    joined(refs.iter().map(|r| format!("{}（{}）", r.name, r.park_code)))
}

impl Exportable for FundItem {
    const LIBRARY: &'static str = "target-funds";
    const SHEET: &'static str = "新增台商投资";
    const COLUMNS: &'static [&'static str] =
        &["资金编号", "项目编号", "项目名称", "园区代码", "到账日期", "到位金额（美元）", "凭证类型", "凭证编号", "计入值"];
    const ENTITY: &'static str = "target";
    type Filter = TargetItemsFilter;
    const PAGE: i64 = targets::MAX_ITEMS_LIMIT;

    fn list(conn: &mut DbConnection, asker: &Asker, filter: TargetItemsFilter) -> Result<Rows<Self>, ApiError> {
        match target_items(conn, asker, filter)? {
            Items::Funds(items) => Ok(all_at_once(items)),
            _ => Err(not_its_rows()),
        }
    }

    fn id(&self) -> &str {
        &self.fund_id
    }

    fn cells(&self) -> Vec<Cell> {
        let evidence = self.evidence.parse::<FundEvidence>().map_or_else(|_| text(&self.evidence), label);
        vec![
            text(&self.fund_id),
            text(&self.project_id),
            text(&self.project_name),
            text(&self.park_code),
            date(Some(self.received_on)),
            Cell::Int(self.amount_usd),
            evidence,
            text(&self.evidence_ref),
            Cell::Float(self.contribution),
        ]
    }
}

impl Exportable for EnterpriseItem {
    const LIBRARY: &'static str = "target-enterprises";
    const SHEET: &'static str = "台资企业数量";
    const COLUMNS: &'static [&'static str] = &["企业标识", "企业名称", "园区", "计入日期", "客商", "计入值"];
    const ENTITY: &'static str = "target";
    type Filter = TargetItemsFilter;
    const PAGE: i64 = targets::MAX_ITEMS_LIMIT;

    fn list(conn: &mut DbConnection, asker: &Asker, filter: TargetItemsFilter) -> Result<Rows<Self>, ApiError> {
        match target_items(conn, asker, filter)? {
            Items::Enterprises(items) => Ok(all_at_once(items)),
            _ => Err(not_its_rows()),
        }
    }

    fn id(&self) -> &str {
        &self.identity
    }

    fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.identity),
            text(&self.name),
            joined(&self.parks),
            date(Some(self.counted_from)),
            investors(&self.investors),
            Cell::Float(self.contribution),
        ]
    }
}

impl Exportable for GroupItem {
    const LIBRARY: &'static str = "target-top100";
    const SHEET: &'static str = "入驻台湾地区前百大企业";
    const COLUMNS: &'static [&'static str] = &["百大企业编号", "排名", "集团名称", "榜单年份", "园区", "成员企业", "计入值"];
    const ENTITY: &'static str = "target";
    type Filter = TargetItemsFilter;
    const PAGE: i64 = targets::MAX_ITEMS_LIMIT;

    fn list(conn: &mut DbConnection, asker: &Asker, filter: TargetItemsFilter) -> Result<Rows<Self>, ApiError> {
        match target_items(conn, asker, filter)? {
            Items::Groups(items) => Ok(all_at_once(items)),
            _ => Err(not_its_rows()),
        }
    }

    fn id(&self) -> &str {
        &self.top100_id
    }

    fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.top100_id),
            Cell::Int(i64::from(self.rank)),
            text(&self.group_name),
            Cell::Int(i64::from(self.list_year)),
            joined(&self.parks),
            investors(&self.members),
            Cell::Float(self.contribution),
        ]
    }
}

impl Exportable for OutputItem {
    const LIBRARY: &'static str = "target-output";
    const SHEET: &'static str = "台资企业产值";
    const COLUMNS: &'static [&'static str] = &["客商编号", "名称", "园区代码", "年份", "产值（元）", "计入值"];
    const ENTITY: &'static str = "target";
    type Filter = TargetItemsFilter;
    const PAGE: i64 = targets::MAX_ITEMS_LIMIT;

    fn list(conn: &mut DbConnection, asker: &Asker, filter: TargetItemsFilter) -> Result<Rows<Self>, ApiError> {
        match target_items(conn, asker, filter)? {
            Items::Outputs(items) => Ok(all_at_once(items)),
            _ => Err(not_its_rows()),
        }
    }

    fn id(&self) -> &str {
        &self.investor_id
    }

    fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.investor_id),
            text(&self.name),
            text(&self.park_code),
            Cell::Int(i64::from(self.year)),
            Cell::Int(self.output_value_cny),
            Cell::Float(self.contribution),
        ]
    }
}

impl Exportable for Watched {
    const LIBRARY: &'static str = "monitoring";
    const SHEET: &'static str = "红黄绿灯监测";
    const COLUMNS: &'static [&'static str] =
        &["园区代码", "项目编号", "项目名称", "项目阶段", "灯号", "亮灯原因", "转黄日期", "转红日期"];
    const ENTITY: &'static str = "monitoring";
    type Filter = MonitoringQuery;

    /// Pages as the JSON list does, red first; the counts and notices of
    /// the JSON answer are not rows, so they are not exported.
    fn list(conn: &mut DbConnection, asker: &Asker, query: MonitoringQuery) -> Result<Rows<Self>, ApiError> {
        let (items, next_cursor) = monitoring::watched(conn, &asker.caller.scope(), query, asker.today)?;
        Ok(Rows { items, next_cursor })
    }

    fn id(&self) -> &str {
        &self.project_id
    }

    fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.park_code),
            text(&self.project_id),
            text(&self.name),
            label(self.stage),
            label(self.light),
            joined(self.light_reasons.iter().map(|r| r.label.as_str())),
            date(self.amber_on),
            date(self.red_on),
        ]
    }
}
