//! Lists every library shares: the caller's scope, keyset pages in one of
//! the four orders, and the cursor that continues them.

use chrono::NaiveDateTime;
use diesel::dsl::{Eq, EqAny};
use diesel::expression::{AsExpression, TypedExpressionType};
use diesel::query_dsl::methods::FilterDsl;
use diesel::sql_types::SqlType;
use diesel::{Expression, ExpressionMethods};

use crate::error::ApiError;
use crate::http::{Cursor, Limit, SortKey, SortOrder};

/// Where a list page starts and how long it is, from `limit`, `sort` and `cursor`.
pub struct Paging {
    pub limit: Limit,
    pub key: SortKey,
    pub order: SortOrder,
    pub after: Option<Cursor>,
}

impl Paging {
    pub fn parse(limit: Option<i64>, sort: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = Limit::parse(limit)?;
        let (key, order) = SortKey::parse(sort)?;
        // `cursor=` (empty) is the first page, as clients that always send the parameter expect.
        let after = cursor.filter(|raw| !raw.trim().is_empty()).map(|raw| Cursor::decode(raw, key, order)).transpose()?;
        Ok(Self { limit, key, order, after })
    }

    /// The cursor that continues after a row with these sort values.
    pub fn cursor_after(&self, created_at: NaiveDateTime, updated_at: NaiveDateTime, id: &str) -> Cursor {
        let at = match self.key {
            SortKey::CreatedAt => created_at,
            SortKey::UpdatedAt => updated_at,
        };
        Cursor { key: self.key, order: self.order, at, id: id.to_owned() }
    }
}

/// `query` narrowed to the rows whose `column` holds one of `wanted` (values
/// as stored); a list filter left empty narrows nothing. One value is sent
/// as `column = $1`: PostgreSQL reads `= ANY($1)` as a set even of one, and
/// then cannot take the order of a `(column, created_at, id)` index.
pub fn one_of<Q, C>(query: Q, column: C, mut wanted: Vec<String>) -> Q
where
    C: Expression + ExpressionMethods,
    C::SqlType: SqlType + TypedExpressionType,
    String: AsExpression<C::SqlType>,
    Q: FilterDsl<EqAny<C, Vec<String>>, Output = Q> + FilterDsl<Eq<C, String>, Output = Q>,
{
    match wanted.len() {
        0 => query,
        1 => FilterDsl::filter(query, column.eq(wanted.remove(0))),
        _ => FilterDsl::filter(query, column.eq_any(wanted)),
    }
}
