//! `GET /meta/enums`: every vocabulary value with its Chinese and English
//! label, so frontends show 签约 rather than `signed`.

use std::collections::BTreeMap;

use actix_web::{get, HttpResponse};

use crate::auth::Caller;
use crate::vocab::{self, Label};

/// Every enum value with its labels, keyed by vocabulary name.
#[utoipa::path(
    operation_id = "listEnums",
    tag = "meta",
    responses((status = 200, description = "Vocabularies", body = BTreeMap<String, Vec<Label>>,
        example = json!({"project_stage": [{"value": "lead", "zh": "线索", "en": "Lead"}]})))
)]
#[get("/meta/enums")]
pub async fn enums(_caller: Caller) -> HttpResponse {
    let all: BTreeMap<&str, Vec<Label>> = vocab::all_vocabularies().into_iter().collect();
    HttpResponse::Ok().json(all)
}
