//! What each importable library's spreadsheet holds — its columns (the
//! Chinese headers of an export, or the API's field names), which of them a
//! file must have, an example row for the template — and how a row reaches
//! the library's own write path: the records core for projects, investors
//! and talents, the child protocol for a project's funds, and the top-100
//! list's own functions.

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::cells::{Column, Kind};
use super::Library;
use crate::auth::{Caller, ParkScope};
use crate::db::schema::funds;
use crate::db::DbConnection;
use crate::error::{ApiError, FieldError};
use crate::exchange::refs;
use crate::funds::Fund;
use crate::http::IfMatch;
use crate::investors::Investor;
use crate::projects::Project;
use crate::records::{self, child, Keyed, Record, Stored};
use crate::talents::Talent;
use crate::top100::{self, NewTop100, Top100, Top100Patch};
use crate::vocab::{
    AttractionMode, ChainRole, Education, FundEvidence, HqType, Industry, InvestorKind, InvestorStatus, Origin, Stage, TalentStatus,
    Vocabulary,
};

/// A library a spreadsheet can be imported into.
pub trait Importable: Writer {
    const LIBRARY: Library;
    /// The entity of its external refs and of the import's audit event.
    const ENTITY_TYPE: &'static str;
    /// Every column a file may have; `Kind::Ignored` ones (read-only columns
    /// of an export) are recognised and skipped.
    const COLUMNS: &'static [Column];
    /// The fields a file must have a column for.
    const REQUIRED: &'static [&'static str];
    /// One example row of the template: (field, cell text).
    const EXAMPLE: &'static [(&'static str, &'static str)];
    /// Whether each row belongs to a park (the top-100 list belongs to none).
    const IN_PARKS: bool = true;
}

/// How a row is written: through the library's own protocol, inside the
/// import's transaction.
pub trait Writer {
    /// Creates a record in `park` from a create body; answers its id.
    fn create(conn: &mut DbConnection, caller: &Caller, park: &str, body: Map<String, Value>) -> Result<String, ApiError>;
    /// The version of record `id`, if it is live and the caller sees it.
    fn version(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<Option<i32>, ApiError>;
    /// Applies a merge patch to record `id`; answers its version after.
    fn update(conn: &mut DbConnection, caller: &Caller, id: &str, patch: Map<String, Value>) -> Result<i32, ApiError>;
}

impl<R: Record> Writer for R {
    fn create(conn: &mut DbConnection, caller: &Caller, park: &str, mut body: Map<String, Value>) -> Result<String, ApiError> {
        body.insert("park_code".into(), Value::from(park));
        let created = records::create_in_tx::<R>(conn, caller, records::decode(Value::Object(body))?)?;
        Ok(created.id().to_owned())
    }

