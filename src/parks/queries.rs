use diesel::prelude::*;

use super::Park;
use crate::db::schema::parks;
use crate::db::DbConnection;
use crate::error::ApiError;

#[derive(Queryable, Selectable)]
#[diesel(table_name = parks)]
struct ParkRow {
    code: String,
    name: String,
    name_en: String,
    focus_industries: String,
}

impl TryFrom<ParkRow> for Park {
    type Error = ApiError;

    fn try_from(row: ParkRow) -> Result<Self, ApiError> {
        Ok(Park {
            focus_industries: serde_json::from_str(&row.focus_industries)?,
            code: row.code,
            name: row.name,
            name_en: row.name_en,
        })
    }
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Park>, ApiError> {
    parks::table
        .order(parks::code)
        .select(ParkRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Park::try_from)
        .collect()
}

pub fn find(conn: &mut DbConnection, code: &str) -> Result<Option<Park>, ApiError> {
    if !super::is_code(code) {
        return Ok(None);
    }
    parks::table
        .find(code)
        .select(ParkRow::as_select())
        .first(conn)
        .optional()?
        .map(Park::try_from)
        .transpose()
}

pub fn exists(conn: &mut DbConnection, code: &str) -> Result<bool, ApiError> {
    if !super::is_code(code) {
        return Ok(false);
    }
    let found: i64 = parks::table.filter(parks::code.eq(code)).count().get_result(conn)?;
    Ok(found > 0)
}
