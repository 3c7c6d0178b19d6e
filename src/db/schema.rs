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
