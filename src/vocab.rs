//! The controlled vocabularies of DESIGN.md: snake_case English values on the
//! wire and in the database, each with its Chinese and English label.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// A value of one vocabulary, as served by `GET /meta/enums`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Label {
    #[schema(example = "electronic_information")]
    pub value: &'static str,
    #[schema(example = "电子信息")]
    pub zh: &'static str,
    #[schema(example = "Electronic information")]
    pub en: &'static str,
}

/// Implemented by every vocabulary enum.
pub trait Vocabulary: Sized + Copy + 'static {
    /// The name of the vocabulary (`industry`, `project_stage`, …).
    const NAME: &'static str;
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
    fn label(self) -> Label;

    fn labels() -> Vec<Label> {
        Self::ALL.iter().map(|v| v.label()).collect()
    }

    /// The first value: where a new record starts when the body names none.
    fn first() -> Self {
        Self::ALL[0]
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }

    fn allowed() -> String {
        Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// A schema listing the values, with each label in the description.
    fn schema() -> Schema {
        let described = Self::ALL
            .iter()
            .map(|v| {
                let l = v.label();
                format!("`{}` {} ({})", l.value, l.zh, l.en)
            })
            .collect::<Vec<_>>()
            .join("; ");
        Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(Self::ALL.iter().map(|v| v.as_str())))
                .description(Some(described))
                .build(),
        )
    }
}

/// A value read from the database. Only this service writes those columns,
/// so an unknown value is an internal error, not bad input.
pub fn from_db<T: FromStr<Err = UnknownValue>>(value: &str) -> Result<T, crate::error::ApiError> {
    value.parse().map_err(|e: UnknownValue| crate::error::ApiError::internal(e.to_string()))
}

/// The stored values of a list of vocabulary values, for `IN (…)` filters.
pub fn values<V: Vocabulary>(list: &[V]) -> Vec<String> {
    list.iter().map(|v| v.as_str().to_owned()).collect()
}

/// Unknown value in the database: the database is the only writer of these
/// columns, so this means a bad migration, not bad input.
#[derive(Debug, thiserror::Error)]
#[error("unknown {vocabulary} value {value:?}")]
pub struct UnknownValue {
    pub vocabulary: &'static str,
    pub value: String,
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident as $vocab:literal {
            $( $variant:ident = $value:literal, $zh:literal, $en:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $variant, )+ }

