//! The one schema both backends share: only types every backend maps alike
//! (text, integers, doubles, booleans, dates, timestamps).

diesel::table! {
    parks (code) {
        code -> Text,
        name -> Text,
        name_en -> Text,
        focus_industries -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        active -> Bool,
        baseline_output_2020_cny -> Nullable<BigInt>,
        created_by -> Text,
        updated_by -> Text,
        version -> Integer,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        park_code -> Text,
        name -> Text,
        summary -> Nullable<Text>,
        industry -> Text,
        chain_role -> Nullable<Text>,
        attraction_mode -> Text,
        stage -> Text,
        planned_investment_usd -> BigInt,
        actual_investment_usd -> Nullable<BigInt>,
        hq_type -> Nullable<Text>,
        high_tech -> Bool,
        land_area_mu -> Nullable<Double>,
        first_contact_on -> Nullable<Date>,
        signed_on -> Nullable<Date>,
        started_on -> Nullable<Date>,
        operating_on -> Nullable<Date>,
        owner_id -> Nullable<Text>,
        tags -> Text,
        notes -> Nullable<Text>,
        search_text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        updated_by -> Text,
        version -> Integer,
        deleted_at -> Nullable<Timestamp>,
        investor_ids_json -> Text,
        stage_history_json -> Text,
        watched_stage -> Nullable<Text>,
        amber_on -> Nullable<Date>,
        red_on -> Nullable<Date>,
    }
}

