//! `GET /projects`: paging, filters, sorting, search, and bad parameters.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{enc, TestApp};
use crate::on_both_databases;

on_both_databases!(
    pages_walk_every_row_once_even_while_rows_are_added,
    filters_narrow_the_list,
    time_ranges_and_sort_by_update,
    search_folds_traditional_and_simplified_script,
    search_treats_wildcards_literally_and_needs_every_word,
    search_past_the_window_finds_rare_words_in_order,
    each_bad_parameter_is_a_400_naming_it,
    a_cursor_only_continues_its_own_sort,
    deleted_projects_leave_lists,
    list_statements_are_planned_for_their_values,
    stored_lists_read_back_alike_everywhere,
);

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

async fn pages_walk_every_row_once_even_while_rows_are_added(app: TestApp) {
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(app.create_project(json!({"name": format!("项目 {i}")})).await["id"].as_str().unwrap().to_owned());
    }
    let first = app.get("/api/v1/projects?limit=3").await;
    assert_eq!(first.status, 200);
    // Newest first by default.
    assert_eq!(ids(&first.body), created.iter().rev().take(3).cloned().collect::<Vec<_>>());

    // Rows added mid-walk are newer than the cursor, so they neither repeat nor shift rows.
    app.create_project(json!({"name": "途中新增"})).await;
    let mut seen = ids(&first.body);
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);
    let mut pages = 1;
    while let Some(c) = cursor {
        let page = app.get(&format!("/api/v1/projects?limit=3&cursor={c}")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(ids(&page.body));
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(seen, expected, "every original row exactly once, in order");

    // Oldest first walks the other way, and an exact last page has no cursor.
    let asc = app.get("/api/v1/projects?sort=created_at&limit=8").await;
    assert_eq!(ids(&asc.body)[..7], created[..]);
    assert_eq!(asc.body["next_cursor"], Value::Null);
    assert_eq!(app.get("/api/v1/projects").await.body["items"].as_array().unwrap().len(), 8, "default limit 50");
}

async fn filters_narrow_the_list(app: TestApp) {
    let a = app.create_project(json!({"park_code": "yueyang", "industry": "new_energy", "high_tech": true, "chain_role": "extend"})).await;
    let b = app.create_project(json!({"park_code": "xiangtan", "industry": "medical_devices", "attraction_mode": "affinity"})).await;
    let c = app.create_project(json!({"park_code": "chenzhou", "industry": "nonferrous_metals", "stage": "negotiating"})).await;
    let id = |p: &Value| p["id"].as_str().unwrap().to_owned();
    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<_>>();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("park=xiangtan", vec![id(&b)]),
        ("park=xiangtan&park=chenzhou", vec![id(&b), id(&c)]),
        ("stage=negotiating", vec![id(&c)]),
        ("stage=lead&stage=negotiating", vec![id(&a), id(&b), id(&c)]),
        ("industry=new_energy", vec![id(&a)]),
        ("attraction_mode=affinity", vec![id(&b)]),
        ("chain_role=extend", vec![id(&a)]),
        ("high_tech=true", vec![id(&a)]),
        ("high_tech=false", vec![id(&b), id(&c)]),
        ("park=yueyang&industry=medical_devices", vec![]),
        ("park=atlantis", vec![]),
    ];
    for (query, expected) in cases {
        let res = app.get(&format!("/api/v1/projects?{query}")).await;
        assert_eq!(res.status, 200, "{query}: {}", res.text);
        assert_eq!(set(ids(&res.body)), set(expected), "{query}");
    }
}

