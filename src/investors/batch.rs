//! Investors many at once (an import's new rows): see [`crate::records::batch`].

use diesel::RunQueryDsl;

use super::matching::name_key;
use super::model::{Investor, InvestorFields, InvestorRow};
use super::{queries, rules};
use crate::db::schema::investors;
use crate::db::{insert_all, DbConnection};
use crate::error::ApiError;
use crate::records::batch::Batched;
use crate::records::Stamp;

impl Batched for Investor {
    /// 29 values a row.
    const CHUNK: usize = 500;
    /// Its name and registration numbers are looked up in the park's investors.
    const READ_BY_RULES: Option<&'static str> = Some("investors");

    /// A park holds one investor a name (unless the writer insists, which
    /// an import cannot) and one a registration number of either kind.
    fn rule_keys(park: &str, fields: &InvestorFields) -> Vec<String> {
        let mut f = fields.clone();
        rules::normalise(&mut f);
        let mut keys = vec![format!("name\u{0}{park}\u{0}{}", name_key(&f.name))];
        keys.extend(f.unified_social_credit_code.map(|code| format!("uscc\u{0}{park}\u{0}{code}")));
        keys.extend(f.taiwan_business_id.map(|id| format!("ubn\u{0}{park}\u{0}{id}")));
        keys
    }

    fn insert_many(conn: &mut DbConnection, rows: &[InvestorRow]) -> diesel::QueryResult<usize> {
        insert_all!(conn, investors::table, rows)
    }

    /// One read of their project links for the lot.
    fn views(conn: &mut DbConnection, rows: Vec<InvestorRow>) -> Result<Vec<Investor>, ApiError> {
        queries::assemble(conn, rows)
    }

    /// The targets summary, refreshed once for the lot.
    fn after_create_many(conn: &mut DbConnection, created: &[(&str, &InvestorFields, &Stamp)]) -> Result<(), ApiError> {
        let ids: Vec<String> = created.iter().map(|(id, _, _)| (*id).to_owned()).collect();
        crate::targets::summary::refresh_investors(conn, &ids)
    }
}
