//! `masthead demo`: loads a small, original set of demo content (a demo author, tags and
//! published articles) so a newcomer can fetch something at once. Idempotent: what already
//! exists (by email or slug) is left alone. Images and comments add theirs here later.

use chrono::Duration;
use serde_json::{Value, json};

use crate::articles::body;
use crate::articles::domain::{Hero, Seo, Snapshot};
use crate::articles::model::{self, Status};
use crate::articles::store as articles;
use crate::auth::password::Passwords;
use crate::config::Settings;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::tags::store::{self as tags, TagRow};
use crate::time::{new_id, now};
use crate::users::store as users;

/// What `load` created (items already present are not counted).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub users: usize,
    pub tags: usize,
    pub articles: usize,
    pub comments: usize,
    pub images: usize,
    /// Slugs of every demo article, whether new or already there.
    pub slugs: Vec<String>,
    /// Corrections added (one, on the second article, the first time).
    pub corrections: usize,
    /// The slug of the embargoed article (scheduled for when its embargo ends, not public yet).
    pub embargoed: Option<String>,
}

/// The embargoed demo article: a story a newsroom holds until an agreed time.
fn embargoed_article() -> Value {
    json!({
        "kicker": "Embargoed",
        "headline": "Council to publish its spending plans for the next five years",
        "standfirst": "The plans cover the harbour wall, two schools and the bus depot; figures are embargoed until the council meeting.",
        "dateline": "PORTHAVEN",
        "body": [
            {"type": "paragraph", "text": "The council will set out its spending plans for the next five years at its meeting, with the harbour wall, two school extensions and a new bus depot at the top of the list."},
            {"type": "paragraph", "text": "Figures were shared with reporters in advance on condition that nothing is published before the meeting opens."}
        ]
    })
}

/// The correction the demo appends to its second article.
const DEMO_CORRECTION: &str =
    "An earlier version of this article said the survey counted 32 pups. The correct figure is 23.";

const AUTHOR_EMAIL: &str = "demo.author@masthead.example";

const TAGS: &[(&str, &str, &str)] = &[
    ("local", "Local", "News from the town and its harbour."),
    ("transport", "Transport", "Roads, rail, ferries and bridges."),
    ("environment", "Environment", "Weather, wildlife and the coast."),
    (
        "culture",
        "Culture",
        "Arts, festivals and the people behind them.",
    ),
];

