//! What each library's spreadsheet holds: Chinese column headers, and each
//! record as cells — enum values as their Chinese labels, dates as dates,
//! money as numbers. Rows come from the library's own list function, so
//! filters, scope and masking are exactly those of the JSON list.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::http::{JsonCopy, Page, MAX_LIMIT};
use crate::investors::Investor;
use crate::projects::Project;
use crate::records::{self, Keyed, Listed, Record, Searched};
use crate::talents::Talent;
use crate::vocab::Vocabulary;

/// One cell of an exported row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
    Empty,
}

/// Who asks for an export, and the service's day (claims age and lights
/// turn by it): what a list function needs besides its filter.
pub struct Asker {
    pub caller: Caller,
    pub today: NaiveDate,
}

/// A page of rows, and the cursor of the next page (none on the last).
pub struct Rows<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> From<Page<T>> for Rows<T> {
    fn from(page: Page<T>) -> Self {
        Self { items: page.items, next_cursor: page.next_cursor }
    }
}

/// A row of a list that can be exported.
pub trait Exportable: Send + Sized + 'static {
    /// The list's path name (`projects`), used in file names.
    const LIBRARY: &'static str;
    /// The worksheet's name.
    const SHEET: &'static str;
    /// The column headers, in the order of [`Exportable::cells`].
    const COLUMNS: &'static [&'static str];
    /// The entity of the export's audit event (and of the rows' external refs).
    const ENTITY: &'static str;
    /// Whether each row ends with its external ref (外部编号), so that the
    /// export imports back onto the same records: the libraries' rows do.
    const HAS_REFS: bool = false;
    /// Rows a page: the list's largest `limit`, and so the largest an export
    /// accepts (it reads every row whatever the limit, but a request the
    /// list would refuse is refused as an export too).
    const PAGE: i64 = MAX_LIMIT as i64;
    /// The list's query parameters.
    type Filter: DeserializeOwned;

    /// One page of the list, as its JSON list answers it (masked as there).
    fn list(conn: &mut DbConnection, asker: &Asker, filter: Self::Filter) -> Result<Rows<Self>, ApiError>;
    /// The row's id (a record's, or an event's).
    fn id(&self) -> &str;
    fn cells(&self) -> Vec<Cell>;
}

pub(super) fn text(value: &str) -> Cell {
    Cell::Text(value.to_owned())
}

pub(super) fn opt_text(value: Option<&str>) -> Cell {
    value.map_or(Cell::Empty, text)
}

pub(super) fn label<V: Vocabulary>(value: V) -> Cell {
    Cell::Text(value.label().zh.to_owned())
}

pub(super) fn opt_label<V: Vocabulary>(value: Option<V>) -> Cell {
    value.map_or(Cell::Empty, label)
}

pub(super) fn yes_no(value: bool) -> Cell {
    text(if value { "是" } else { "否" })
}

pub(super) fn date(value: Option<NaiveDate>) -> Cell {
    value.map_or(Cell::Empty, Cell::Date)
}

pub(super) fn instant(value: &DateTime<Utc>) -> Cell {
    Cell::Text(value.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Several values in one cell, separated by `; ` (empty when there are none).
pub(super) fn joined<I: IntoIterator<Item = S>, S: AsRef<str>>(values: I) -> Cell {
    let parts: Vec<String> = values.into_iter().map(|v| v.as_ref().to_owned()).collect();
    if parts.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(parts.join("; "))
    }
}

/// [`joined`] for a list a record keeps as JSON text. Text that does not
/// parse (only this service writes it) is logged and goes in the cell as it
/// is stored: nothing of the record is left out, and the export goes on.
fn joined_copy(id: &str, copy: &JsonCopy<Vec<String>>) -> Cell {
    match copy.value() {
        Ok(values) => joined(values),
        Err(e) => {
            tracing::error!(record = id, error = %e, "exported a stored list as its text");
            text(copy.text())
        }
    }
}

/// The cells every library's row ends with, after its own: when and by whom
/// the record was created and last changed, and its version.
fn written(created_at: &DateTime<Utc>, created_by: &str, updated_at: &DateTime<Utc>, updated_by: &str, version: i32) -> [Cell; 5] {
    [instant(created_at), text(created_by), instant(updated_at), text(updated_by), Cell::Int(i64::from(version))]
}

/// A library's record as an export row. Only the sheet and the cells are the
/// library's own: its export reads the library's JSON list (so scope and
/// masking are the list's), names the record's entity, and ends each row
/// with its external ref, alike for every library.
pub trait LibraryRow: Listed<View = Self> + Keyed + ToSchema + Send + Sized + 'static {
    const LIBRARY: &'static str;
    const SHEET: &'static str;
    /// The column headers, in the order of [`LibraryRow::cells`].
    const COLUMNS: &'static [&'static str];
    fn cells(&self) -> Vec<Cell>;
}

impl<R: LibraryRow> Exportable for R
where
    <R as Searched>::Filter: DeserializeOwned,
{
    const LIBRARY: &'static str = <R as LibraryRow>::LIBRARY;
    const SHEET: &'static str = <R as LibraryRow>::SHEET;
    const COLUMNS: &'static [&'static str] = <R as LibraryRow>::COLUMNS;
    const ENTITY: &'static str = <R as Record>::ENTITY;
    const HAS_REFS: bool = true;
    type Filter = <R as Searched>::Filter;

    fn list(conn: &mut DbConnection, asker: &Asker, filter: Self::Filter) -> Result<Rows<Self>, ApiError> {
        records::list::<R>(conn, &asker.caller.scope(), &filter).map(Rows::from)
    }

    fn id(&self) -> &str {
        Keyed::id(self)
    }

    fn cells(&self) -> Vec<Cell> {
        LibraryRow::cells(self)
    }
}

