//! `seed-demo`: a realistic handful of projects for each park, in both
//! Chinese scripts, at every stage, with stage histories and audit events.
//! Company names are invented.

use chrono::NaiveDate;

use crate::auth::Caller;
use crate::db::{DbConnection, DbPool};
use crate::error::ApiError;
use crate::http::IfMatch;
use crate::projects::queries;
use crate::projects::{NewProject, ProjectPatch};
use crate::vocab::{AttractionMode as Mode, ChainRole as Chain, HqType, Industry as Ind, Stage};

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
    Demo { park: "yueyang", name: "華芯半導體先進封裝測試基地", summary: "12 吋晶圓級封裝與測試產線，配套電子信息產業鏈", industry: Ind::ElectronicInformation, chain: Some(Chain::Strengthen), mode: Mode::IndustrialChain, planned_musd: 180, high_tech: true, tags: &["半导体", "先进封装"], path: &[(Stage::Negotiating, "2026-02-10"), (Stage::Signed, "2026-05-18"), (Stage::Registered, ""), (Stage::UnderConstruction, "2026-09-01")] },
    Demo { park: "yueyang", name: "绿能储能电池模组项目", summary: "磷酸铁锂储能电池模组及系统集成", industry: Ind::NewEnergy, chain: Some(Chain::Extend), mode: Mode::Targeted, planned_musd: 95, high_tech: true, tags: &["储能", "锂电"], path: &[(Stage::Negotiating, "2026-04-02"), (Stage::Signed, "2026-08-20")] },
    Demo { park: "yueyang", name: "台农精品水果冷链加工中心", summary: "台湾农民创业园配套，水果分选、冷链与精深加工", industry: Ind::ModernAgriculture, chain: Some(Chain::Fill), mode: Mode::Affinity, planned_musd: 12, high_tech: false, tags: &["冷链", "农产品加工"], path: &[(Stage::Negotiating, "2025-11-12"), (Stage::Signed, "2026-01-08"), (Stage::Registered, ""), (Stage::UnderConstruction, "2026-03-15"), (Stage::Operating, "2026-10-01")] },
    Demo { park: "yueyang", name: "光學膜材料生產線", summary: "顯示面板用光學膜與功能性薄膜", industry: Ind::NewMaterials, chain: Some(Chain::Fill), mode: Mode::Intermediary, planned_musd: 40, high_tech: true, tags: &["光学膜"], path: &[(Stage::Negotiating, "2026-06-20")] },
    Demo { park: "xiangtan", name: "精密减速机智能制造项目", summary: "工业机器人用精密谐波减速机", industry: Ind::IntelligentManufacturing, chain: Some(Chain::Strengthen), mode: Mode::IndustrialChain, planned_musd: 60, high_tech: true, tags: &["机器人", "减速机"], path: &[(Stage::Negotiating, "2025-12-01"), (Stage::Signed, "2026-03-30"), (Stage::Registered, "")] },
    Demo { park: "xiangtan", name: "醫療影像設備研發生產基地", summary: "超聲與 X 光影像設備研發、組裝與售後中心", industry: Ind::MedicalDevices, chain: Some(Chain::Extend), mode: Mode::InvestorReferral, planned_musd: 75, high_tech: true, tags: &["医疗器械", "影像"], path: &[(Stage::Negotiating, "2026-07-11")] },
    Demo { park: "xiangtan", name: "智能仓储物流装备项目", summary: "自动化立体仓库与 AGV 系统", industry: Ind::IntelligentManufacturing, chain: None, mode: Mode::Commissioned, planned_musd: 25, high_tech: false, tags: &["智能物流"], path: &[(Stage::Negotiating, "2025-09-09"), (Stage::Dropped, "")] },
    Demo { park: "xiangtan", name: "一次性醫用耗材產線", summary: "輸液器與採血耗材無菌生產線", industry: Ind::MedicalDevices, chain: Some(Chain::Fill), mode: Mode::Targeted, planned_musd: 18, high_tech: false, tags: &["医用耗材"], path: &[] },
    Demo { park: "chenzhou", name: "高纯铟靶材精深加工项目", summary: "高纯铟及 ITO 靶材，承接大湾区台资企业转移", industry: Ind::NonferrousMetals, chain: Some(Chain::Extend), mode: Mode::IndustrialChain, planned_musd: 88, high_tech: true, tags: &["有色金属", "靶材"], path: &[(Stage::Negotiating, "2025-10-15"), (Stage::Signed, "2026-01-20"), (Stage::Registered, ""), (Stage::UnderConstruction, "2026-04-01")] },
    Demo { park: "chenzhou", name: "電子連接器生產基地", summary: "自東莞轉移之消費電子連接器產線", industry: Ind::ElectronicInformation, chain: Some(Chain::Strengthen), mode: Mode::InvestorReferral, planned_musd: 50, high_tech: false, tags: &["连接器", "大湾区转移"], path: &[(Stage::Negotiating, "2026-03-03"), (Stage::Signed, "2026-06-06")] },
    Demo { park: "chenzhou", name: "矿山装备再制造中心", summary: "矿山机械关键部件再制造与维修服务", industry: Ind::EquipmentManufacturing, chain: Some(Chain::Fill), mode: Mode::Intermediary, planned_musd: 22, high_tech: false, tags: &["再制造"], path: &[(Stage::Negotiating, "2026-08-08")] },
    Demo { park: "chenzhou", name: "湘南台商供应链结算中心", summary: "面向湘粤台资企业的供应链金融与结算服务", industry: Ind::ModernServices, chain: None, mode: Mode::Affinity, planned_musd: 10, high_tech: false, tags: &["结算", "供应链金融"], path: &[] },
];

