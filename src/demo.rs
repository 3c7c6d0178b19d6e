//! `seed-demo`: a realistic handful of projects, investors and talents for
//! each park, in both Chinese scripts, with stage histories, follow-ups,
//! figures and audit events. Names and identifiers are invented (the
//! identifiers carry valid check characters).

use chrono::NaiveDate;

use crate::auth::Caller;
use crate::db::{DbConnection, DbPool};
use crate::error::ApiError;
use crate::http::IfMatch;
use crate::projects::{Project, ProjectFields};
use crate::records;
use serde_json::json;
use crate::investors::{Contact, Figure, FollowUp, Investor, InvestorFields};
use crate::talents::{Qualification, Talent, TalentFields};
use crate::vocab::{
    AttractionMode as Mode, ChainRole as Chain, Education, HqType, Industry as Ind, InvestorKind, InvestorStatus,
    MainlandTitle, Origin, Recognition, Stage, TalentStatus,
};

const DEMO_USER: &str = "seed-demo";

struct Demo {
    park: &'static str,
    name: &'static str,
    summary: &'static str,
    industry: Ind,
    chain: Option<Chain>,
    mode: Mode,
    planned_musd: i64,
    high_tech: bool,
    tags: &'static [&'static str],
    /// The stages it moves through after `lead`, each with its milestone date.
    path: &'static [(Stage, &'static str)],
}

