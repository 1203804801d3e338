//! Diesel queries on `tags` and the published article counts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{article_tags, articles, tags};
use crate::db::{DbConn, StoreError};
use crate::time::now;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tags)]
pub struct TagRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Default, Clone, AsChangeset)]
#[diesel(table_name = tags)]
pub struct TagChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

fn conflict(e: diesel::result::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict("a tag with this slug already exists".into()),
        other => other,
    }
}

fn slug_taken(conn: &mut DbConn, slug: &str, except: &str) -> Result<bool, StoreError> {
    let n: i64 = tags::table
        .filter(tags::slug.eq(slug))
        .filter(tags::id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn insert(conn: &mut DbConn, tag: &TagRow) -> Result<TagRow, StoreError> {
    if slug_taken(conn, &tag.slug, "")? {
        return Err(StoreError::Conflict("a tag with this slug already exists".into()));
    }
    diesel::insert_into(tags::table)
        .values(tag)
        .execute(conn)
        .map_err(conflict)?;
    find(conn, &tag.id)
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<TagRow, StoreError> {
    Ok(tags::table.find(id).select(TagRow::as_select()).first(conn)?)
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> Result<TagRow, StoreError> {
    Ok(tags::table
        .filter(tags::slug.eq(slug))
        .select(TagRow::as_select())
        .first(conn)?)
}

/// Tags ordered by slug, after `after`.
pub fn list(conn: &mut DbConn, after: Option<&str>, limit: i64) -> Result<Vec<TagRow>, StoreError> {
    let mut q = tags::table.order(tags::slug.asc()).limit(limit + 1).into_boxed();
    if let Some(after) = after {
        q = q.filter(tags::slug.gt(after.to_owned()));
    }
    Ok(q.select(TagRow::as_select()).load(conn)?)
}

pub fn update(conn: &mut DbConn, id: &str, changes: TagChanges) -> Result<TagRow, StoreError> {
    conn.transaction(|conn| {
        find(conn, id)?;
        if let Some(slug) = &changes.slug
            && slug_taken(conn, slug, id)?
        {
            return Err(StoreError::Conflict("a tag with this slug already exists".into()));
        }
        diesel::update(tags::table.find(id))
            .set(&TagChanges {
                updated_at: Some(now()),
                ..changes
            })
            .execute(conn)
            .map_err(conflict)?;
        find(conn, id)
    })
}

/// Deletes a tag; its articles simply lose it (the link rows cascade).
pub fn delete(conn: &mut DbConn, id: &str) -> Result<TagRow, StoreError> {
    conn.transaction(|conn| {
        let tag = find(conn, id)?;
        diesel::delete(article_tags::table.filter(article_tags::tag_id.eq(id))).execute(conn)?;
        diesel::delete(tags::table.find(id)).execute(conn)?;
        Ok(tag)
    })
}

/// Published article counts of the given tags (read-time scheduling included).
pub fn published_counts(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, i64>, StoreError> {
    let at = now();
    let rows: Vec<String> = article_tags::table
        .inner_join(articles::table)
        .filter(article_tags::tag_id.eq_any(ids))
        .filter(crate::articles::store::public_now_expr!(at))
        .select(article_tags::tag_id)
        .load(conn)?;
    let mut counts: HashMap<String, i64> = ids.iter().map(|id| (id.clone(), 0)).collect();
    for id in rows {
        *counts.entry(id).or_default() += 1;
    }
    Ok(counts)
}