        impl Vocabulary for $name {
            const NAME: &'static str = $vocab;
            const ALL: &'static [Self] = &[ $( Self::$variant, )+ ];
            fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $value, )+ }
            }
            fn label(self) -> Label {
                match self { $( Self::$variant => Label { value: $value, zh: $zh, en: $en }, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                <Self as Vocabulary>::parse(s)
                    .ok_or_else(|| UnknownValue { vocabulary: $vocab, value: s.to_owned() })
            }
        }

        /// For columns read through diesel's `deserialize_as = String`.
        impl TryFrom<String> for $name {
            type Error = UnknownValue;
            fn try_from(s: String) -> Result<Self, UnknownValue> {
                s.parse()
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                <Self as Vocabulary>::parse(&raw).ok_or_else(|| {
                    serde::de::Error::custom(format_args!(
                        "unknown {} {:?}; expected one of: {}", $vocab, raw, <Self as Vocabulary>::allowed()
                    ))
                })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T(<Self as Vocabulary>::schema())
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

vocabulary! {
    /// 产业: the industries the parks focus on.
    Industry as "industry" {
        ElectronicInformation = "electronic_information", "电子信息", "Electronic information";
        NewEnergy = "new_energy", "新能源", "New energy";
        NewMaterials = "new_materials", "新材料", "New materials";
        ModernAgriculture = "modern_agriculture", "现代农业", "Modern agriculture";
        IntelligentManufacturing = "intelligent_manufacturing", "智能制造", "Intelligent manufacturing";
        MedicalDevices = "medical_devices", "现代医疗器械", "Modern medical devices";
        NonferrousMetals = "nonferrous_metals", "有色金属精深加工", "Nonferrous metals deep processing";
        EquipmentManufacturing = "equipment_manufacturing", "装备制造", "Equipment manufacturing";
        ModernServices = "modern_services", "现代服务业", "Modern services";
        Other = "other", "其他", "Other";
    }
}

vocabulary! {
    /// 招商方式: how the project was attracted.
    AttractionMode as "attraction_mode" {
        IndustrialChain = "industrial_chain", "产业链招商", "Industrial-chain attraction";
        Targeted = "targeted", "定向招商", "Targeted attraction";
        Commissioned = "commissioned", "委托招商", "Commissioned attraction";
        Intermediary = "intermediary", "中介招商", "Intermediary attraction";
        InvestorReferral = "investor_referral", "以商招商", "Investor referral";
        Affinity = "affinity", "亲情招商", "Affinity (family ties) attraction";
    }
}

vocabulary! {
    /// 延链强链补链: what the project does to the industrial chain.
    ChainRole as "chain_role" {
        Extend = "extend", "延链", "Extends the chain";
        Strengthen = "strengthen", "强链", "Strengthens the chain";
        Fill = "fill", "补链", "Fills a gap in the chain";
    }
}

vocabulary! {
    /// 项目阶段: a project's place in the pipeline, in order.
    Stage as "project_stage" {
        Lead = "lead", "线索", "Lead";
        Negotiating = "negotiating", "洽谈", "Negotiating";
        Signed = "signed", "签约", "Signed";
        Registered = "registered", "注册落地", "Registered";
        UnderConstruction = "under_construction", "开工在建", "Under construction";
        Operating = "operating", "投产运营", "Operating";
        Dropped = "dropped", "终止", "Dropped";
    }
}

vocabulary! {
    /// 功能性总部: the kind of headquarters a project sets up.
    HqType as "hq_type" {
        ChinaHq = "china_hq", "中国区总部", "China headquarters";
        RegionalHq = "regional_hq", "区域总部", "Regional headquarters";
        Rnd = "rnd", "研发中心", "Research and development centre";
        Logistics = "logistics", "物流中心", "Logistics centre";
        Procurement = "procurement", "采购中心", "Procurement centre";
        Sales = "sales", "销售中心", "Sales centre";
        Settlement = "settlement", "结算中心", "Settlement centre";
        Finance = "finance", "财务中心", "Finance centre";
        InformationProcessing = "information_processing", "信息处理中心", "Information processing centre";
    }
}

vocabulary! {
    /// 角色: what a user may do (see DESIGN.md, Access).
    Role as "role" {
        ProvincialAdmin = "provincial_admin", "省级管理员", "Provincial administrator";
        ProvincialViewer = "provincial_viewer", "省级查看者", "Provincial viewer";
        ParkAdmin = "park_admin", "园区管理员", "Park administrator";
        ParkStaff = "park_staff", "园区招商人员", "Park investment staff";
        ParkViewer = "park_viewer", "园区查看者", "Park viewer";
    }
}

vocabulary! {
    /// 客商类型: what kind of investor.
    InvestorKind as "investor_kind" {
        Company = "company", "企业", "Company";
        Individual = "individual", "个人", "Business person";
        Association = "association", "行业公会", "Trade association";
    }
}

vocabulary! {
    /// 来源: where an investor comes from.
    Origin as "origin" {
        Taiwan = "taiwan", "台湾地区", "Taiwan";
        MainlandTaiwanFunded = "mainland_taiwan_funded", "大陆台资企业", "Taiwan-funded firm already in the mainland";
        ThirdPlace = "third_place", "第三地转投资", "Taiwanese capital invested through a third place (BVI, Samoa, Hong Kong…)";
        Other = "other", "其他", "Other";
    }
}

vocabulary! {
    /// 客商状态: where courting an investor stands.
    InvestorStatus as "investor_status" {
        Prospect = "prospect", "潜在", "Prospect";
        Contacted = "contacted", "已接触", "Contacted";
        Negotiating = "negotiating", "洽谈中", "Negotiating";
        Settled = "settled", "已落户", "Settled in the park";
        Lost = "lost", "流失", "Lost";
    }
}

vocabulary! {
    /// 跟进方式: how a follow-up happened.
    Channel as "follow_up_channel" {
        Visit = "visit", "走访", "Visit";
        Meeting = "meeting", "会谈", "Meeting";
        Call = "call", "电话", "Call";
        Event = "event", "活动", "Event";
        Online = "online", "线上", "Online";
    }
}

vocabulary! {
    /// 学历: highest education.
    Education as "education" {
        Associate = "associate", "专科", "Associate degree";
        Bachelor = "bachelor", "本科", "Bachelor";
        Master = "master", "硕士", "Master";
        Doctor = "doctor", "博士", "Doctorate";
        Other = "other", "其他", "Other";
    }
}

vocabulary! {
    /// 人才状态: where recruiting a talent stands.
    TalentStatus as "talent_status" {
        Prospect = "prospect", "潜在", "Prospect";
        Contacted = "contacted", "已联系", "Contacted";
        Employed = "employed", "就业", "Employed";
        Founder = "founder", "创业", "Founder";
        Left = "left", "已离开", "Left";
    }
}

vocabulary! {
    /// 比照认定的大陆职称: the mainland title a Taiwan qualification is recognised as.
    MainlandTitle as "mainland_title" {
        Junior = "junior", "初级", "Junior";
        Intermediate = "intermediate", "中级", "Intermediate";
        AssociateSenior = "associate_senior", "副高级", "Associate senior";
        Senior = "senior", "正高级", "Senior";
    }
}

vocabulary! {
    /// 认定状态: where recognising a qualification stands.
    Recognition as "recognition" {
        Pending = "pending", "待认定", "Pending";
        Recognised = "recognised", "已认定", "Recognised";
        Rejected = "rejected", "未认定", "Rejected";
    }
}

vocabulary! {
    /// 人才计划级别.
    ProgrammeLevel as "programme_level" {
        National = "national", "国家级", "National";
        Provincial = "provincial", "省级", "Provincial";
    }
}

vocabulary! {
    /// 人才计划申报状态.
    ProgrammeStatus as "programme_status" {
        Planned = "planned", "拟申报", "Planned";
        Applied = "applied", "已申报", "Applied";
        Approved = "approved", "已入选", "Approved";
        Rejected = "rejected", "未入选", "Rejected";
    }
}

vocabulary! {
    /// 到位资金凭证: the evidence a fund in place is recorded with.
    FundEvidence as "fund_evidence" {
        CapitalVerification = "capital_verification", "验资报告", "Capital verification report";
        BankReceipt = "bank_receipt", "银行进账单", "Bank receipt";
        FxRegistration = "fx_registration", "外汇登记凭证", "Foreign-exchange registration";
        MofcomStatistics = "mofcom_statistics", "商务部统计数据", "MOFCOM statistics";
        EquipmentInvoice = "equipment_invoice", "设备发票", "Equipment invoice";
        Other = "other", "其他", "Other";
    }
}

vocabulary! {
    /// 核实状态: whether the province has verified a fund.
    FundStatus as "fund_status" {
        Pending = "pending", "待核实", "Pending";
        Verified = "verified", "已核实", "Verified";
        Rejected = "rejected", "不予认定", "Rejected";
    }
}

vocabulary! {
    /// 首报首谈凭证: what a first claim is filed with.
    ClaimEvidence as "claim_evidence" {
        FirstContactRecord = "first_contact_record", "首次接洽记录", "Record of the first contact";
        IntentLetter = "intent_letter", "意向书", "Letter of intent";
        VisitRecord = "visit_record", "考察记录", "Record of a site visit";
        Other = "other", "其他", "Other";
    }
}

vocabulary! {
    /// 首报状态: where a first claim stands.
    ClaimStatus as "claim_status" {
        Active = "active", "有效", "Active";
        Contested = "contested", "争议中", "Contested";
        Awarded = "awarded", "裁定归属", "Awarded";
        Rejected = "rejected", "裁定驳回", "Rejected";
        Lapsed = "lapsed", "已失效", "Lapsed";
    }
}

vocabulary! {
    /// 红黄绿灯: how a project (or a claim) is doing against the monitoring rules.
    Light as "light" {
        Green = "green", "绿灯", "Green";
        Amber = "amber", "黄灯", "Amber";
        Red = "red", "红灯", "Red";
    }
}

vocabulary! {
    /// 亮灯原因: why a light is amber or red.
    LightReason as "light_reason" {
        NoProgress = "no_progress", "长期无进展", "No progress";
        RegistrationOverdue = "registration_overdue", "签约后未按期注册落地", "Not registered in time after signing";
        ConstructionOverdue = "construction_overdue", "注册后未按期开工", "Construction not started in time after registration";
        OperationOverdue = "operation_overdue", "开工后未按期投产", "Not operating in time after construction started";
        PlannedStartMissed = "planned_start_missed", "计划开工日期已过", "Planned start date missed";
        PlannedOperatingMissed = "planned_operating_missed", "计划投产日期已过", "Planned operating date missed";
        FundsBelowContract = "funds_below_contract", "到位资金不足合同额", "Funds in place below the contracted share";
    }
}

/// Every vocabulary with its labels, keyed by vocabulary name.
pub fn all_vocabularies() -> Vec<(&'static str, Vec<Label>)> {
    vec![
        (Industry::NAME, Industry::labels()),
        (AttractionMode::NAME, AttractionMode::labels()),
        (ChainRole::NAME, ChainRole::labels()),
        (Stage::NAME, Stage::labels()),
        (HqType::NAME, HqType::labels()),
        (Role::NAME, Role::labels()),
        (InvestorKind::NAME, InvestorKind::labels()),
        (Origin::NAME, Origin::labels()),
        (InvestorStatus::NAME, InvestorStatus::labels()),
        (Channel::NAME, Channel::labels()),
        (Education::NAME, Education::labels()),
        (TalentStatus::NAME, TalentStatus::labels()),
        (MainlandTitle::NAME, MainlandTitle::labels()),
        (Recognition::NAME, Recognition::labels()),
        (ProgrammeLevel::NAME, ProgrammeLevel::labels()),
        (ProgrammeStatus::NAME, ProgrammeStatus::labels()),
        (FundEvidence::NAME, FundEvidence::labels()),
        (FundStatus::NAME, FundStatus::labels()),
        (ClaimEvidence::NAME, ClaimEvidence::labels()),
        (ClaimStatus::NAME, ClaimStatus::labels()),
        (Light::NAME, Light::labels()),
        (LightReason::NAME, LightReason::labels()),
    ]
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_json() {
        for stage in Stage::ALL {
            let json = serde_json::to_string(stage).unwrap_or_default();
            let back: Stage = serde_json::from_str(&json).unwrap_or(Stage::Dropped);
            assert_eq!(*stage, back, "{json}");
        }
    }

    #[test]
    fn unknown_value_lists_the_allowed_ones() {
        let err = serde_json::from_str::<ChainRole>("\"lengthen\"").err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("unknown chain_role \"lengthen\""), "{err}");
        assert!(err.contains("extend, strengthen, fill"), "{err}");
    }
}
