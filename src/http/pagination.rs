use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// One page of a list. `next_cursor` is opaque; pass it back as `cursor` with
/// the same filters and sort to read the next page; `null` on the last page.
///
/// `total` is filled only by the lists that count ([`CountedPage`] in the
/// document); the others never have it, so their document has no `total`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub total: Option<i64>,
}

/// One page of a list that counts on request (`count=true`): the document
/// of the [`Page`] those lists answer. `next_cursor` is opaque; pass it back
/// as `cursor` with the same filters and sort to read the next page; `null`
/// on the last page.
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only
pub struct CountedPage<T: ToSchema> {
    items: Vec<T>,
    #[schema(example = json!(null))]
    next_cursor: Option<String>,
    /// Every row matching the filters that the caller may see; only when the
    /// list was asked with `count=true` (counting costs a second query).
    #[schema(example = json!(null))]
    total: Option<i64>,
}

/// Of up to `limit + 1` rows read in order, keeps `limit`: the extra row
/// only tells that there is a next page, whose cursor is made from the last
/// row kept.
pub fn take_page<R>(mut rows: Vec<R>, limit: Limit, cursor_of: impl Fn(&R) -> Cursor) -> (Vec<R>, Option<String>) {
    let next_cursor = if rows.len() as i64 > limit.get() {
        rows.truncate(limit.get() as usize);
        rows.last().map(|last| cursor_of(last).encode())
    } else {
        None
    };
    (rows, next_cursor)
}

impl<T: ToSchema> Page<T> {
    /// A page of `rows` (see [`take_page`]), each turned into an item.
    pub fn from_rows<R>(
        rows: Vec<R>,
        limit: Limit,
        cursor_of: impl Fn(&R) -> Cursor,
        item_of: impl FnMut(R) -> Result<T, ApiError>,
    ) -> Result<Self, ApiError> {
        let (rows, next_cursor) = take_page(rows, limit, cursor_of);
        Ok(Self { items: rows.into_iter().map(item_of).collect::<Result<_, _>>()?, next_cursor, total: None })
    }
}

/// Orders a boxed query by `(column, id)` in `order` and keeps only the rows
/// after `after` (a decoded [`Cursor`]). Keyset paging: rows inserted while a
/// client pages neither repeat nor shift the rows it has not seen.
///
/// The condition is a row comparison, `(column, id) < (t, i)`, which both
/// PostgreSQL and SQLite (3.15+) turn into a range on a `(…, column, id)`
/// index; the equivalent `column < t OR (column = t AND id < i)` is not, and
/// made deep pages scan.
macro_rules! keyset {
    ($query:ident, $column:expr, $id:expr, $order:expr, $after:expr) => {{
        use $crate::http::SortOrder;
        if let Some(after) = $after {
            let op = match $order {
                SortOrder::Desc => "<",
                SortOrder::Asc => ">",
            };
            $crate::http::row_compare!($query, $column, $id, op, after.at, after.id.clone());
        }
        $query = match $order {
            SortOrder::Desc => $query.order(($column.desc(), $id.desc())),
            SortOrder::Asc => $query.order(($column.asc(), $id.asc())),
        };
    }};
}

/// Filters a boxed query by the row comparison `(column, id) op (at, id)`,
/// which diesel's DSL cannot express; keyset pages and search windows use it.
macro_rules! row_compare {
    ($query:ident, $column:expr, $id:expr, $op:expr, $at:expr, $row_id:expr) => {{
        let lhs = format!("({}, {}) {} (", $crate::http::column_name($column), $crate::http::column_name($id), $op);
        $query = $query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(&lhs)
                .bind::<diesel::sql_types::Timestamp, _>($at)
                .sql(", ")
                .bind::<diesel::sql_types::Text, _>($row_id)
                .sql(")"),
        );
    }};
}

/// A column's name, for the few SQL fragments diesel's DSL cannot express.
pub fn column_name<C: diesel::Column>(_: C) -> &'static str {
    C::NAME
}

pub(crate) use {keyset, row_compare};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Page size: 1 to 200, 50 when absent.
#[derive(Debug, Clone, Copy)]
pub struct Limit(u32);