const DEMOS: &[Demo] = &[
    Demo { park: "yueyang", name: "華芯半導體先進封裝測試基地", summary: "12 吋晶圓級封裝與測試產線，配套電子信息產業鏈", industry: Ind::ElectronicInformation, chain: Some(Chain::Strengthen), mode: Mode::IndustrialChain, planned_musd: 180, high_tech: true, tags: &["半导体", "先进封装"], path: &[(Stage::Negotiating, "2025-02-10"), (Stage::Signed, "2025-05-18"), (Stage::Registered, ""), (Stage::UnderConstruction, "2025-09-01")] },
    Demo { park: "yueyang", name: "绿能储能电池模组项目", summary: "磷酸铁锂储能电池模组及系统集成", industry: Ind::NewEnergy, chain: Some(Chain::Extend), mode: Mode::Targeted, planned_musd: 95, high_tech: true, tags: &["储能", "锂电"], path: &[(Stage::Negotiating, "2025-04-02"), (Stage::Signed, "2025-08-20")] },
    Demo { park: "yueyang", name: "台农精品水果冷链加工中心", summary: "台湾农民创业园配套，水果分选、冷链与精深加工", industry: Ind::ModernAgriculture, chain: Some(Chain::Fill), mode: Mode::Affinity, planned_musd: 12, high_tech: false, tags: &["冷链", "农产品加工"], path: &[(Stage::Negotiating, "2024-11-12"), (Stage::Signed, "2025-01-08"), (Stage::Registered, ""), (Stage::UnderConstruction, "2025-03-15"), (Stage::Operating, "2025-10-01")] },
    Demo { park: "yueyang", name: "光學膜材料生產線", summary: "顯示面板用光學膜與功能性薄膜", industry: Ind::NewMaterials, chain: Some(Chain::Fill), mode: Mode::Intermediary, planned_musd: 40, high_tech: true, tags: &["光学膜"], path: &[(Stage::Negotiating, "2025-06-20")] },
    Demo { park: "xiangtan", name: "精密减速机智能制造项目", summary: "工业机器人用精密谐波减速机", industry: Ind::IntelligentManufacturing, chain: Some(Chain::Strengthen), mode: Mode::IndustrialChain, planned_musd: 60, high_tech: true, tags: &["机器人", "减速机"], path: &[(Stage::Negotiating, "2024-12-01"), (Stage::Signed, "2025-03-30"), (Stage::Registered, "")] },
    Demo { park: "xiangtan", name: "醫療影像設備研發生產基地", summary: "超聲與 X 光影像設備研發、組裝與售後中心", industry: Ind::MedicalDevices, chain: Some(Chain::Extend), mode: Mode::InvestorReferral, planned_musd: 75, high_tech: true, tags: &["医疗器械", "影像"], path: &[(Stage::Negotiating, "2025-07-11")] },
    Demo { park: "xiangtan", name: "智能仓储物流装备项目", summary: "自动化立体仓库与 AGV 系统", industry: Ind::IntelligentManufacturing, chain: None, mode: Mode::Commissioned, planned_musd: 25, high_tech: false, tags: &["智能物流"], path: &[(Stage::Negotiating, "2024-09-09"), (Stage::Dropped, "")] },
    Demo { park: "xiangtan", name: "一次性醫用耗材產線", summary: "輸液器與採血耗材無菌生產線", industry: Ind::MedicalDevices, chain: Some(Chain::Fill), mode: Mode::Targeted, planned_musd: 18, high_tech: false, tags: &["医用耗材"], path: &[] },
    Demo { park: "chenzhou", name: "高纯铟靶材精深加工项目", summary: "高纯铟及 ITO 靶材，承接大湾区台资企业转移", industry: Ind::NonferrousMetals, chain: Some(Chain::Extend), mode: Mode::IndustrialChain, planned_musd: 88, high_tech: true, tags: &["有色金属", "靶材"], path: &[(Stage::Negotiating, "2024-10-15"), (Stage::Signed, "2025-01-20"), (Stage::Registered, ""), (Stage::UnderConstruction, "2025-04-01")] },
    Demo { park: "chenzhou", name: "電子連接器生產基地", summary: "自東莞轉移之消費電子連接器產線", industry: Ind::ElectronicInformation, chain: Some(Chain::Strengthen), mode: Mode::InvestorReferral, planned_musd: 50, high_tech: false, tags: &["连接器", "大湾区转移"], path: &[(Stage::Negotiating, "2025-03-03"), (Stage::Signed, "2025-06-06")] },
    Demo { park: "chenzhou", name: "矿山装备再制造中心", summary: "矿山机械关键部件再制造与维修服务", industry: Ind::EquipmentManufacturing, chain: Some(Chain::Fill), mode: Mode::Intermediary, planned_musd: 22, high_tech: false, tags: &["再制造"], path: &[(Stage::Negotiating, "2025-08-08")] },
    Demo { park: "chenzhou", name: "湘南台商供应链结算中心", summary: "面向湘粤台资企业的供应链金融与结算服务", industry: Ind::ModernServices, chain: None, mode: Mode::Affinity, planned_musd: 10, high_tech: false, tags: &["结算", "供应链金融"], path: &[] },
];

/// Adds the demo projects once; returns how many were added (0 when present).
pub fn seed(pool: &DbPool) -> Result<usize, ApiError> {
    let mut conn = pool.get().map_err(|e| ApiError::Unavailable(e.to_string()))?;
    if already_seeded(&mut conn)? {
        return Ok(0);
    }
    let caller = Caller::system(DEMO_USER);
    let group = add_demo_groups(&mut conn, &caller)?;
    let mut investor_ids = Vec::new();
    for demo in INVESTORS {
        investor_ids.push((demo.park, add_investor(&mut conn, &caller, demo, &group)?));
    }
    let mut projects = Vec::new();
    for demo in DEMOS {
        // Each project is backed by the first demo investor of its park.
        let investor = investor_ids.iter().find(|(park, _)| *park == demo.park).map(|(_, id)| id.clone());
        projects.push(add(&mut conn, &caller, demo, investor)?);
    }
    add_claims_and_notices(&mut conn, &caller, &projects)?;
    for demo in TALENTS {
        let employer = investor_ids.iter().find(|(park, _)| *park == demo.park).map(|(_, id)| id.clone());
        add_talent(&mut conn, &caller, demo, employer)?;
    }
    Ok(DEMOS.len())
}

