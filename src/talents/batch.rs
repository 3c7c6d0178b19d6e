//! Talents many at once (an import's new rows): see [`crate::records::batch`].
//! A talent's rules read no other new talent, and nothing hangs off its row.

use diesel::RunQueryDsl;

use super::model::{Talent, TalentRow};
use crate::db::schema::talents;
use crate::db::{insert_all, DbConnection};
use crate::records::batch::Batched;

impl Batched for Talent {
    /// 31 values a row.
    const CHUNK: usize = 500;

    fn insert_many(conn: &mut DbConnection, rows: &[TalentRow]) -> diesel::QueryResult<usize> {
        insert_all!(conn, talents::table, rows)
    }
}