diesel::table! {
    project_investors (project_id, investor_id) {
        project_id -> Text,
        investor_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    project_stage_history (id) {
        id -> Text,
        project_id -> Text,
        stage -> Text,
        on_date -> Date,
        by_user -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        park_code -> Nullable<Text>,
        changes -> Text,
        tx -> BigInt,
        seq -> BigInt,
    }
}

diesel::joinable!(projects -> parks (park_code));
diesel::joinable!(project_investors -> projects (project_id));
diesel::joinable!(project_stage_history -> projects (project_id));

diesel::allow_tables_to_appear_in_same_query!(
    parks,
    projects,
    project_investors,
    project_stage_history,
    audit_events,
);

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        park_code -> Nullable<Text>,
        active -> Bool,
        token_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        updated_by -> Text,
        version -> Integer,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    revoked_tokens (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        username -> Text,
        client_ip -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, refresh_tokens, parks);

diesel::table! {
    investors (id) {
        id -> Text,
        park_code -> Text,
        kind -> Text,
        name -> Text,
        name_en -> Nullable<Text>,
        origin -> Text,
        region -> Text,
        taiwan_business_id -> Nullable<Text>,
        unified_social_credit_code -> Nullable<Text>,
        taiwan_top100 -> Bool,
        industries -> Text,
        status -> Text,
        settled_on -> Nullable<Date>,
        referred_by_id -> Nullable<Text>,
        notes -> Nullable<Text>,
        search_text -> Text,
        name_key -> Text,
        name_en_key -> Nullable<Text>,
        last_follow_up_on -> Nullable<Date>,
        follow_up_due_on -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        updated_by -> Text,
        version -> Integer,
        deleted_at -> Nullable<Timestamp>,
        third_place_recognised_on -> Nullable<Date>,
        top100_id -> Nullable<Text>,
        merged_into -> Nullable<Text>,
    }
}

diesel::table! {
    investor_contacts (id) {
        id -> Text,
        investor_id -> Text,
        name -> Text,
        title -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        updated_by -> Text,
        version -> Integer,
    }
}

diesel::table! {
    investor_follow_ups (id) {
        id -> Text,
        investor_id -> Text,
        date -> Date,
        channel -> Text,
        summary -> Text,
        next_step -> Nullable<Text>,
        due_on -> Nullable<Date>,
        by_user -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        updated_by -> Text,
        version -> Integer,
    }
}

diesel::table! {
    investor_figures (id) {
        id -> Text,
        investor_id -> Text,
        year -> Integer,
        output_value_cny -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        updated_by -> Text,
        version -> Integer,
    }
}

diesel::table! {
    talents (id) {
        id -> Text,
        park_code -> Text,
        full_name -> Text,
        birth_year -> Integer,
        origin_region -> Text,
        education -> Text,
        school -> Nullable<Text>,
        major -> Nullable<Text>,
        specialty -> Text,
        qualifications -> Text,
        programmes -> Text,
        status -> Text,
        employer_id -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        permit_no -> Nullable<Text>,
        consent_on -> Nullable<Date>,
        notes -> Nullable<Text>,
        search_text -> Text,
        purged_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        updated_by -> Text,
        version -> Integer,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(investor_contacts -> investors (investor_id));
diesel::joinable!(investor_follow_ups -> investors (investor_id));
diesel::joinable!(investor_figures -> investors (investor_id));
diesel::allow_tables_to_appear_in_same_query!(investors, project_investors);
diesel::allow_tables_to_appear_in_same_query!(investors, projects);
diesel::allow_tables_to_appear_in_same_query!(talents, investors);

diesel::table! {
    top100 (id) {
        id -> Text,
        rank -> Integer,
        group_name -> Text,
        group_name_en -> Nullable<Text>,
        taiwan_business_id -> Nullable<Text>,
        member_names -> Text,
        list_source -> Text,
        list_year -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        updated_by -> Text,
        version -> Integer,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    funds (id) {
        id -> Text,
        project_id -> Text,
        park_code -> Text,
        received_on -> Date,
        amount_usd -> BigInt,
        evidence -> Text,
        evidence_ref -> Text,
        note -> Nullable<Text>,
        status -> Text,
        decided_by -> Nullable<Text>,
        decided_on -> Nullable<Date>,
        reason -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        updated_by -> Text,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    target_settings (id) {
        id -> Integer,
        period_from -> Date,
        period_to -> Date,
        new_taiwan_investment_usd -> BigInt,
        taiwan_funded_enterprises -> BigInt,
        taiwan_top100_present -> BigInt,
        taiwan_funded_output_ratio -> Double,
        park_shares -> Text,
        version -> Integer,
        updated_at -> Timestamp,
        updated_by -> Text,
    }
}

// The columns of `projects` that money, the targets and the lights (their
// stored days and the read copy of the latest follow-up) read and write. A
// second name for the same table: `projects` is at diesel's 32-column limit,
// and the 64-column feature would double the build of the whole crate.
diesel::table! {
    #[sql_name = "projects"]
    projects_money (id) {
        id -> Text,
        park_code -> Text,
        name -> Text,
        stage -> Text,
        signed_on -> Nullable<Date>,
        actual_investment_usd -> Nullable<BigInt>,
        contracted_investment_usd -> Nullable<BigInt>,
        registered_on -> Nullable<Date>,
        planned_start_on -> Nullable<Date>,
        planned_operating_on -> Nullable<Date>,
        version -> Integer,
        updated_at -> Timestamp,
        updated_by -> Text,
        deleted_at -> Nullable<Timestamp>,
        watched_stage -> Nullable<Text>,
        amber_on -> Nullable<Date>,
        red_on -> Nullable<Date>,
        last_follow_up_on -> Nullable<Date>,
    }
}

diesel::joinable!(funds -> projects_money (project_id));
diesel::joinable!(investors -> top100 (top100_id));
diesel::allow_tables_to_appear_in_same_query!(funds, projects_money);
diesel::allow_tables_to_appear_in_same_query!(projects_money, project_investors);
diesel::allow_tables_to_appear_in_same_query!(projects_money, investors);
diesel::allow_tables_to_appear_in_same_query!(projects_money, parks);
diesel::allow_tables_to_appear_in_same_query!(funds, parks);
diesel::allow_tables_to_appear_in_same_query!(funds, project_investors);
diesel::allow_tables_to_appear_in_same_query!(funds, investors);
diesel::allow_tables_to_appear_in_same_query!(top100, investors);
diesel::allow_tables_to_appear_in_same_query!(investor_figures, investors);
diesel::allow_tables_to_appear_in_same_query!(parks, investors);

// The targets' summary (src/targets/summary).
diesel::table! {
    target_units (unit) {
        unit -> Text,
        events -> Text,
    }
}

diesel::table! {
    target_members (investor_id) {
        investor_id -> Text,
        cluster -> Text,
    }
}

diesel::table! {
    target_totals (grain, on_date, metric, scope) {
        grain -> Text,
        on_date -> Date,
        metric -> Text,
        scope -> Text,
        amount -> BigInt,
    }
}

diesel::table! {
    target_summary_state (id) {
        id -> Integer,
        period_from -> Nullable<Date>,
        period_to -> Nullable<Date>,
    }
}

diesel::table! {
    claims (id) {
        id -> Text,
        park_code -> Text,
        project_id -> Text,
        evidence -> Text,
        evidence_ref -> Text,
        identity -> Text,
        status -> Text,
        filed_at -> Timestamp,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        updated_by -> Text,
        version -> Integer,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    claim_keys (claim_id, key) {
        claim_id -> Text,
        key -> Text,
    }
}

diesel::table! {
    monitoring_rules (id) {
        id -> Integer,
        rules -> Text,
        version -> Integer,
        updated_at -> Timestamp,
        updated_by -> Text,
        dates_version -> Nullable<Integer>,
    }
}

diesel::joinable!(claim_keys -> claims (claim_id));
diesel::allow_tables_to_appear_in_same_query!(claims, claim_keys);

diesel::table! {
    notices (id) {
        id -> Text,
        project_id -> Text,
        park_code -> Text,
        due_on -> Date,
        text -> Text,
        issued_by -> Text,
        issued_at -> Timestamp,
        response -> Nullable<Text>,
        responded_by -> Nullable<Text>,
        responded_at -> Nullable<Timestamp>,
        version -> Integer,
    }
}

diesel::allow_tables_to_appear_in_same_query!(notices, projects);

// The key a park's ledger gives a record, for idempotent imports.
diesel::table! {
    external_refs (entity_type, park_code, external_ref) {
        entity_type -> Text,
        park_code -> Text,
        external_ref -> Text,
        record_id -> Text,
    }
}

// Webhooks and their delivery log (migration 000015).
diesel::table! {
    webhooks (id) {
        id -> Text,
        park_code -> Nullable<Text>,
        url -> Text,
        events -> Text,
        secret -> Text,
        active -> Bool,
        cursor_tx -> BigInt,
        cursor_seq -> BigInt,
        failing_since -> Nullable<Timestamp>,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        paused_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Text,
        updated_by -> Text,
        version -> Integer,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event -> Text,
        attempt -> Integer,
        at -> Timestamp,
        status_code -> Nullable<Integer>,
        ok -> Bool,
        error -> Nullable<Text>,
        duration_ms -> Integer,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, webhook_deliveries);


diesel::table! {
    light_counts (as_of, park_code, stage) {
        as_of -> Date,
        park_code -> Text,
        stage -> Text,
        watched -> BigInt,
        amber -> BigInt,
        red -> BigInt,
    }
}

// The last day the daily pass of lights covered (src/webhooks/light_days.rs, migration 000016).
diesel::table! {
    light_days_passed (id) {
        id -> Integer,
        last_day -> Nullable<Date>,
    }
}