struct DemoInvestor {
    park: &'static str,
    name: &'static str,
    kind: InvestorKind,
    origin: Origin,
    region: &'static str,
    ubn: Option<&'static str>,
    uscc: Option<&'static str>,
    top100: bool,
    industries: &'static [Ind],
    status: InvestorStatus,
    settled_on: Option<&'static str>,
}

const INVESTORS: &[DemoInvestor] = &[
    DemoInvestor { park: "yueyang", name: "華芯半導體股份有限公司", kind: InvestorKind::Company, origin: Origin::Taiwan, region: "新竹", ubn: Some("16480894"), uscc: None, top100: true, industries: &[Ind::ElectronicInformation], status: InvestorStatus::Negotiating, settled_on: None },
    DemoInvestor { park: "yueyang", name: "岳阳台农果蔬有限公司", kind: InvestorKind::Company, origin: Origin::MainlandTaiwanFunded, region: "漳州", ubn: None, uscc: Some("91430600MA4L2X8K3L"), top100: false, industries: &[Ind::ModernAgriculture], status: InvestorStatus::Settled, settled_on: Some("2025-01-08") },
    DemoInvestor { park: "xiangtan", name: "精密傳動科技股份有限公司", kind: InvestorKind::Company, origin: Origin::Taiwan, region: "台中", ubn: Some("81924865"), uscc: None, top100: false, industries: &[Ind::IntelligentManufacturing], status: InvestorStatus::Settled, settled_on: Some("2025-03-30") },
    DemoInvestor { park: "xiangtan", name: "台灣區醫療器材工業同業公會", kind: InvestorKind::Association, origin: Origin::Taiwan, region: "台北", ubn: None, uscc: None, top100: false, industries: &[Ind::MedicalDevices], status: InvestorStatus::Contacted, settled_on: None },
    DemoInvestor { park: "chenzhou", name: "郴州铟材料科技有限公司", kind: InvestorKind::Company, origin: Origin::MainlandTaiwanFunded, region: "东莞", ubn: None, uscc: Some("91431000MA4T5C9P1H"), top100: false, industries: &[Ind::NonferrousMetals], status: InvestorStatus::Settled, settled_on: Some("2025-01-20") },
    DemoInvestor { park: "chenzhou", name: "林志成", kind: InvestorKind::Individual, origin: Origin::Taiwan, region: "高雄", ubn: None, uscc: None, top100: false, industries: &[Ind::ModernServices], status: InvestorStatus::Prospect, settled_on: None },
];

/// A few made-up groups of the top-100 list, named as demo data: the real
/// list is the province's to load. Returns the first group's id.
fn add_demo_groups(conn: &mut DbConnection, caller: &Caller) -> Result<String, ApiError> {
    let mut first = String::new();
    for (rank, name, members) in [
        (1, "示例半导体集团（演示数据）", vec!["華芯半導體股份有限公司"]),
        (2, "示例精密机械集团（演示数据）", vec!["示例精密机械股份有限公司"]),
        (3, "示例医疗器材集团（演示数据）", vec![]),
    ] {
        let group = crate::top100::create(conn, caller, crate::top100::NewTop100 {
            rank,
            group_name: name.into(),
            group_name_en: None,
            taiwan_business_id: None,
            member_names: members.into_iter().map(Into::into).collect(),
            list_source: "演示数据，并非真实榜单 (demo data, not a real ranking)".into(),
            list_year: 2024,
        })?;
        if first.is_empty() {
            first = group.id;
        }
    }
    Ok(first)
}

