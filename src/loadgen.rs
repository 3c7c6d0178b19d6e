//! `bench-load`: fills a database with many realistic rows for the
//! benchmarks in bench/. Names mix both Chinese scripts; parks, stages and
//! statuses are skewed the way real pipelines are (most rows early, a few
//! parks much larger). Ids are made from a counter, so benchmark scripts and
//! pgbench can compute any row's id: `00000000-0000-7000-800K-NNNNNNNNNNNN`
//! with K = 0 for projects, 1 for investors, 4 for talents.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::clock;
use crate::db::schema::{investors, parks, project_investors, project_stage_history, projects, talents};
use crate::db::{insert_all, write_tx, DbConnection, DbPool};
use crate::error::ApiError;
use crate::investors::{Investor, InvestorFields};
use crate::projects::{Project, ProjectFields, StageEntry, StageRow};
use crate::records::{Record, RowBase, Stamp};
use crate::talents::{Programme, Qualification, Talent, TalentFields};
use crate::vocab::{
    AttractionMode, Education, Industry, InvestorKind, InvestorStatus, MainlandTitle, Origin, ProgrammeLevel, ProgrammeStatus,
    Recognition, Stage, TalentStatus, Vocabulary,
};

const BY: &str = "bench-load";

const BATCH: usize = 500;

/// How much to load.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub projects: u64,
    pub investors: u64,
    pub talents: u64,
    /// Parks added beside the three of the policy.
    pub extra_parks: u32,
}

pub fn project_id(n: u64) -> String {
    format!("00000000-0000-7000-8000-{n:012}")
}

pub fn investor_id(n: u64) -> String {
    format!("00000000-0000-7000-8001-{n:012}")
}

pub fn talent_id(n: u64) -> String {
    format!("00000000-0000-7000-8004-{n:012}")
}

/// SplitMix64: small, fast, and the same rows for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index into `weights`, drawn in proportion to them.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut roll = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if roll < *w {
                return i;
            }
            roll -= w;
        }
        weights.len() - 1
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const PREFIXES: &[&str] = &["華芯", "华芯", "鴻海", "鸿海", "台積", "台积", "聯電", "联电", "精密", "光寶", "光宝", "緯創", "纬创", "宏碁", "友達", "友达", "群創", "群创", "仁寶", "仁宝", "湘台", "岳陽", "郴州", "湘潭", "新竹", "台中"];
const MIDDLES: &[&str] = &["半導體", "半导体", "電子", "电子", "新能源", "光電", "光电", "精密機械", "精密机械", "醫療器材", "医疗器材", "有色金屬", "有色金属", "智能裝備", "智能装备", "材料", "農業", "农业"];
const SUFFIXES: &[&str] = &["先進封裝項目", "先进封装项目", "生產基地", "生产基地", "研發中心", "研发中心", "擴產項目", "扩产项目", "總部項目", "总部项目", "產業園", "产业园"];
const TAGS: &[&str] = &["芯片", "晶片", "封测", "储能", "锂电", "连接器", "光学膜", "减速机", "靶材", "冷链", "大湾区转移", "龙头企业"];

/// Stages weighted like a real pipeline: most projects are early.
const STAGE_WEIGHTS: &[(Stage, u64)] = &[
    (Stage::Lead, 45),
    (Stage::Negotiating, 25),
    (Stage::Signed, 10),
    (Stage::Registered, 7),
    (Stage::UnderConstruction, 6),
    (Stage::Operating, 4),
    (Stage::Dropped, 3),
];

