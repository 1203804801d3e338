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
    local_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
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
    articles (id) {
        id -> Text,
        slug -> Text,
        headline -> Text,
        standfirst -> Text,
        dateline -> Nullable<Text>,
        kicker -> Nullable<Text>,
        body -> Text,
        body_html -> Text,
        body_text -> Text,
        hero -> Nullable<Text>,
        status -> Text,
        publish_at -> Nullable<Timestamp>,
        published_at -> Nullable<Timestamp>,
        comments_enabled -> Bool,
        seo_meta_title -> Nullable<Text>,
        seo_meta_description -> Nullable<Text>,
        seo_og_image -> Nullable<Text>,
        seo_canonical_url -> Nullable<Text>,
        word_count -> Integer,
        comment_count -> Integer,
        version -> Integer,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        comments_changed_at -> Nullable<Timestamp>,
        /// Generated: `published_at` when the status is published or scheduled, else NULL.
        public_at -> Nullable<Timestamp>,
        embargo_until -> Nullable<Timestamp>,
        unpublish_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    article_corrections (id) {
        id -> Text,
        article_id -> Text,
        kind -> Text,
        text -> Text,
        published_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    preview_links (id) {
        id -> Text,
        article_id -> Text,
        token_hash -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(article_corrections -> articles (article_id));
diesel::joinable!(preview_links -> articles (article_id));
diesel::joinable!(preview_links -> users (created_by));

diesel::table! {
    article_slugs (slug) {
        slug -> Text,
        article_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    article_authors (article_id, user_id) {
        article_id -> Text,
        user_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    tags (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    article_tags (article_id, tag_id) {
        article_id -> Text,
        tag_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    article_revisions (id) {
        id -> Text,
        article_id -> Text,
        number -> Integer,
        snapshot -> Text,
        created_by -> Nullable<Text>,
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
        creator -> Nullable<Text>,
        usage_terms -> Nullable<Text>,
        digital_source_type -> Nullable<Text>,
        taken_at -> Nullable<Timestamp>,
        rights_expire_at -> Nullable<Timestamp>,
        embedded -> Nullable<Text>,
        withdrawal_recorded_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(article_slugs -> articles (article_id));
diesel::joinable!(article_authors -> articles (article_id));
diesel::joinable!(article_authors -> users (user_id));
diesel::joinable!(article_tags -> articles (article_id));
diesel::joinable!(article_tags -> tags (tag_id));
diesel::joinable!(article_revisions -> articles (article_id));
diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(comments -> articles (article_id));
diesel::joinable!(images -> users (created_by));
diesel::table! {
    comments (id) {
        id -> Text,
        article_id -> Text,
        parent_id -> Nullable<Text>,
        root_id -> Text,
        depth -> Integer,
        author_name -> Text,
        author_email -> Nullable<Text>,
        body -> Text,
        status -> Text,
        address_hash -> Text,
        removed -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    comment_challenges_used (nonce) {
        nonce -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    events (seq) {
        seq -> BigInt,
        id -> Text,
        event_type -> Text,
        subject -> Text,
        data -> Text,
        surrogate_keys -> Text,
        created_at -> Timestamp,
        dispatched_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        url -> Text,
        events -> Text,
        secret -> Text,
        description -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_seq -> BigInt,
        event_id -> Text,
        event_type -> Text,
        subject -> Text,
        status -> Text,
        attempts -> Integer,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamp>,
        claimed_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        attempt -> Integer,
        started_at -> Timestamp,
        duration_ms -> Integer,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::allow_tables_to_appear_in_same_query!(
    webhooks,
    webhook_deliveries,
    webhook_attempts,
    comments,
    events,
    comment_challenges_used,
    users,
    refresh_tokens,
    api_keys,
    site_settings,
    articles,
    article_slugs,
    article_authors,
    tags,
    article_tags,
    article_revisions,
    images,
    article_corrections,
    preview_links,
);