fn add_investor(conn: &mut DbConnection, caller: &Caller, demo: &DemoInvestor, group: &str) -> Result<String, ApiError> {
    let fields = InvestorFields {
        park_code: Some(demo.park.into()),
        kind: demo.kind,
        name: demo.name.into(),
        name_en: None,
        origin: demo.origin,
        region: demo.region.into(),
        taiwan_business_id: demo.ubn.map(Into::into),
        unified_social_credit_code: demo.uscc.map(Into::into),
        taiwan_top100: None,
        top100_id: if demo.top100 { group.parse().ok() } else { None },
        third_place_recognised_on: None,
        industries: demo.industries.to_vec(),
        status: demo.status,
        settled_on: demo.settled_on.and_then(|d| d.parse().ok()),
        referred_by_id: None,
        notes: None,
        allow_same_name: None,
    };
    let investor = records::create_fields::<Investor>(conn, caller, &fields)?;
    let body = |value: serde_json::Value| value;
    records::child::create::<Contact>(conn, caller, &investor.id, body(json!({
        "name": "陈经理", "title": "大陆投资部经理", "phone": "0912-345-678"
    })))?;
    records::child::create::<FollowUp>(conn, caller, &investor.id, body(json!({
        "date": "2026-11-02", "channel": "visit", "summary": "走访总部，介绍园区配套与对台政策",
        "next_step": "寄送用地与厂房方案", "due_on": "2026-11-20"
    })))?;
    if demo.settled_on.is_some() {
        for (year, value) in [(2020, 150_000_000), (2025, 310_000_000)] {
            records::child::create::<Figure>(conn, caller, &investor.id, body(json!({"year": year, "output_value_cny": value})))?;
        }
    }
    Ok(investor.id)
}

/// Records a fund in place on `project`, and verifies it as the province.
fn add_fund(conn: &mut DbConnection, caller: &Caller, project: &Project, on: Option<NaiveDate>, amount: i64, verify: bool) -> Result<(), ApiError> {
    let Some(on) = on else { return Ok(()) };
    let body = json!({"received_on": on, "amount_usd": amount, "evidence": "bank_receipt", "evidence_ref": "演示-0001"});
    let fund = records::child::create::<crate::funds::Fund>(conn, caller, &project.id, body)?;
    if verify {
        let decision = crate::funds::DecisionBody { decision: crate::funds::Decision::Verified, reason: Some("演示数据".into()) };
        crate::funds::decide(conn, caller, &project.id, &fund.id, None, decision)?;
    }
    Ok(())
}

struct DemoTalent {
    park: &'static str,
    name: &'static str,
    birth_year: i32,
    region: &'static str,
    education: Education,
    specialty: Ind,
    status: TalentStatus,
}

const TALENTS: &[DemoTalent] = &[
    DemoTalent { park: "yueyang", name: "林怡君", birth_year: 1994, region: "台中", education: Education::Master, specialty: Ind::ElectronicInformation, status: TalentStatus::Employed },
    DemoTalent { park: "xiangtan", name: "張家豪", birth_year: 1988, region: "台南", education: Education::Doctor, specialty: Ind::MedicalDevices, status: TalentStatus::Contacted },
    DemoTalent { park: "chenzhou", name: "黄雅婷", birth_year: 1999, region: "高雄", education: Education::Bachelor, specialty: Ind::NonferrousMetals, status: TalentStatus::Founder },
];

fn add_talent(conn: &mut DbConnection, caller: &Caller, demo: &DemoTalent, employer: Option<String>) -> Result<(), ApiError> {
    let fields = TalentFields {
        park_code: Some(demo.park.into()),
        full_name: demo.name.into(),
        birth_year: demo.birth_year,
        origin_region: demo.region.into(),
        education: demo.education,
        school: Some("國立成功大學".into()),
        major: None,
        specialty: demo.specialty,
        qualifications: vec![Qualification { name: "專業工程師".into(), issuer: None, mainland_title: Some(MainlandTitle::Intermediate), recognition: Recognition::Pending }],
        programmes: vec![],
        status: demo.status,
        employer_id: employer.filter(|_| demo.status == TalentStatus::Employed).and_then(|id| id.parse().ok()),
        phone: Some("0912-345-678".into()),
        email: None,
        permit_no: Some("12345678".into()),
        consent_on: "2026-10-01".parse().ok(),
        notes: None,
    };
    records::create_fields::<Talent>(conn, caller, &fields)?;
    Ok(())
}