fn demo_articles() -> Vec<(Value, Vec<&'static str>)> {
    vec![
        (
            json!({
                "kicker": "Transport",
                "headline": "Harbour bridge reopens after eleven weeks of storm repairs",
                "standfirst": "Engineers replaced two cable anchors and widened the footpath; commuters return to a ten-minute crossing.",
                "dateline": "PORTHAVEN",
                "body": [
                    {"type": "paragraph", "text": "The Harbour Bridge reopened to traffic at 6am on Tuesday, eleven weeks after the January storms tore loose two of its cable anchors and closed the town's main crossing."},
                    {"type": "paragraph", "text": "Commuters who had faced a <b>40-minute detour</b> through the industrial estate were back on a ten-minute route by the morning rush."},
                    {"type": "quote", "text": "We asked a lot of people to be patient, and they were. The bridge is stronger now than before the storm.", "attribution": "Dana Okafor, council head of highways"},
                    {"type": "heading", "level": 2, "text": "What was repaired"},
                    {"type": "list", "ordered": false, "items": ["Two replacement cable anchors on the north tower", "A footpath widened to three metres", "New LED lighting along the full span"]},
                    {"type": "paragraph", "text": "The work cost £4.2m, most of it covered by an emergency infrastructure grant. A final inspection is planned for the summer."}
                ]
            }),
            vec!["local", "transport"],
        ),
        (
            json!({
                "headline": "Seal pups counted on the sandbanks for the first time in a decade",
                "standfirst": "Volunteers recorded 23 grey seal pups during the winter survey, a sign the estuary's colony is recovering.",
                "dateline": "PORTHAVEN",
                "body": [
                    {"type": "paragraph", "text": "Volunteers from the estuary trust counted <b>23 grey seal pups</b> on the outer sandbanks this winter, the first pups recorded there in ten years."},
                    {"type": "paragraph", "text": "The survey is carried out from boats at low tide so the animals are not disturbed. Counters use binoculars and a standard tally sheet."},
                    {"type": "quote", "text": "Ten years ago we would come back with nothing. This year we ran out of space on the sheet.", "attribution": "Priya Nandakumar, survey coordinator"},
                    {"type": "heading", "level": 2, "text": "How to watch responsibly"},
                    {"type": "list", "ordered": true, "items": ["Stay at least 100 metres away", "Keep dogs on a lead on the beach", "Report injured animals to the trust's hotline"]},
                    {"type": "divider"},
                    {"type": "paragraph", "text": "The trust will publish its full report in the spring, with counts of adult seals and wading birds."}
                ]
            }),
            vec!["local", "environment"],
        ),
        (
            json!({
                "headline": "Ferry operator adds late sailing on summer weekends",
                "standfirst": "A 23:30 departure from the island will run on Fridays and Saturdays from June to September.",
                "dateline": "PORTHAVEN",
                "body": [
                    {"type": "paragraph", "text": "Island residents will be able to stay on the mainland for an evening out this summer after the ferry operator announced a late weekend sailing."},
                    {"type": "paragraph", "text": "The new departure leaves the mainland pier at 23:30 on Fridays and Saturdays between 6 June and 27 September, arriving on the island 35 minutes later."},
                    {"type": "quote", "text": "People told us the last boat at nine meant choosing between dinner and getting home. Now they don't have to.", "attribution": "Tomás Reyes, operations manager"},
                    {"type": "paragraph", "text": "Fares are unchanged. The operator says it will review passenger numbers in October before deciding whether to keep the sailing next year."}
                ]
            }),
            vec!["transport"],
        ),
        (
            json!({
                "headline": "Lantern festival returns to the old quay with 400 handmade lights",
                "standfirst": "Schools and community groups spent six weeks building lanterns for the town's first festival since the quay was restored.",
                "dateline": "PORTHAVEN",
                "body": [
                    {"type": "paragraph", "text": "More than 400 handmade lanterns will be carried along the restored old quay on Saturday evening as the town's lantern festival returns after a five-year break."},
                    {"type": "heading", "level": 2, "text": "Programme"},
                    {"type": "list", "ordered": true, "items": ["18:00 — workshops close and lanterns are lit", "19:00 — procession from the market square", "20:30 — music on the quay"]},
                    {"type": "quote", "text": "Every lantern has a story. One class made a whole fleet of fishing boats.", "attribution": "Mira Hollis, festival organiser"},
                    {"type": "paragraph", "text": "The procession route is step-free. Roads around the market square close from 17:30 to 21:30."}
                ]
            }),
            vec!["local", "culture"],
        ),
        (
            json!({
                "headline": "Council opens consultation on car-free school streets",
                "standfirst": "Three primary schools could close their streets to traffic at drop-off and pick-up times from September.",
                "dateline": "PORTHAVEN",
                "body": [
                    {"type": "paragraph", "text": "Parents and residents have until the end of next month to comment on plans to close the streets outside three primary schools to traffic for 45 minutes at the start and end of each school day."},
                    {"type": "paragraph", "text": "Residents, blue-badge holders and delivery vehicles would be exempt. Cameras rather than barriers would enforce the closures."},
                    {"type": "quote", "text": "We want children to walk and cycle to school without breathing exhaust at the gate.", "attribution": "Councillor Sam Whitlock"},
                    {"type": "heading", "level": 2, "text": "How to respond"},
                    {"type": "paragraph", "text": "Responses can be made online, at the library, or at drop-in sessions held at each school next week."}
                ]
            }),
            vec!["local", "transport"],
        ),
    ]
}