impl Limit {
    pub fn parse(raw: Option<i64>) -> Result<Self, ApiError> {
        match raw {
            None => Ok(Self(DEFAULT_LIMIT)),
            Some(n) if (1..=i64::from(MAX_LIMIT)).contains(&n) => Ok(Self(n as u32)),
            Some(_) => Err(ApiError::bad_param("limit", "range", format!("must be between 1 and {MAX_LIMIT}"))),
        }
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

/// Which timestamp a list is ordered by; the id breaks ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// The orders a list can be read in, as the `sort` parameter takes them
/// (the document's enum; [`SortKey::parse`] reads them).
#[derive(Debug, Serialize, ToSchema)]
pub enum Sort {
    /// Newest created first (the default).
    #[serde(rename = "-created_at")]
    NewestCreated,
    #[serde(rename = "created_at")]
    OldestCreated,
    /// Most recently changed first.
    #[serde(rename = "-updated_at")]
    NewestUpdated,
    #[serde(rename = "updated_at")]
    OldestUpdated,
}

impl SortKey {
    /// Reads `created_at`, `-created_at`, `updated_at` or `-updated_at`
    /// (a leading `-` means newest first); newest created first by default.
    pub fn parse(raw: Option<&str>) -> Result<(Self, SortOrder), ApiError> {
        let raw = raw.unwrap_or("-created_at");
        let (order, key) = match raw.strip_prefix('-') {
            Some(key) => (SortOrder::Desc, key),
            None => (SortOrder::Asc, raw),
        };
        let key = match key {
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            _ => {
                return Err(ApiError::bad_param(
                    "sort",
                    "enum",
                    "must be one of created_at, -created_at, updated_at, -updated_at",
                ))
            }
        };
        Ok((key, order))
    }
}

/// Where the previous page ended: its last row's sort value and id. Keyset
/// pagination stays stable when rows are inserted while a client pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "k")]
    pub key: SortKey,
    #[serde(rename = "o")]
    pub order: SortOrder,
    #[serde(rename = "t")]
    pub at: NaiveDateTime,
    #[serde(rename = "i")]
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a cursor and checks that it belongs to the same ordering.
    pub fn decode(raw: &str, key: SortKey, order: SortOrder) -> Result<Self, ApiError> {
        let bad = |why: &str| ApiError::bad_param("cursor", "cursor", why.to_owned());
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad("is not a cursor returned by this list"))?;
        let cursor: Self =
            serde_json::from_slice(&bytes).map_err(|_| bad("is not a cursor returned by this list"))?;
        if uuid::Uuid::parse_str(&cursor.id).is_err() {
            return Err(bad("is not a cursor returned by this list"));
        }
        // A forged cursor at year -5000 reached PostgreSQL and was a 500.
        if super::dates::check_instant("cursor", cursor.at).is_err() {
            return Err(bad("is not a cursor returned by this list"));
        }
        if cursor.key != key || cursor.order != order {
            return Err(bad("was returned for another sort order; keep the same sort while paging"));
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_another_sort() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_000).map(|d| d.naive_utc()).unwrap_or_default();
        let id = "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b".to_owned();
        let cursor = Cursor { key: SortKey::CreatedAt, order: SortOrder::Desc, at, id };
        let raw = cursor.encode();
        assert_eq!(Cursor::decode(&raw, SortKey::CreatedAt, SortOrder::Desc).ok(), Some(cursor));
        assert!(Cursor::decode(&raw, SortKey::UpdatedAt, SortOrder::Desc).is_err());
        assert!(Cursor::decode("garbage!", SortKey::CreatedAt, SortOrder::Desc).is_err());
    }

    #[test]
    fn cursors_outside_the_date_range_are_refused() {
        let at = chrono::NaiveDate::from_ymd_opt(-5000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default();
        let id = "01936c6e-8b1f-7cc0-9a2b-3c4d5e6f7a8b".to_owned();
        let raw = Cursor { key: SortKey::CreatedAt, order: SortOrder::Desc, at, id }.encode();
        assert!(Cursor::decode(&raw, SortKey::CreatedAt, SortOrder::Desc).is_err());
    }

    #[test]
    fn limit_bounds() {
        assert_eq!(Limit::parse(None).map(Limit::get).ok(), Some(50));
        assert_eq!(Limit::parse(Some(200)).map(Limit::get).ok(), Some(200));
        assert!(Limit::parse(Some(0)).is_err());
        assert!(Limit::parse(Some(201)).is_err());
    }
}
