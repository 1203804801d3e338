//! Table definitions shared by both backends. Only types both backends know are used
//! (Text, Integer, BigInt, Bool, Timestamp…): JSON and ids are stored as Text.

diesel::table! {
    site_settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}