fn demo_author(
    conn: &mut DbConn,
    passwords: &Passwords,
    summary: &mut DemoSummary,
) -> anyhow::Result<String> {
    if let Some(user) =
        users::find_by_email(conn, AUTHOR_EMAIL).map_err(|e| anyhow::anyhow!("{}", ApiError::from(e)))?
    {
        return Ok(user.id);
    }
    // Nobody logs in as the demo author: its password is random and never shown.
    let password = format!("{}{}", new_id(), new_id());
    let at = now();
    let user = users::NewUser {
        id: new_id(),
        email: AUTHOR_EMAIL.into(),
        email_normalized: AUTHOR_EMAIL.into(),
        display_name: "Alex Rivera".into(),
        role: "author".into(),
        password_hash: passwords.hash(&password).map_err(|e| anyhow::anyhow!("{e}"))?,
        disabled: false,
        session_version: 0,
        created_at: at,
        updated_at: at,
    };
    let row = users::insert(conn, &user).map_err(|e| anyhow::anyhow!("{}", ApiError::from(e)))?;
    summary.users += 1;
    Ok(row.id)
}

/// A failure of the demo loader, as the problem a client would have seen.
fn fail(e: impl Into<ApiError>) -> anyhow::Error {
    anyhow::anyhow!("{}", e.into())
}

/// Loads the demo content; running it again creates nothing new.
pub fn load(conn: &mut DbConn, passwords: &Passwords, settings: &Settings) -> anyhow::Result<DemoSummary> {
    let mut summary = DemoSummary::default();
    let author = demo_author(conn, passwords, &mut summary)?;
    for (slug, name, description) in TAGS {
        if tags::find_by_slug(conn, slug).is_err() {
            let at = now();
            tags::insert(
                conn,
                &TagRow {
                    id: new_id(),
                    slug: (*slug).into(),
                    name: (*name).into(),
                    description: (*description).into(),
                    created_at: at,
                    updated_at: at,
                },
            )
            .map_err(fail)?;
            summary.tags += 1;
        }
    }
    // Pictures drawn by the program, with captions and credits: heroes, and a figure in the
    // first articles' bodies.
    let images = crate::images::demo::load_with_settings(conn, settings).map_err(fail)?;
    summary.images = images.len();
    let count = demo_articles().len() as i64;
    for (i, (mut raw, tag_slugs)) in demo_articles().into_iter().enumerate() {
        let hero_image = (!images.is_empty()).then(|| images[i % images.len()].clone());
        if i < 2
            && images.len() > 1
            && let Some(body) = raw["body"].as_array_mut()
        {
            let figure = json!({"type": "image", "image_id": images[(i + 1) % images.len()]});
            body.insert(body.len().min(2), figure);
        }
        let headline = raw["headline"].as_str().unwrap_or_default().to_owned();
        let slug = model::slugify(&headline);
        summary.slugs.push(slug.clone());
        if articles::find_by_slug(conn, &slug).map_err(fail)?.is_some()
            || articles::find_by_old_slug(conn, &slug).map_err(fail)?.is_some()
        {
            continue;
        }
        let blocks = raw["body"].as_array().map(Vec::as_slice).unwrap_or_default();
        let body = body::parse(blocks)
            .map_err(|errors| anyhow::anyhow!("demo article `{headline}` is invalid: {errors:?}"))?;
        let tag_refs: Vec<String> = tag_slugs.iter().map(|s| (*s).to_owned()).collect();
        // Staggered over the last few hours, the first article newest.
        let published_at = now() - Duration::hours(i as i64 * 3 + 1) + Duration::minutes(count - i as i64);
        let snapshot = Snapshot {
            slug,
            headline,
            standfirst: raw["standfirst"].as_str().unwrap_or_default().to_owned(),
            dateline: raw["dateline"].as_str().map(str::to_owned),
            kicker: raw["kicker"].as_str().map(str::to_owned),
            body,
            hero: hero_image.map(|image_id| Hero {
                image_id,
                caption: None,
            }),
            status: Status::Published,
            publish_at: None,
            published_at: Some(published_at),
            embargo_until: None,
            unpublish_at: None,
            comments_enabled: true,
            seo: Seo::default(),
            authors: vec![author.clone()],
            tags: articles::resolve_tags(conn, &tag_refs).map_err(fail)?,
        };
        articles::create(conn, snapshot, Some(&author), false).map_err(fail)?;
        summary.articles += 1;
    }
    if let Some(slug) = summary.slugs.first().cloned() {
        summary.comments = demo_comments(conn, &slug).map_err(fail)?;
    }
    if let Some(slug) = summary.slugs.get(1).cloned() {
        summary.corrections = demo_correction(conn, &slug).map_err(fail)?;
    }
    summary.embargoed = Some(demo_embargoed(conn, &author).map_err(fail)?);
    Ok(summary)
}