    fn version(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<Option<i32>, ApiError> {
        Ok(R::find(conn, &caller.scope(), id)?.map(|row| R::meta(&row).version))
    }

    fn update(conn: &mut DbConnection, caller: &Caller, id: &str, patch: Map<String, Value>) -> Result<i32, ApiError> {
        Ok(records::update_in_tx::<R>(conn, caller, id, &IfMatch::Any, Value::Object(patch))?.version())
    }
}

/// Export columns that an import reads back but never writes.
const BOOKKEEPING: [Column; 6] = [
    Column::new("id", "记录编号", Kind::Ignored),
    Column::new("created_at", "创建时间", Kind::Ignored),
    Column::new("created_by", "创建人", Kind::Ignored),
    Column::new("updated_at", "更新时间", Kind::Ignored),
    Column::new("updated_by", "更新人", Kind::Ignored),
    Column::new("version", "版本", Kind::Ignored),
];

const PARK: Column = Column::new("park_code", "园区代码", Kind::Text);

impl Importable for Project {
    const LIBRARY: Library = Library::Projects;
    const ENTITY_TYPE: &'static str = <Project as Record>::ENTITY;
    const COLUMNS: &'static [Column] = &[
        PARK,
        Column::new("name", "项目名称", Kind::Text),
        Column::new("summary", "项目简介", Kind::Text),
        Column::new("industry", "产业", Kind::Enum(Industry::labels)),
        Column::new("chain_role", "延链强链补链", Kind::Enum(ChainRole::labels)),
        Column::new("attraction_mode", "招商方式", Kind::Enum(AttractionMode::labels)),
        Column::new("stage", "项目阶段", Kind::Enum(Stage::labels)),
        Column::new("planned_investment_usd", "计划投资（美元）", Kind::Whole),
        Column::new("contracted_investment_usd", "合同投资（美元）", Kind::Whole),
        // The sum of verified funds: read-only, funds are recorded one by one.
        Column::new("actual_investment_usd", "到位资金（美元）", Kind::Ignored),
        Column::new("hq_type", "功能性总部", Kind::Enum(HqType::labels)),
        Column::new("high_tech", "高精尖新", Kind::Bool),
        Column::new("land_area_mu", "用地面积（亩）", Kind::Number),
        Column::new("first_contact_on", "首次接触日期", Kind::Date),
        Column::new("signed_on", "签约日期", Kind::Date),
        Column::new("registered_on", "注册日期", Kind::Date),
        Column::new("started_on", "开工日期", Kind::Date),
        Column::new("operating_on", "投产日期", Kind::Date),
        Column::new("planned_start_on", "计划开工日期", Kind::Date),
        Column::new("planned_operating_on", "计划投产日期", Kind::Date),
        Column::new("owner_id", "负责人编号", Kind::Text),
        Column::new("investor_ids", "关联客商编号", Kind::List),
        Column::new("tags", "标签", Kind::List),
        Column::new("notes", "备注", Kind::Text),
        BOOKKEEPING[0], BOOKKEEPING[1], BOOKKEEPING[2], BOOKKEEPING[3], BOOKKEEPING[4], BOOKKEEPING[5],
    ];
    const REQUIRED: &'static [&'static str] = &["name", "industry", "attraction_mode", "planned_investment_usd"];
    const EXAMPLE: &'static [(&'static str, &'static str)] = &[
        ("name", "华芯先进封装项目"),
        ("industry", "电子信息"),
        ("attraction_mode", "产业链招商"),
        ("stage", "洽谈"),
        ("planned_investment_usd", "120000000"),
        ("high_tech", "是"),
        ("first_contact_on", "2026-03-02"),
        ("tags", "半导体; 先进封装"),
        ("external_ref", "XM-2026-001"),
    ];
}

impl Importable for Investor {
    const LIBRARY: Library = Library::Investors;
    const ENTITY_TYPE: &'static str = <Investor as Record>::ENTITY;
    const COLUMNS: &'static [Column] = &[
        PARK,
        Column::new("kind", "类型", Kind::Enum(InvestorKind::labels)),
        Column::new("name", "名称", Kind::Text),
        Column::new("name_en", "英文名称", Kind::Text),
        Column::new("origin", "来源", Kind::Enum(Origin::labels)),
        Column::new("region", "来源地区", Kind::Text),
        Column::new("taiwan_business_id", "台湾统一编号", Kind::Text),
        Column::new("unified_social_credit_code", "统一社会信用代码", Kind::Text),
        // Derived from the link to the top-100 list.
        Column::new("taiwan_top100", "台湾百大企业", Kind::Ignored),
        Column::new("industries", "产业", Kind::EnumList(Industry::labels)),
        Column::new("status", "状态", Kind::Enum(InvestorStatus::labels)),
        Column::new("settled_on", "落户日期", Kind::Date),
        Column::new("referred_by_id", "推荐客商编号", Kind::Text),
        // Kept by projects and follow-ups, not by the investor.
        Column::new("project_ids", "关联项目编号", Kind::Ignored),
        Column::new("last_follow_up_on", "最近跟进日期", Kind::Ignored),
        Column::new("follow_up_due_on", "下一步到期日", Kind::Ignored),
        Column::new("notes", "备注", Kind::Text),
        BOOKKEEPING[0], BOOKKEEPING[1], BOOKKEEPING[2], BOOKKEEPING[3], BOOKKEEPING[4], BOOKKEEPING[5],
    ];
    const REQUIRED: &'static [&'static str] = &["kind", "name", "origin", "region"];
    const EXAMPLE: &'static [(&'static str, &'static str)] = &[
        ("kind", "企业"),
        ("name", "示例精密工业股份有限公司"),
        ("origin", "台湾地区"),
        ("region", "新北市"),
        ("industries", "电子信息"),
        ("status", "潜在"),
        ("external_ref", "KS-2026-001"),
    ];
}