/// The parks, the first few much larger than the rest.
fn park_list(conn: &mut DbConnection, extra: u32) -> Result<Vec<(String, u64)>, ApiError> {
    let now = crate::clock::now();
    for i in 1..=extra {
        let code = format!("bench{i}");
        if !crate::parks::exists(conn, &code)? {
            diesel::insert_into(parks::table)
                .values((
                    parks::code.eq(&code),
                    parks::name.eq(format!("基准测试园区{i}")),
                    parks::name_en.eq(format!("Benchmark park {i}")),
                    parks::focus_industries.eq("[\"other\"]"),
                    parks::created_at.eq(now),
                    parks::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    let mut list = vec![("yueyang".to_owned(), 40), ("xiangtan".to_owned(), 25), ("chenzhou".to_owned(), 15)];
    list.extend((1..=extra).map(|i| (format!("bench{i}"), 20 / u64::from(extra.max(1)))));
    Ok(list)
}

fn name(rng: &mut Rng, n: u64) -> String {
    format!("{}{}{} {n}", rng.pick(PREFIXES), rng.pick(MIDDLES), rng.pick(SUFFIXES))
}

/// A moment in the five years before `now`, later for larger `n` (rows
/// arrive over time), so that "newest first" is meaningful.
fn created_at(now: NaiveDateTime, n: u64, total: u64, rng: &mut Rng) -> NaiveDateTime {
    let span = Duration::days(5 * 365).num_seconds();
    let offset = span - span * n as i64 / total.max(1) as i64 - rng.below(3600) as i64;
    now - Duration::seconds(offset.max(0))
}

/// Loads the rows; with `ids_out`, also writes `park_code id` for every
/// project there, so a benchmark can draw ids a park role may see.
pub fn load(pool: &DbPool, sizes: Sizes, seed: u64, ids_out: Option<&std::path::Path>) -> Result<(), ApiError> {
    use std::io::Write;
    let mut ids_file = ids_out
        .map(|path| std::fs::File::create(path).map(std::io::BufWriter::new))
        .transpose()
        .map_err(|e| ApiError::internal(format!("ids file: {e}")))?;
    let mut conn = pool.get().map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let conn = &mut *conn;
    let parks = park_list(conn, sizes.extra_parks)?;
    let weights: Vec<u64> = parks.iter().map(|(_, w)| *w).collect();
    let mut rng = Rng(seed);
    let now = crate::clock::now();

    // Investors first: projects link to investors of their park.
    let mut by_park: Vec<Vec<u64>> = vec![Vec::new(); parks.len()];
    let mut n = 0;
    while n < sizes.investors {
        let end = (n + BATCH as u64).min(sizes.investors);
        let mut rows = Vec::with_capacity(BATCH);
        for i in n..end {
            let park = rng.weighted(&weights);
            by_park[park].push(i);
            let status = *rng.pick(InvestorStatus::ALL);
            let fields = InvestorFields {
                park_code: None,
                kind: if rng.below(10) == 0 { InvestorKind::Individual } else { InvestorKind::Company },
                name: format!("{}{}股份有限公司 {i}", rng.pick(PREFIXES), rng.pick(MIDDLES)),
                name_en: None,
                origin: *rng.pick(&[Origin::Taiwan, Origin::Taiwan, Origin::MainlandTaiwanFunded, Origin::Other]),
                region: (*rng.pick(&["新竹", "台中", "台北", "高雄", "东莞", "昆山", "厦门"])).to_owned(),
                taiwan_business_id: None,
                unified_social_credit_code: None,
                taiwan_top100: None,
                top100_id: None,
                third_place_recognised_on: None,
                industries: vec![*rng.pick(Industry::ALL)],
                status,
                settled_on: (status == InvestorStatus::Settled).then(|| NaiveDate::from_ymd_opt(2024, 1, 1)).flatten(),
                referred_by_id: None,
                notes: None,
                // Generated names repeat; the load is about volume, not duplicates.
                allow_same_name: Some(true),
            };
            let at = created_at(now, i, sizes.investors, &mut rng);
            let stamp = Stamp { at, by: BY.into() };
            let id = investor_id(i);
            let base = RowBase { id: &id, park: &parks[park].0, version: 1, created: &stamp, updated: &stamp, previous: None };
            let row = <Investor as Record>::to_row(&fields, base)?;
            rows.push(row);
        }
        write_tx(conn, |conn| {
            insert_all!(conn, investors::table, &rows)?;
            Ok(())
        })?;
        n = end;
    }

    let stage_weights: Vec<u64> = STAGE_WEIGHTS.iter().map(|(_, w)| *w).collect();
    let mut n = 0;
    while n < sizes.projects {
        let end = (n + BATCH as u64).min(sizes.projects);
        let (mut rows, mut stages, mut links) = (Vec::with_capacity(BATCH), Vec::new(), Vec::new());
        for i in n..end {
            let park = rng.weighted(&weights);
            let stage = STAGE_WEIGHTS[rng.weighted(&stage_weights)].0;
            let name = name(&mut rng, i);
            let summary = Some(format!("{}项目，规划用地 {} 亩", rng.pick(MIDDLES), 20 + rng.below(300)));
            let (industry, mode) = (*rng.pick(Industry::ALL), *rng.pick(AttractionMode::ALL));
            let planned = 1_000_000 * (1 + rng.below(300)) as i64;
            let fields = ProjectFields {
                summary,
                stage,
                high_tech: rng.below(4) == 0,
                tags: vec![(*rng.pick(TAGS)).to_owned()],
                ..ProjectFields::new(name, industry, mode, planned)
            };
            let at = created_at(now, i, sizes.projects, &mut rng);
            let stamp = Stamp { at, by: BY.into() };
            let id = project_id(i);
            let base = RowBase { id: &id, park: &parks[park].0, version: 1, created: &stamp, updated: &stamp, previous: None };
            let mut row = <Project as Record>::to_row(&fields, base)?;
            let mut history = Vec::new();
            for (k, s) in [(0, Stage::Lead), (1, stage)].into_iter().filter(|(k, s)| *k == 0 || *s != Stage::Lead) {
                let recorded_at = at + Duration::seconds(k);
                history.push(StageEntry { stage: s, on: at.date(), by: BY.into(), recorded_at: clock::utc(recorded_at) });
                stages.push(StageRow {
                    id: format!("00000000-0000-7000-800{}-{i:012}", 2 + k),
                    project_id: row.id.clone(),
                    stage: s.to_string(),
                    on_date: at.date(),
                    by_user: BY.into(),
                    recorded_at,
                });
            }
            // The read copies the service keeps (see links::refresh_project_copies).
            row.stage_history_json = serde_json::to_string(&history)?;
            if let Some(file) = ids_file.as_mut() {
                writeln!(file, "{} {}", parks[park].0, row.id).map_err(|e| ApiError::internal(format!("ids file: {e}")))?;
            }
            if !by_park[park].is_empty() && rng.below(10) < 6 {
                let investor = investor_id(*rng.pick(&by_park[park]));
                row.investor_ids_json = serde_json::to_string(&[&investor])?;
                links.push((row.id.clone(), investor));
            }
            rows.push(row);
        }
        write_tx(conn, |conn| {
            insert_all!(conn, projects::table, &rows)?;
            insert_all!(conn, project_stage_history::table, &stages)?;
            let links: Vec<_> = links
                .iter()
                .map(|(p, i)| (project_investors::project_id.eq(p), project_investors::investor_id.eq(i), project_investors::position.eq(0)))
                .collect();
            insert_all!(conn, project_investors::table, &links)?;
            Ok(())
        })?;
        n = end;
    }
    load_talents(conn, &parks, &by_park, sizes.talents, &mut rng, now)?;
    if let Some(mut file) = ids_file {
        file.flush().map_err(|e| ApiError::internal(format!("ids file: {e}")))?;
    }
    // Rows written around the service's writes: the targets' summary and
    // the light days follow.
    write_tx(conn, crate::targets::summary::rebuild)?;
    crate::projects::lights::rebuild_all(conn).map(|_| ())
}

const SURNAMES: &[&str] = &["陳", "陈", "林", "黃", "黄", "張", "张", "李", "王", "吳", "吴", "劉", "刘", "蔡", "楊", "杨", "許", "许", "鄭", "郑", "謝", "洪", "郭", "邱", "曾", "廖", "賴", "徐"];
const GIVEN: &[&str] = &["怡", "君", "家", "豪", "志", "明", "淑", "芬", "建", "宏", "雅", "婷", "俊", "傑", "杰", "美", "玲", "冠", "宇", "思", "妤", "承", "恩", "佳", "穎", "颖", "柏", "翰", "欣", "瑜"];
const REGIONS: &[&str] = &["台北", "新北", "桃園", "新竹", "台中", "台南", "高雄", "彰化", "嘉義", "屏東"];
const SCHOOLS: &[&str] = &["國立臺灣大學", "国立清华大学", "國立交通大學", "國立成功大學", "國立中央大學", "臺北科技大學", "逢甲大學", "中原大學", "長庚大學", "輔仁大學", "義守大學", "元智大學"];
const MAJORS: &[&str] = &["電機工程", "电机工程", "材料科學", "化學工程", "機械工程", "资讯工程", "光電工程", "護理", "企業管理", "醫學工程", "財務金融", "農業經濟"];
const QUALIFICATIONS: &[&str] = &["專科護理師", "醫療器材品質管理師", "電機技師", "會計師", "建築師", "半導體製程工程師", "職業安全管理師", "品質工程師"];
const PROGRAMMES: &[&str] = &["湖南省芙蓉人才行动计划", "湘江英才计划", "国家海外高层次人才引进计划", "岳阳市巴陵人才计划"];

/// Talents weighted like a recruiting pipeline: many prospects, fewer placed.
const TALENT_STATUS_WEIGHTS: &[(TalentStatus, u64)] = &[
    (TalentStatus::Prospect, 35),
    (TalentStatus::Contacted, 30),
    (TalentStatus::Employed, 22),
    (TalentStatus::Founder, 6),
    (TalentStatus::Left, 7),
];

/// Talents of the parks: the employed and founders work for an investor of
/// their park, a quarter hold a Taiwan qualification, one in ten applied to
/// a programme. `search_text` is the service's own (`Talent::to_row`).
fn load_talents(
    conn: &mut DbConnection,
    parks: &[(String, u64)],
    by_park: &[Vec<u64>],
    total: u64,
    rng: &mut Rng,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let weights: Vec<u64> = parks.iter().map(|(_, w)| *w).collect();
    let status_weights: Vec<u64> = TALENT_STATUS_WEIGHTS.iter().map(|(_, w)| *w).collect();
    let mut n = 0;
    while n < total {
        let end = (n + BATCH as u64).min(total);
        let mut rows = Vec::with_capacity(BATCH);
        for i in n..end {
            let park = rng.weighted(&weights);
            let status = TALENT_STATUS_WEIGHTS[rng.weighted(&status_weights)].0;
            let works = matches!(status, TalentStatus::Employed | TalentStatus::Founder);
            let employer = (works && !by_park[park].is_empty()).then(|| *rng.pick(&by_park[park]));
            let qualifications = if rng.below(4) == 0 {
                vec![Qualification {
                    name: (*rng.pick(QUALIFICATIONS)).to_owned(),
                    issuer: None,
                    mainland_title: Some(*rng.pick(MainlandTitle::ALL)),
                    recognition: *rng.pick(Recognition::ALL),
                }]
            } else {
                vec![]
            };
            let programmes = if rng.below(10) == 0 {
                vec![Programme {
                    level: *rng.pick(ProgrammeLevel::ALL),
                    name: (*rng.pick(PROGRAMMES)).to_owned(),
                    year: 2022 + rng.below(5) as i32,
                    status: *rng.pick(ProgrammeStatus::ALL),
                }]
            } else {
                vec![]
            };
            let consented = rng.below(3) == 0;
            let fields = TalentFields {
                park_code: None,
                full_name: format!("{}{}{}", rng.pick(SURNAMES), rng.pick(GIVEN), rng.pick(GIVEN)),
                birth_year: 1960 + rng.below(45) as i32,
                origin_region: (*rng.pick(REGIONS)).to_owned(),
                education: *rng.pick(&[Education::Associate, Education::Bachelor, Education::Bachelor, Education::Master, Education::Master, Education::Doctor, Education::Other]),
                school: (rng.below(10) != 0).then(|| (*rng.pick(SCHOOLS)).to_owned()),
                major: (rng.below(10) != 0).then(|| (*rng.pick(MAJORS)).to_owned()),
                specialty: *rng.pick(Industry::ALL),
                qualifications,
                programmes,
                status,
                employer_id: employer
                    .map(|e| uuid::Uuid::parse_str(&investor_id(e)))
                    .transpose()
                    .map_err(|e| ApiError::internal(format!("investor id: {e}")))?,
                phone: consented.then(|| format!("+8869{:08}", rng.below(100_000_000))),
                email: None,
                permit_no: None,
                consent_on: consented.then(|| now.date() - Duration::days(rng.below(900) as i64)),
                notes: None,
            };
            let at = created_at(now, i, total, rng);
            let stamp = Stamp { at, by: BY.into() };
            let id = talent_id(i);
            let base = RowBase { id: &id, park: &parks[park].0, version: 1, created: &stamp, updated: &stamp, previous: None };
            rows.push(<Talent as Record>::to_row(&fields, base)?);
        }
        write_tx(conn, |conn| {
            insert_all!(conn, talents::table, &rows)?;
            Ok(())
        })?;
        n = end;
    }
    Ok(())
}