impl LibraryRow for Project {
    const LIBRARY: &'static str = "projects";
    const SHEET: &'static str = "重大项目库";
    const COLUMNS: &'static [&'static str] = &[
        "记录编号", "园区代码", "项目名称", "项目简介", "产业", "延链强链补链", "招商方式", "项目阶段",
        "计划投资（美元）", "合同投资（美元）", "到位资金（美元）", "功能性总部", "高精尖新", "用地面积（亩）",
        "首次接触日期", "签约日期", "注册日期", "开工日期", "投产日期", "计划开工日期", "计划投产日期", "负责人编号",
        "关联客商编号", "标签", "备注",
        "创建时间", "创建人", "更新时间", "更新人", "版本",
    ];

    fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.id),
            text(&self.park_code),
            text(&self.name),
            opt_text(self.summary.as_deref()),
            label(self.industry),
            opt_label(self.chain_role),
            label(self.attraction_mode),
            label(self.stage),
            Cell::Int(self.planned_investment_usd),
            self.contracted_investment_usd.map_or(Cell::Empty, Cell::Int),
            self.actual_investment_usd.map_or(Cell::Empty, Cell::Int),
            opt_label(self.hq_type),
            yes_no(self.high_tech),
            self.land_area_mu.map_or(Cell::Empty, Cell::Float),
            date(self.first_contact_on),
            date(self.signed_on),
            date(self.registered_on),
            date(self.started_on),
            date(self.operating_on),
            date(self.planned_start_on),
            date(self.planned_operating_on),
            opt_text(self.owner_id.as_deref()),
            joined_copy(&self.id, &self.investor_ids),
            joined_copy(&self.id, &self.tags),
            opt_text(self.notes.as_deref()),
        ]
        .into_iter()
        .chain(written(&self.created_at, &self.created_by, &self.updated_at, &self.updated_by, self.version))
        .collect()
    }
}

impl LibraryRow for Investor {
    const LIBRARY: &'static str = "investors";
    const SHEET: &'static str = "客商库";
    const COLUMNS: &'static [&'static str] = &[
        "记录编号", "园区代码", "类型", "名称", "英文名称", "来源", "来源地区", "台湾统一编号", "统一社会信用代码",
        "台湾百大企业", "产业", "状态", "落户日期", "推荐客商编号", "关联项目编号", "最近跟进日期", "下一步到期日",
        "备注", "创建时间", "创建人", "更新时间", "更新人", "版本",
    ];

    fn cells(&self) -> Vec<Cell> {
        vec![
            text(&self.id),
            text(&self.park_code),
            label(self.kind),
            text(&self.name),
            opt_text(self.name_en.as_deref()),
            label(self.origin),
            text(&self.region),
            opt_text(self.taiwan_business_id.as_deref()),
            opt_text(self.unified_social_credit_code.as_deref()),
            yes_no(self.taiwan_top100),
            joined(self.industries.iter().map(|i| i.label().zh)),
            label(self.status),
            date(self.settled_on),
            opt_text(self.referred_by_id.as_deref()),
            joined(&self.project_ids),
            date(self.last_follow_up_on),
            date(self.follow_up_due_on),
            opt_text(self.notes.as_deref()),
        ]
        .into_iter()
        .chain(written(&self.created_at, &self.created_by, &self.updated_at, &self.updated_by, self.version))
        .collect()
    }
}

impl LibraryRow for Talent {
    const LIBRARY: &'static str = "talents";
    const SHEET: &'static str = "人才库";
    const COLUMNS: &'static [&'static str] = &[
        "记录编号", "园区代码", "姓名", "出生年份", "来源地区", "学历", "毕业院校", "专业", "专业领域", "职业资格",
        "人才计划", "状态", "就业单位编号", "手机", "电子邮箱", "台胞证号", "同意日期", "备注", "个人信息清除时间",
        "创建时间", "创建人", "更新时间", "更新人", "版本",
    ];

    fn cells(&self) -> Vec<Cell> {
        let qualifications = self.qualifications.iter().map(|q| {
            let title = q.mainland_title.map(|t| format!("{}，", t.label().zh)).unwrap_or_default();
            format!("{}（{title}{}）", q.name, q.recognition.label().zh)
        });
        let programmes =
            self.programmes.iter().map(|p| format!("{} {} {}（{}）", p.year, p.level.label().zh, p.name, p.status.label().zh));
        vec![
            text(&self.id),
            text(&self.park_code),
            text(&self.full_name),
            Cell::Int(i64::from(self.birth_year)),
            text(&self.origin_region),
            label(self.education),
            opt_text(self.school.as_deref()),
            opt_text(self.major.as_deref()),
            label(self.specialty),
            joined(qualifications),
            joined(programmes),
            label(self.status),
            opt_text(self.employer_id.as_deref()),
            opt_text(self.phone.as_deref()),
            opt_text(self.email.as_deref()),
            opt_text(self.permit_no.as_deref()),
            date(self.consent_on),
            opt_text(self.notes.as_deref()),
            self.purged_at.as_ref().map_or(Cell::Empty, instant),
        ]
        .into_iter()
        .chain(written(&self.created_at, &self.created_by, &self.updated_at, &self.updated_by, self.version))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_cell_per_header() {
        // Column counts are checked against a built record in the API tests;
        // here, that headers are unique so an import can find them.
        for columns in [<Project as Exportable>::COLUMNS, <Investor as Exportable>::COLUMNS, <Talent as Exportable>::COLUMNS] {
            let mut seen = std::collections::HashSet::new();
            assert!(columns.iter().all(|c| seen.insert(*c)), "{columns:?}");
        }
    }
}