impl Importable for Talent {
    const LIBRARY: Library = Library::Talents;
    const ENTITY_TYPE: &'static str = <Talent as Record>::ENTITY;
    const COLUMNS: &'static [Column] = &[
        PARK,
        Column::new("full_name", "姓名", Kind::Text),
        Column::new("birth_year", "出生年份", Kind::Whole),
        Column::new("origin_region", "来源地区", Kind::Text),
        Column::new("education", "学历", Kind::Enum(Education::labels)),
        Column::new("school", "毕业院校", Kind::Text),
        Column::new("major", "专业", Kind::Text),
        Column::new("specialty", "专业领域", Kind::Enum(Industry::labels)),
        // Structured lists: recorded through the API, one by one.
        Column::new("qualifications", "职业资格", Kind::Ignored),
        Column::new("programmes", "人才计划", Kind::Ignored),
        Column::new("status", "状态", Kind::Enum(TalentStatus::labels)),
        Column::new("employer_id", "就业单位编号", Kind::Text),
        Column::new("phone", "手机", Kind::Personal),
        Column::new("email", "电子邮箱", Kind::Personal),
        Column::new("permit_no", "台胞证号", Kind::Personal),
        Column::new("consent_on", "同意日期", Kind::Date),
        Column::new("notes", "备注", Kind::Text),
        Column::new("purged_at", "个人信息清除时间", Kind::Ignored),
        BOOKKEEPING[0], BOOKKEEPING[1], BOOKKEEPING[2], BOOKKEEPING[3], BOOKKEEPING[4], BOOKKEEPING[5],
    ];
    const REQUIRED: &'static [&'static str] = &["full_name", "birth_year", "origin_region", "education", "specialty"];
    const EXAMPLE: &'static [(&'static str, &'static str)] = &[
        ("full_name", "林怡君"),
        ("birth_year", "1988"),
        ("origin_region", "台中市"),
        ("education", "硕士"),
        ("specialty", "电子信息"),
        ("external_ref", "RC-2026-001"),
    ];
}

/// A fund row names its project by the project's external ref in the
/// row's park, or by the project's id.
const PROJECT_REF: &str = "project_ref";
const PROJECT_ID: &str = "project_id";

impl Importable for Fund {
    const LIBRARY: Library = Library::Funds;
    const ENTITY_TYPE: &'static str = <Fund as child::Child>::ENTITY;
    const COLUMNS: &'static [Column] = &[
        PARK,
        Column::new(PROJECT_REF, "项目外部编号", Kind::Text),
        Column::new(PROJECT_ID, "项目编号", Kind::Text),
        Column::new("received_on", "到账日期", Kind::Date),
        Column::new("amount_usd", "到位金额（美元）", Kind::Whole),
        Column::new("evidence", "凭证类型", Kind::Enum(FundEvidence::labels)),
        Column::new("evidence_ref", "凭证编号", Kind::Text),
        Column::new("note", "备注", Kind::Text),
    ];
    const REQUIRED: &'static [&'static str] = &["received_on", "amount_usd", "evidence", "evidence_ref"];
    const EXAMPLE: &'static [(&'static str, &'static str)] = &[
        ("project_ref", "XM-2026-001"),
        ("received_on", "2026-06-15"),
        ("amount_usd", "20000000"),
        ("evidence", "外汇登记凭证"),
        ("evidence_ref", "湘外汇登字〔2026〕0315号"),
        ("external_ref", "ZJ-2026-001"),
    ];
}

impl Writer for Fund {
    fn create(conn: &mut DbConnection, caller: &Caller, park: &str, mut body: Map<String, Value>) -> Result<String, ApiError> {
        let project = fund_project(conn, park, &mut body)?;
        Ok(child::create::<Fund>(conn, caller, &project, Value::Object(body))?.id)
    }