/// A correction on the article with this slug, unless it has one.
fn demo_correction(conn: &mut DbConn, slug: &str) -> Result<usize, ApiError> {
    use crate::corrections::{model::CorrectionKind, store as corrections};
    let Some(article) = articles::find_by_slug(conn, slug)? else {
        return Ok(0);
    };
    if !corrections::of_articles(conn, std::slice::from_ref(&article.id))?.is_empty() {
        return Ok(0);
    }
    let at = now();
    articles::touch(conn, &article.id, at)?;
    corrections::insert(
        conn,
        &article.id,
        CorrectionKind::Correction,
        DEMO_CORRECTION,
        None,
        at,
    )?;
    Ok(1)
}

/// The embargoed article, scheduled for when its embargo ends (three days from the first
/// load, on the hour), unless it exists. Returns its slug.
fn demo_embargoed(conn: &mut DbConn, author: &str) -> Result<String, ApiError> {
    let raw = embargoed_article();
    let headline = raw["headline"].as_str().unwrap_or_default().to_owned();
    let slug = model::slugify(&headline);
    if articles::find_by_slug(conn, &slug)?.is_some() {
        return Ok(slug);
    }
    let blocks = raw["body"].as_array().map(Vec::as_slice).unwrap_or_default();
    let body = body::parse(blocks).map_err(ApiError::validation)?;
    let until = (now() + Duration::days(3))
        .date()
        .and_hms_opt(9, 0, 0)
        .unwrap_or_else(|| now() + Duration::days(3));
    let snapshot = Snapshot {
        slug: slug.clone(),
        headline,
        standfirst: raw["standfirst"].as_str().unwrap_or_default().to_owned(),
        dateline: raw["dateline"].as_str().map(str::to_owned),
        kicker: raw["kicker"].as_str().map(str::to_owned),
        body,
        hero: None,
        status: Status::Scheduled,
        publish_at: Some(until),
        published_at: Some(until),
        embargo_until: Some(until),
        unpublish_at: None,
        comments_enabled: true,
        seo: Seo::default(),
        authors: vec![author.to_owned()],
        tags: Vec::new(),
    };
    articles::create(conn, snapshot, Some(author), false)?;
    Ok(slug)
}

/// Two approved reader comments and a reply on the first demo article, unless it has comments.
fn demo_comments(conn: &mut DbConn, slug: &str) -> Result<usize, ApiError> {
    use crate::comments::model::{CommentStatus, NewCommentInput};
    use crate::comments::store as comments;
    let Some(article) = comments::public_article(conn, slug)? else {
        return Ok(0);
    };
    if !comments::public_roots(conn, &article.id, None, 1)?.is_empty() {
        return Ok(0);
    }
    let add = |conn: &mut DbConn, name: &str, body: &str, parent: Option<&str>| {
        let input = NewCommentInput::parse(name, None, body, parent)?;
        Ok::<_, ApiError>(comments::insert(
            conn,
            &article.id,
            input,
            CommentStatus::Approved,
            "demo".into(),
        )?)
    };
    let first = add(
        conn,
        "Marta K.",
        "I walk past the harbour wall every morning; good to finally read what the repairs involve.",
        None,
    )?;
    add(
        conn,
        "Tom Reyes",
        "Will the ferry timetable change while the work is going on?",
        None,
    )?;
    add(
        conn,
        "Desk Editor",
        "The harbour office says ferries keep their timetable; only the north quay closes.",
        Some(&first.id),
    )?;
    Ok(3)
}