fn already_seeded(conn: &mut DbConnection) -> Result<bool, ApiError> {
    use crate::db::schema::projects;
    use diesel::prelude::*;
    let n: i64 = projects::table.filter(projects::created_by.eq(DEMO_USER)).count().get_result(conn)?;
    Ok(n > 0)
}

/// A first claim (首报首谈) for each park's first project in talks or later,
/// and a supervision notice (督办) on each registered project not yet started.
fn add_claims_and_notices(conn: &mut DbConnection, caller: &Caller, projects: &[Project]) -> Result<(), ApiError> {
    let now = crate::clock::now();
    let at = crate::claims::Moment { today: now.date(), now };
    let mut claimed: Vec<&str> = Vec::new();
    for project in projects {
        let in_talks = project.stage >= Stage::Negotiating && project.stage != Stage::Dropped;
        if in_talks && !project.investor_ids.value()?.is_empty() && !claimed.contains(&project.park_code.as_str()) {
            let body = json!({"project_id": project.id, "evidence": "intent_letter", "evidence_ref": "演示-意向书-001"});
            crate::claims::file(conn, caller, body, at)?;
            claimed.push(&project.park_code);
        }
        if project.stage == Stage::Registered {
            let due = now.date() + chrono::Duration::days(14);
            let body = json!({"due_on": due, "text": "请说明注册落地后尚未开工的原因及开工计划（演示数据）"});
            crate::monitoring::notices::issue(conn, caller, &project.id, body, now)?;
        }
    }
    Ok(())
}

fn add(conn: &mut DbConnection, caller: &Caller, demo: &Demo, investor: Option<String>) -> Result<Project, ApiError> {
    let first_contact = demo.path.first().and_then(|(_, d)| d.parse::<NaiveDate>().ok());
    let fields = ProjectFields {
        park_code: Some(demo.park.into()),
        summary: Some(demo.summary.into()),
        chain_role: demo.chain,
        hq_type: (demo.planned_musd >= 80).then_some(HqType::RegionalHq),
        high_tech: demo.high_tech,
        land_area_mu: Some((demo.planned_musd as f64 * 1.5).round()),
        first_contact_on: first_contact,
        investor_ids: investor.and_then(|id| id.parse().ok()).into_iter().collect(),
        tags: demo.tags.iter().map(|t| (*t).to_owned()).collect(),
        ..ProjectFields::new(demo.name.into(), demo.industry, demo.mode, demo.planned_musd * 1_000_000)
    };
    let mut project = records::create_fields::<Project>(conn, caller, &fields)?;
    for (stage, date) in demo.path {
        let date = date.parse::<NaiveDate>().ok();
        let mut patch = json!({"stage": stage});
        match stage {
            Stage::Signed => {
                patch["signed_on"] = json!(date);
                patch["contracted_investment_usd"] = json!(project.planned_investment_usd);
            }
            Stage::UnderConstruction => {
                patch["started_on"] = json!(date);
            }
            Stage::Registered => {
                // A first third of the contract arrives on signing and is verified.
                add_fund(conn, caller, &project, project.signed_on, project.planned_investment_usd / 3, true)?;
            }
            Stage::Operating => {
                patch["operating_on"] = json!(date);
                // A second third on the start of construction, still to be verified.
                add_fund(conn, caller, &project, project.started_on, project.planned_investment_usd / 3, false)?;
            }
            _ => {}
        }
        // A fund moves the project's version: write over the current one.
        let current = records::get::<Project>(conn, &crate::auth::ParkScope::All, &project.id)?;
        project = records::update::<Project>(conn, caller, &project.id, &IfMatch::Versions(vec![current.version]), patch)?;
    }
    Ok(project)
}