    fn version(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<Option<i32>, ApiError> {
        let Some((project, version)) = stored_fund(conn, id)? else { return Ok(None) };
        Ok(Project::find(conn, &caller.scope(), &project)?.map(|_| version))
    }

    fn update(conn: &mut DbConnection, caller: &Caller, id: &str, mut patch: Map<String, Value>) -> Result<i32, ApiError> {
        // A fund stays with its project.
        patch.remove(PROJECT_REF);
        patch.remove(PROJECT_ID);
        let (project, _) = stored_fund(conn, id)?.ok_or(ApiError::NotFound("fund"))?;
        Ok(child::update::<Fund>(conn, caller, &project, id, &IfMatch::Any, Value::Object(patch))?.version)
    }
}

/// The project a fund row names (taken out of the body), in `park`.
fn fund_project(conn: &mut DbConnection, park: &str, body: &mut Map<String, Value>) -> Result<String, ApiError> {
    let mut take = |field: &str| body.remove(field).and_then(|v| v.as_str().map(str::to_owned));
    let (by_ref, by_id) = (take(PROJECT_REF), take(PROJECT_ID));
    match (by_ref, by_id) {
        (Some(external_ref), _) => refs::find(conn, <Project as Record>::ENTITY, park, &external_ref)?
            .ok_or_else(|| no_project(format!("no project of park {park:?} has the external ref {external_ref:?}"))),
        (None, Some(id)) => match Project::find(conn, &ParkScope::One(park.to_owned()), &id)? {
            Some(_) => Ok(id),
            None => Err(no_project(format!("no project {id:?} in park {park:?}"))),
        },
        (None, None) => Err(ApiError::Invalid(vec![FieldError::new(
            PROJECT_REF,
            "required",
            "name the fund's project: 项目外部编号 (project_ref) or 项目编号 (project_id)",
        )])),
    }
}

fn no_project(message: String) -> ApiError {
    ApiError::Invalid(vec![FieldError::new(PROJECT_REF, "unknown", message)])
}

/// A stored fund's project and version.
fn stored_fund(conn: &mut DbConnection, id: &str) -> Result<Option<(String, i32)>, ApiError> {
    Ok(funds::table.filter(funds::id.eq(id)).select((funds::project_id, funds::version)).first(conn).optional()?)
}

impl Importable for Top100 {
    const LIBRARY: Library = Library::Top100;
    const ENTITY_TYPE: &'static str = "top100";
    const COLUMNS: &'static [Column] = &[
        Column::new("list_year", "榜单年份", Kind::Whole),
        Column::new("rank", "排名", Kind::Whole),
        Column::new("group_name", "集团名称", Kind::Text),
        Column::new("group_name_en", "英文名称", Kind::Text),
        Column::new("taiwan_business_id", "台湾统一编号", Kind::Text),
        Column::new("member_names", "成员企业", Kind::List),
        Column::new("list_source", "榜单来源", Kind::Text),
    ];
    const REQUIRED: &'static [&'static str] = &["list_year", "rank", "group_name", "list_source"];
    const EXAMPLE: &'static [(&'static str, &'static str)] = &[
        ("list_year", "2024"),
        ("rank", "1"),
        ("group_name", "示例电子集团（演示数据）"),
        ("member_names", "示例精密工业股份有限公司"),
        ("list_source", "中华征信所《台湾地区大型集团企业研究》"),
        ("external_ref", "2024-001"),
    ];
    const IN_PARKS: bool = false;
}

impl Writer for Top100 {
    fn create(conn: &mut DbConnection, caller: &Caller, _park: &str, body: Map<String, Value>) -> Result<String, ApiError> {
        let new: NewTop100 = records::decode(Value::Object(body))?;
        Ok(top100::create(conn, caller, new)?.id)
    }

    fn version(conn: &mut DbConnection, _caller: &Caller, id: &str) -> Result<Option<i32>, ApiError> {
        match top100::get(conn, id) {
            Ok(group) => Ok(Some(group.version)),
            Err(ApiError::NotFound(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    fn update(conn: &mut DbConnection, caller: &Caller, id: &str, patch: Map<String, Value>) -> Result<i32, ApiError> {
        let patch: Top100Patch = records::decode(Value::Object(patch))?;
        Ok(top100::update(conn, caller, id, &IfMatch::Any, patch)?.version)
    }
}