/// Adds the demo projects once; returns how many were added (0 when present).
pub fn seed(pool: &DbPool) -> Result<usize, ApiError> {
    let mut conn = pool.get().map_err(|e| ApiError::Unavailable(e.to_string()))?;
    if already_seeded(&mut conn)? {
        return Ok(0);
    }
    let caller = Caller::system(DEMO_USER);
    for demo in DEMOS {
        add(&mut conn, &caller, demo)?;
    }
    Ok(DEMOS.len())
}

fn already_seeded(conn: &mut DbConnection) -> Result<bool, ApiError> {
    use crate::db::schema::projects;
    use diesel::prelude::*;
    let n: i64 = projects::table.filter(projects::created_by.eq(DEMO_USER)).count().get_result(conn)?;
    Ok(n > 0)
}

fn add(conn: &mut DbConnection, caller: &Caller, demo: &Demo) -> Result<(), ApiError> {
    let first_contact = demo.path.first().and_then(|(_, d)| d.parse::<NaiveDate>().ok());
    let new = NewProject {
        park_code: Some(demo.park.into()),
        name: demo.name.into(),
        summary: Some(demo.summary.into()),
        industry: demo.industry,
        chain_role: demo.chain,
        attraction_mode: demo.mode,
        stage: None,
        planned_investment_usd: demo.planned_musd * 1_000_000,
        actual_investment_usd: None,
        hq_type: (demo.planned_musd >= 80).then_some(HqType::RegionalHq),
        high_tech: demo.high_tech,
        land_area_mu: Some((demo.planned_musd as f64 * 1.5).round()),
        first_contact_on: first_contact,
        signed_on: None,
        started_on: None,
        operating_on: None,
        owner_id: None,
        investor_ids: vec![],
        tags: demo.tags.iter().map(|t| (*t).to_owned()).collect(),
        notes: None,
    };
    let (park, fields) = new.into_fields();
    let mut project = queries::create(conn, caller, park, fields)?;
    for (stage, date) in demo.path {
        let date = date.parse::<NaiveDate>().ok();
        let mut patch = ProjectPatch { stage: Some(*stage), ..Default::default() };
        match stage {
            Stage::Signed => patch.signed_on = Some(date),
            Stage::UnderConstruction => {
                patch.started_on = Some(date);
                patch.actual_investment_usd = Some(Some(project.planned_investment_usd / 3));
            }
            Stage::Operating => {
                patch.operating_on = Some(date);
                patch.actual_investment_usd = Some(Some(project.planned_investment_usd));
            }
            _ => {}
        }
        project = queries::update(conn, caller, &project.id, &IfMatch::Versions(vec![project.version]), patch)?;
    }
    Ok(())
}
