//! `q=` on investors and talents: a window of the list first, then the pair
//! index (PostgreSQL) or a scan (SQLite) for words the windows hold less than
//! a page of. Whichever way served a page, it must be the page a plain scan
//! gives: the same rows in the same order, within the caller's park, without
//! deleted records.

use diesel::prelude::*;
use invest_registry::{db, loadgen, text};
use serde_json::Value;

use crate::helpers::{enc, TestApp, Who};
use crate::on_both_databases;

on_both_databases!(investor_search_gives_a_scans_rows_whichever_way, talent_search_gives_a_scans_rows_whichever_way);

/// Only the oldest xiangtan record holds it: past both windows of every list.
const PLANTED: &str = "獨一無二";

async fn investor_search_gives_a_scans_rows_whichever_way(app: TestApp) {
    // 台積/台积 start 2 of the generator's 26 name prefixes; 宏碁農業 is one
    // prefix and one of 9 industries: a few in each window.
    same_rows_whichever_way(app, "investors", &["台積", "宏碁農業"]).await;
}

async fn talent_search_gives_a_scans_rows_whichever_way(app: TestApp) {
    // One school of 12; one qualification of 8 held by a quarter, and that school.
    same_rows_whichever_way(app, "talents", &["逢甲大學", "建築師 逢甲大學"]).await;
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// What a plain scan answers: the live rows holding every term of `q`, newest first.
fn scan(conn: &mut db::DbConnection, library: &str, q: &str, park: Option<&str>) -> Vec<String> {
    scan_in(conn, library, q, park, "created_at DESC, id DESC")
}

fn scan_in(conn: &mut db::DbConnection, library: &str, q: &str, park: Option<&str>, order: &str) -> Vec<String> {
    let mut sql = format!("SELECT id FROM {library} WHERE deleted_at IS NULL");
    for term in text::terms(q) {
        sql.push_str(&format!(" AND search_text LIKE '%{term}%'"));
    }
    if let Some(park) = park {
        sql.push_str(&format!(" AND park_code = '{park}'"));
    }
    sql.push_str(&format!(" ORDER BY {order}"));
    diesel::sql_query(sql).load::<Id>(conn).unwrap().into_iter().map(|r| r.id).collect()
}

/// Every page of `q` as `who` sees it, `limit` at a time.
async fn walk(app: &TestApp, who: Who, library: &str, q: &str, limit: u32) -> Vec<String> {
    walk_sorted(app, who, library, q, limit, "-created_at").await
}

async fn walk_sorted(app: &TestApp, who: Who, library: &str, q: &str, limit: u32, sort: &str) -> Vec<String> {
    let first = format!("/api/v1/{library}?limit={limit}&sort={sort}&q={}", enc(q));
    let (mut path, mut seen) = (first.clone(), Vec::new());
    loop {
        let page = app.as_(who).get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        let items = page.body["items"].as_array().unwrap();
        seen.extend(items.iter().map(|item: &Value| item["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => return seen,
        }
    }
}

async fn same_rows_whichever_way(app: TestApp, library: &str, words: &[&str]) {
    let pool = db::connect(&app.database_url, 1).unwrap();
    let rows = db::search::WINDOWS[1] as u64 + 600;
    loadgen::load(&pool, loadgen::Sizes { projects: 0, investors: rows, talents: rows, extra_parks: 0 }, 11, None).unwrap();
    let mut conn = pool.get().unwrap();
    diesel::sql_query(format!(
        "UPDATE {library} SET search_text = search_text || ' {}' \
         WHERE id = (SELECT id FROM {library} WHERE park_code = 'xiangtan' ORDER BY created_at, id LIMIT 1)",
        text::fold(PLANTED)
    ))
    .execute(&mut **conn)
    .unwrap();
    let [common, rarer] = [words[0], words[1]];
    let (common_rows, rarer_rows) = (scan(&mut conn, library, common, None).len(), scan(&mut conn, library, rarer, None).len());
    assert!(common_rows > 200, "{common} fills the narrow window's page: {common_rows}");
    assert!((5..100).contains(&rarer_rows), "{rarer} is rarer than a page a window: {rarer_rows}");

    // First as the statistics leave a new table (on PostgreSQL the index is
    // asked once the narrow window falls short), then analysed (a small table
    // takes the index straight after the narrow window).
    let postgres = app.database_url.starts_with("postgres");
    for analysed in [false, true] {
        if analysed && postgres {
            diesel::sql_query(format!("ANALYZE {library}")).execute(&mut **conn).unwrap();
        }
        for q in [common, rarer, PLANTED, "量子糾纏"] {
            let everywhere = scan(&mut conn, library, q, None);
            for limit in [7, 200] {
                assert_eq!(walk(&app, Who::ProvincialAdmin, library, q, limit).await, everywhere, "{q}, limit {limit}");
            }
            let yueyang = scan(&mut conn, library, q, Some("yueyang"));
            assert_eq!(walk(&app, Who::ParkStaff, library, q, 7).await, yueyang, "{q} in yueyang");
            // Oldest first: the windows and the index walk the other way.
            let oldest_first = scan_in(&mut conn, library, q, None, "created_at, id");
            assert_eq!(walk_sorted(&app, Who::ProvincialAdmin, library, q, 7, "created_at").await, oldest_first, "{q}, oldest first");
            let counted = app.as_(Who::ProvincialAdmin).get(&format!("/api/v1/{library}?limit=1&count=true&q={}", enc(q))).await;
            assert_eq!(counted.body["total"].as_u64(), Some(everywhere.len() as u64), "{q}: count=true");
        }
    }

    // A park role never finds another park's record through `q`.
    let planted = scan(&mut conn, library, PLANTED, None);
    assert_eq!(planted.len(), 1);
    assert_eq!(walk(&app, Who::OtherParkStaff, library, PLANTED, 20).await, planted);
    assert!(walk(&app, Who::ParkStaff, library, PLANTED, 20).await.is_empty());

    // Deleted records leave the search, whichever way it goes.
    let res = app.delete(&format!("/api/v1/{library}/{}", planted[0]), None).await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert!(walk(&app, Who::ProvincialAdmin, library, PLANTED, 20).await.is_empty());
    let newest_rarer = scan(&mut conn, library, rarer, None)[0].clone();
    assert_eq!(app.delete(&format!("/api/v1/{library}/{newest_rarer}"), None).await.status, 204);
    let after = walk(&app, Who::ProvincialAdmin, library, rarer, 7).await;
    assert!(!after.contains(&newest_rarer));
    assert_eq!(after, scan(&mut conn, library, rarer, None));
}
