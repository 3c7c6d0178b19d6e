//! `POST /imports`: a multipart form with `library`, `file`, `park_code?`
//! and `dry_run` (default `true`); `GET /imports/template`: the empty
//! spreadsheet to fill in.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::import::{self, ImportReport, ImportRequest, Library, MAX_FILE_BYTES};
use crate::http::answers;
use super::XLSX_MEDIA_TYPE;
use crate::auth::Caller;
use crate::db;
use crate::error::{ApiError, Problem};
use crate::http::Query;
use crate::state::AppState;

/// The form of `POST /imports` (no other part is accepted).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documentation only: the handler reads the parts one by one
pub struct ImportForm {
    /// `projects`, `investors`, `talents`, `funds` (rows name their project) or `top100` (provincial_admin only).
    library: Library,
    /// A CSV (UTF-8 with or without BOM, or GB18030/GBK) or XLSX file, at most 20 MB and 200,000 rows.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The park of rows without a 园区代码 column (park roles: their own park by default).
    #[schema(pattern = "^[a-z][a-z0-9_-]{1,31}$", example = "yueyang")]
    park_code: Option<String>,
    /// `true` (default): check every row and write nothing; `false`: write every row, or none if any is bad.
    dry_run: Option<bool>,
}

/// Import a spreadsheet of projects, investors or talents, all or nothing, after a dry run by default.
///
/// Headers may be the Chinese ones of an export or the API's field names; enum cells take the
/// Chinese label or the code; dates take 2026-03-02, 2026/3/2, 2026年3月2日 or Excel dates.
/// Every row goes through the same rules and audit as `POST /{library}`. A row with an
/// `external_ref` (外部编号) already used in its park updates that record instead (same rules,
/// a new version, an audit diff), or leaves it alone when nothing changes: re-importing a
/// ledger, or an export, is idempotent. A dry run, or a file with any bad row, writes nothing
/// and lists every bad row (row 1 is the header); a dry run counts what a commit would do.
/// The import itself is one audit event with its counts.
#[utoipa::path(operation_id = "createImport", tag = "imports",
    request_body(content = inline(ImportForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "What was (or, in a dry run, would be) written, and every bad row", body = ImportReport),
        (status = 400, description = "Not a multipart form with a file", body = Problem, content_type = "application/problem+json"),
        answers::Forbidden,
        (status = 413, description = "Over 20 MB, over 200,000 rows, or an XLSX unpacking beyond 200 MB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a CSV or XLSX file, an unknown library, or an unreadable encoding", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/imports")]
pub async fn import_records(state: web::Data<AppState>, caller: Caller, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    caller.require_writer()?;
    let request = read_form(&req, payload).await?;
    let report: ImportReport = db::run_long(&state.pool, move |conn| import::run(conn, &caller, request)).await?;
    Ok(HttpResponse::Ok().json(report))
}

fn bad_form(message: impl Into<String>) -> ApiError {
    ApiError::bad_param("Content-Type", "multipart", message)
}

/// The form's parts; the file is read up to the size limit and no further.
async fn read_form(req: &HttpRequest, payload: web::Payload) -> Result<ImportRequest, ApiError> {
    const SMALL_FIELD: usize = 1024;
    let mut form = actix_multipart::Multipart::new(req.headers(), payload);
    let (mut library, mut file, mut park_code, mut dry_run) = (None, None, None, true);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| bad_form(format!("send a multipart/form-data body: {e}")))?;
        let name = field.name().unwrap_or_default().to_owned();
        let limit = if name == "file" { MAX_FILE_BYTES } else { SMALL_FIELD };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| bad_form(format!("the form could not be read: {e}")))?;
            if bytes.len() + chunk.len() > limit {
                return Err(if name == "file" {
                    ApiError::PayloadTooLarge { limit: MAX_FILE_BYTES }
                } else {
                    ApiError::invalid(name, "length", format!("at most {SMALL_FIELD} bytes"))
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
        match name.as_str() {
            "file" => file = Some(bytes.clone()),
            "library" => library = Some(Library::parse(&text())?),
            "park_code" => {
                let code = text();
                if !code.is_empty() && !crate::parks::is_code(&code) {
                    return Err(ApiError::invalid("park_code", "format", "a park's code, e.g. yueyang"));
                }
                park_code = Some(code).filter(|p| !p.is_empty());
            }
            "dry_run" => {
                // Leave the part out for the default; an empty one is no boolean.
                dry_run = match text().to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::invalid("dry_run", "type", "must be true or false")),
                }
            }
            other => return Err(ApiError::invalid(other, "unknown_field", "not a part of this form (library, file, park_code, dry_run)")),
        }
    }
    let library = library.ok_or_else(|| ApiError::invalid("library", "required", "name the library: projects, investors, talents, funds or top100"))?;
    let file = file.ok_or_else(|| ApiError::invalid("file", "required", "attach the CSV or XLSX file as the part named file"))?;
    Ok(ImportRequest { library, file, park_code, dry_run })
}

/// The query of `GET /imports/template`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// The library whose template is wanted.
    #[param(inline)]
    pub library: Library,
    /// `xlsx`, the only form a drop-down list survives in.
    #[param(inline)]
    pub format: Option<TemplateFormat>,
}

/// What a template comes as.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemplateFormat {
    Xlsx,
}

/// The spreadsheet to fill in for an import.
///
/// An XLSX workbook with the library's writable columns (Chinese headers, then 外部编号), one
/// example row, and a drop-down list of the Chinese labels on every enum column (a code typed in
/// is accepted too). Any signed-in role may download it.
#[utoipa::path(operation_id = "getImportTemplate", tag = "imports", params(TemplateQuery),
    responses(
        (status = 200, description = "The template workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = inline(String), example = json!("(binary)")),
        (status = 400, description = "An unknown library or format", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/imports/template")]
pub async fn import_template(_caller: Caller, query: Query<TemplateQuery>) -> Result<HttpResponse, ApiError> {
    let library = query.0.library;
    let bytes = web::block(move || import::template(library))
        .await
        .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))??;
    Ok(HttpResponse::Ok()
        .content_type(XLSX_MEDIA_TYPE)
        .insert_header((CONTENT_DISPOSITION, format!("attachment; filename=\"{}-template.xlsx\"", library.as_str())))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(bytes))
}