async fn time_ranges_and_sort_by_update(app: TestApp) {
    let a = app.create_project(json!({"name": "甲"})).await;
    let b = app.create_project(json!({"name": "乙"})).await;
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let n = |res: &crate::helpers::Response| res.body["items"].as_array().map(Vec::len).unwrap_or(99);
    assert_eq!(n(&app.get(&format!("/api/v1/projects?created_from={today}&created_to={today}")).await), 2);
    assert_eq!(n(&app.get(&format!("/api/v1/projects?created_from={tomorrow}")).await), 0);
    let b_created = b["created_at"].as_str().unwrap();
    let res = app.get(&format!("/api/v1/projects?created_from={}", enc(b_created))).await;
    assert_eq!(ids(&res.body), vec![b["id"].as_str().unwrap().to_owned()], "an instant bound is inclusive");
    let res = app.get(&format!("/api/v1/projects?created_to={}", enc(a["created_at"].as_str().unwrap()))).await;
    assert_eq!(ids(&res.body), vec![a["id"].as_str().unwrap().to_owned()]);

    // Touching the older project puts it first when sorted by update.
    let res = app.patch(&format!("/api/v1/projects/{}", a["id"].as_str().unwrap()), Some("\"1\""), &json!({"notes": "回访"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let by_update = app.get("/api/v1/projects?sort=-updated_at").await;
    assert_eq!(ids(&by_update.body)[0], a["id"].as_str().unwrap());
    let updated_since = app.get(&format!("/api/v1/projects?updated_from={}", enc(res.body["updated_at"].as_str().unwrap()))).await;
    assert_eq!(ids(&updated_since.body), vec![a["id"].as_str().unwrap().to_owned()]);
}

async fn search_folds_traditional_and_simplified_script(app: TestApp) {
    let simplified = app.create_project(json!({"name": "台积电先进封装测试基地"})).await;
    let traditional = app.create_project(json!({"name": "鴻海精密電子連接器", "tags": ["大灣區轉移"]})).await;
    let in_summary = app.create_project(json!({"name": "储能模组", "summary": "ＬＦＰ　储能电池"})).await;
    app.create_project(json!({"name": "无关项目"})).await;
    let id = |p: &Value| p["id"].as_str().unwrap().to_owned();
    let cases = [
        ("台積電", vec![id(&simplified)]),
        ("台积电", vec![id(&simplified)]),
        ("鸿海", vec![id(&traditional)]),
        ("電子", vec![id(&traditional)]),
        ("大湾区", vec![id(&traditional)]),
        ("lfp", vec![id(&in_summary)]),
        ("LFP 電池", vec![id(&in_summary)]),
        ("芯片", vec![]),
    ];
    for (q, expected) in cases {
        let res = app.get(&format!("/api/v1/projects?q={}", enc(q))).await;
        assert_eq!(res.status, 200, "{q}: {}", res.text);
        assert_eq!(ids(&res.body), expected, "q={q}");
    }
}

async fn search_treats_wildcards_literally_and_needs_every_word(app: TestApp) {
    let percent = app.create_project(json!({"name": "产能提升 50% 改造"})).await;
    app.create_project(json!({"name": "产能提升 500 吨"})).await;
    let res = app.get(&format!("/api/v1/projects?q={}", enc("50%"))).await;
    assert_eq!(ids(&res.body), vec![percent["id"].as_str().unwrap().to_owned()]);
    let res = app.get(&format!("/api/v1/projects?q={}", enc("_"))).await;
    assert_eq!(ids(&res.body), Vec::<String>::new());
    let res = app.get(&format!("/api/v1/projects?q={}", enc("产能 改造"))).await;
    assert_eq!(ids(&res.body), vec![percent["id"].as_str().unwrap().to_owned()]);
}

/// A search reads a window of the newest rows first and asks the index (or
/// scans, on SQLite) only when the window holds less than a page: both ways
/// must give the rows a plain scan gives, in the same order, within scope.
async fn search_past_the_window_finds_rare_words_in_order(app: TestApp) {
    use diesel::prelude::*;
    use invest_registry::{db, loadgen};
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let pool = db::connect(&app.database_url, 1).unwrap();
    let sizes = loadgen::Sizes { projects: db::search::WINDOWS[1] as u64 + 600, investors: 20, talents: 0, extra_parks: 0 };
    loadgen::load(&pool, sizes, 7, None).unwrap();
    let mut conn = pool.get().unwrap();
    let scan = |conn: &mut db::DbConnection, sql: &str| -> Vec<String> {
        diesel::sql_query(sql).load::<Id>(conn).unwrap().into_iter().map(|r| r.id).collect()
    };

    // Only the oldest project holds this word: no window reaches it.
    diesel::sql_query("UPDATE projects SET search_text = search_text || ' 独一无二' WHERE id = (SELECT id FROM projects ORDER BY created_at, id LIMIT 1)")
        .execute(&mut **conn)
        .unwrap();
    let oldest = scan(&mut conn, "SELECT id FROM projects ORDER BY created_at, id LIMIT 1");
    let res = app.get(&format!("/api/v1/projects?q={}", enc("獨一無二"))).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(ids(&res.body), oldest);

    // A rarer word than a page per window: walking its pages (some from the
    // window, some from the index) gives exactly what a scan gives.
    let expected = scan(
        &mut conn,
        "SELECT id FROM projects WHERE deleted_at IS NULL AND search_text LIKE '%湘台半导体%' ORDER BY created_at DESC, id DESC",
    );
    assert!(expected.len() > 10, "the generator makes enough matches ({})", expected.len());
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/projects?limit=5&q={}", enc("湘臺半導體"));
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/projects?limit=5&q={}&cursor={cursor}", enc("湘臺半導體")),
            None => break,
        }
    }
    assert_eq!(seen, expected);

    // Within a park's scope, only that park's matches.
    let yueyang = scan(
        &mut conn,
        "SELECT id FROM projects WHERE deleted_at IS NULL AND park_code = 'yueyang' AND search_text LIKE '%湘台半导体%' ORDER BY created_at DESC, id DESC LIMIT 200",
    );
    let res = app.as_(crate::helpers::Who::ParkStaff).get(&format!("/api/v1/projects?limit=200&q={}", enc("湘台半导体"))).await;
    assert_eq!(ids(&res.body), yueyang);
    assert!(yueyang.len() < expected.len());
}

async fn each_bad_parameter_is_a_400_naming_it(app: TestApp) {
    let cases = [
        ("limit=0", "limit", "range"),
        ("limit=201", "limit", "range"),
        ("limit=ten", "limit", "type"),
        ("sort=name", "sort", "enum"),
        ("stage=won", "stage", "enum"),
        ("stage=lead&stage=won", "stage", "enum"),
        ("industry=steel", "industry", "enum"),
        ("high_tech=maybe", "high_tech", "type"),
        ("created_from=yesterday", "created_from", "type"),
        ("cursor=not-a-cursor", "cursor", "cursor"),
        ("colour=red", "colour", "unknown_parameter"),
    ];
    for (query, field, code) in cases {
        let res = app.get(&format!("/api/v1/projects?{query}")).await;
        assert_eq!(res.status, 400, "{query}: {}", res.text);
        res.assert_problem(400, field, code);
    }
}

async fn a_cursor_only_continues_its_own_sort(app: TestApp) {
    for i in 0..3 {
        app.create_project(json!({"name": format!("项目 {i}")})).await;
    }
    let page = app.get("/api/v1/projects?limit=1").await;
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let res = app.get(&format!("/api/v1/projects?limit=1&sort=updated_at&cursor={cursor}")).await;
    res.assert_problem(400, "cursor", "cursor");
}

async fn deleted_projects_leave_lists(app: TestApp) {
    let keep = app.create_project(json!({"name": "保留"})).await;
    let gone = app.create_project(json!({"name": "删除"})).await;
    let res = app.delete(&format!("/api/v1/projects/{}", gone["id"].as_str().unwrap()), None).await;
    assert_eq!(res.status, 204);
    let list = app.get("/api/v1/projects").await;
    assert_eq!(ids(&list.body), vec![keep["id"].as_str().unwrap().to_owned()]);
    let search = app.get(&format!("/api/v1/projects?q={}", enc("删除"))).await;
    assert_eq!(ids(&search.body), Vec::<String>::new());
}

/// On PostgreSQL a filtered list's statements are never kept prepared: a
/// prepared statement may switch to one generic plan for every value after
/// five runs (`records::list`). A read by id stays prepared, which shows the
/// check can see one; so does a plain list's first page, its park (the
/// caller's own, never one from the query string) written into its text.
async fn list_statements_are_planned_for_their_values(app: TestApp) {
    use diesel::prelude::*;
    use invest_registry::auth::ParkScope;
    use invest_registry::projects::{ListFilter, Project};
    use invest_registry::vocab::Stage;
    use invest_registry::{db, records};
    #[derive(QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement: String,
    }
    let id = app.create_project(json!({"stage": "negotiating"})).await["id"].as_str().unwrap().to_owned();
    app.create_project(json!({"stage": "lead"})).await;
    let mut conn = db::connect(&app.database_url, 1).unwrap().get().unwrap();
    let filter = ListFilter { stage: vec![Stage::Negotiating], count: Some(true), ..Default::default() };
    for _ in 0..7 {
        let page = records::list::<Project>(&mut conn, &ParkScope::All, &filter).unwrap();
        assert_eq!(page.items.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
        assert_eq!(page.total, Some(1));
    }
    assert_eq!(records::get::<Project>(&mut conn, &ParkScope::All, &id).unwrap().id, id);
    // Plain lists: every park's projects for the province, and a park's own
    // for its staff (with or without `park=` naming it); then a province's
    // list of a park asked for in the query string. Another park's project
    // and a deleted one must stay out of the plain pages as out of the others.
    let elsewhere = app.create_project(json!({"park_code": "xiangtan"})).await["id"].as_str().unwrap().to_owned();
    let gone = app.create_project(json!({})).await["id"].as_str().unwrap().to_owned();
    assert_eq!(app.delete(&format!("/api/v1/projects/{gone}"), None).await.status, 204);
    let of_park = |park: &str| ListFilter { park: vec![park.into()], ..Default::default() };
    let yueyang = ParkScope::One("yueyang".into());
    for (scope, filter, expected) in [
        (&ParkScope::All, ListFilter::default(), 3),
        (&yueyang, ListFilter::default(), 2),
        (&yueyang, of_park("yueyang"), 2),
        (&yueyang, of_park("xiangtan"), 0),
        (&ParkScope::All, of_park("xiangtan"), 1),
    ] {
        let page = records::list::<Project>(&mut conn, scope, &filter).unwrap();
        let ids: Vec<&str> = page.items.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids.len(), expected, "{scope:?} {:?}: {ids:?}", filter.park);
        assert!(!ids.contains(&gone.as_str()), "a deleted project listed");
        assert_eq!(ids.contains(&elsewhere.as_str()), !matches!(scope, ParkScope::One(_)), "{scope:?}: another park's project");
    }
    if app.backend == crate::helpers::Backend::Postgres {
        let prepared: Vec<String> = diesel::sql_query("SELECT statement FROM pg_prepared_statements")
            .load::<Prepared>(&mut **conn)
            .unwrap()
            .into_iter()
            .map(|p| p.statement)
            .collect();
        assert!(prepared.iter().any(|s| s.contains(r#""projects"."id" = $"#)), "a read by id stays prepared: {prepared:?}");
        let lists: Vec<_> = prepared.iter().filter(|s| s.contains(r#""projects"."stage" = $"#)).collect();
        assert!(lists.is_empty(), "list statements kept prepared: {lists:?}");
        let pages: Vec<_> = prepared.iter().filter(|s| s.contains("ORDER BY")).collect();
        let own = pages.iter().filter(|s| s.contains(r#""projects"."park_code" = 'yueyang'"#)).count();
        assert_eq!(own, 1, "a park's plain page stays prepared, its park in the text: {pages:?}");
        let every = pages.iter().filter(|s| !s.contains(r#""projects"."park_code" ="#)).count();
        assert_eq!(every, 1, "the province's plain page stays prepared: {pages:?}");
        assert!(!pages.iter().any(|s| s.contains(r#""projects"."park_code" = $"#)), "a park from the query string is bound, unprepared: {pages:?}");
        assert!(!prepared.iter().any(|s| s.contains("'xiangtan'")), "a park from the query string written into a statement: {prepared:?}");
    }
}

/// Tags, investor links and stage history are kept as JSON text and answered
/// as that text (`http::JsonCopy`): every read, and a PATCH that merges into
/// them, gives back exactly what was written, escapes included.
async fn stored_lists_read_back_alike_everywhere(app: TestApp) {
    let investor = app.create_investor(json!({"park_code": "yueyang"})).await;
    let investor_id = investor["id"].as_str().unwrap().to_owned();
    let tags = json!(["先进封装", "引号\"与\\反斜杠", "<b>&amp;</b> /", "😀"]);
    let created = app.create_project(json!({"name": "玄武岩纤维复材", "tags": tags, "investor_ids": [investor_id]})).await;
    let path = format!("/api/v1/projects/{}", created["id"].as_str().unwrap());
    let moved = app.patch(&path, Some("\"1\""), &json!({"stage": "negotiating"})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let renamed = app.patch(&path, Some("\"2\""), &json!({"notes": "只改备注"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);

    let one = app.get(&path).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body["tags"], tags);
    assert_eq!(one.body["investor_ids"], json!([investor_id]));
    let stages: Vec<&str> = one.body["stage_history"].as_array().unwrap().iter().filter_map(|e| e["stage"].as_str()).collect();
    assert_eq!(stages, ["lead", "negotiating"]);
    assert_eq!(renamed.body, one.body, "the PATCH answers what a read then gives");
    for list in ["/api/v1/projects?park=yueyang", &format!("/api/v1/projects?q={}", enc("玄武岩"))] {
        let page = app.get(list).await;
        assert_eq!(page.status, 200, "{list}: {}", page.text);
        assert_eq!(page.body["items"][0], one.body, "{list}: the list item is the record");
    }
}
