//! Table definitions shared by both backends. Only types both backends know are used
//! (Text, Integer, BigInt, Bool, Timestamp…): JSON and ids are stored as Text.

diesel::table! {
    site_settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_normalized -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        session_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        prefix -> Text,
        secret_hash -> Text,
        created_by -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    images (id) {
        id -> Text,
        content_type -> Text,
        width -> Integer,
        height -> Integer,
        bytes -> BigInt,
        sha256 -> Text,
        storage_key -> Text,
        caption -> Nullable<Text>,
        credit -> Nullable<Text>,
        source -> Nullable<Text>,
        alt_text -> Nullable<Text>,
        copyright -> Nullable<Text>,
        focal_x -> Double,
        focal_y -> Double,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(images -> users (created_by));
diesel::joinable!(api_keys -> users (created_by));
diesel::allow_tables_to_appear_in_same_query!(users, refresh_tokens, api_keys, site_settings, images);
