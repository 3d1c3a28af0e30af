//! The time machine, in the same run:
//!
//! The time machine runs as its own process (the release `time-machine` binary, started here
//! with a fresh database and NATS namespace); this process is the client, over NATS.
//! - `save`: a message save with its snapshot, p50/p99, in chats of about 10 messages and in a
//!   chat of 10,000, interleaved. Goal: p50 ≤ 5 ms, p99 ≤ 25 ms, and the 10,000-message cost
//!   ≤ 1.2× the 10-message cost. Baseline on the same database: the seeds' algorithm (the
//!   latest snapshot looked up, then a recount of the chat and a SHA-256 over all of its
//!   messages for every snapshot), at 10 and at 10,000 messages.
//! - `view`: the 10,000-message chat as of a snapshot (the head and one mid-history): the first
//!   page of 50 (goal p99 ≤ 30 ms) and the whole chat, page after page (goal p99 ≤ 150 ms).
//!   Baseline: the seeds' as-of query (every snapshot up to it, the newest version of each
//!   message by DISTINCT ON).
//! - `restore`: a full restore of 10,000 messages (to the chat's first snapshot and back, each
//!   way moving every message; goal p99 ≤ 500 ms) and a single-message restore in that chat
//!   (goal p99 ≤ 100 ms). Baseline: the seeds' full restore (every current version closed, then
//!   one INSERT per message).
//! - `search`: 1,000,000 message versions in several tenants (bulk-loaded: the service's write
//!   path is measured above), top 20 within the largest tenant for a mix of rare, common and
//!   two-word queries. Goal p95 ≤ 150 ms. Baseline: the seeds' search (to_tsvector of the
//!   content at query time with its expression index, ranked, tenant-filtered by a join).

mod common;

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use common::{ServiceProcess, percentile};
use radiant_bus::subjects::{TIME_MACHINE, tm as subjects};
use radiant_bus::{BusClient, RequestContext};
use radiant_db::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use radiant_proto::tm;
use radiant_testkit::{TestDatabase, TestNamespace};
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[derive(Parser)]
struct Arguments {
    /// Messages of the long chat.
    #[arg(long, default_value_t = 10_000)]
    long_chat: usize,
    /// Measured saves, half in the long chat and half in short ones.
    #[arg(long, default_value_t = 1_000)]
    saves: usize,
    /// Baseline saves at each size.
    #[arg(long, default_value_t = 100)]
    baseline_saves: usize,
    /// First-page views measured per snapshot (head and mid-history).
    #[arg(long, default_value_t = 200)]
    views: usize,
    /// Whole-chat reads measured per snapshot.
    #[arg(long, default_value_t = 20)]
    full_views: usize,
    /// Full restores (half away from the long chat's state, half back).
    #[arg(long, default_value_t = 20)]
    full_restores: usize,
    /// Baseline full restores.
    #[arg(long, default_value_t = 3)]
    baseline_restores: usize,
    /// Single-message restores.
    #[arg(long, default_value_t = 200)]
    single_restores: usize,
    /// Message versions bulk-loaded for search.
    #[arg(long, default_value_t = 1_000_000)]
    search_versions: usize,
    /// Searches measured per way.
    #[arg(long, default_value_t = 300)]
    searches: usize,
}

struct Figures {
    p50: f64,
    p95: f64,
    p99: f64,
}

fn figures(mut milliseconds: Vec<f64>) -> Figures {
    milliseconds.sort_by(f64::total_cmp);
    Figures {
        p50: percentile(&milliseconds, 0.50),
        p95: percentile(&milliseconds, 0.95),
        p99: percentile(&milliseconds, 0.99),
    }
}

fn print(label: &str, figures: &Figures) {
    println!(
        "  {label:<52} p50 {:>8.3} ms  p95 {:>8.3} ms  p99 {:>8.3} ms",
        figures.p50, figures.p95, figures.p99
    );
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

struct Client {
    bus: BusClient,
    context: RequestContext,
}

impl Client {
    async fn call<Request: prost::Message, Response: prost::Message + Default>(
        &self,
        endpoint: &str,
        request: &Request,
    ) -> anyhow::Result<Response> {
        let context = self
            .context
            .clone()
            .with_deadline_in(Duration::from_secs(120));
        self.bus
            .call(&TIME_MACHINE, endpoint, &context, request)
            .await
            .map_err(|error| anyhow::anyhow!("{endpoint}: {}", error.to_service_error()))
    }

    async fn create_chat(&self, title: &str) -> anyhow::Result<String> {
        let chat: tm::Chat = self
            .call(
                subjects::CHATS_CREATE,
                &tm::CreateChatRequest {
                    title: title.to_string(),
                    ..Default::default()
                },
            )
            .await?;
        Ok(chat.chat_id)
    }

    async fn save(&self, chat_id: &str, index: usize) -> anyhow::Result<tm::SavedMessage> {
        let role = if index.is_multiple_of(2) {
            "user"
        } else {
            "assistant"
        };
        self.call(
            subjects::MESSAGES_SAVE,
            &tm::SaveMessageRequest {
                chat_id: chat_id.to_string(),
                role: role.to_string(),
                content: sentence(index, 30),
                metadata: Some(tm::MessageMetadata {
                    total_tokens: 40,
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
    }
}

/// Pseudo-words from syllables; word `i` is frequent when `i` is small.
fn word(index: usize) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "zu", "dar", "fen", "gor", "hil",
        "jas", "quo",
    ];
    let mut word = String::new();
    let mut rest = index + 17;
    while rest > 0 {
        word.push_str(SYLLABLES[rest % 16]);
        rest /= 16;
    }
    word
}

fn sentence(seed: usize, words: usize) -> String {
    (0..words)
        .map(|position| {
            // a cheap deterministic spread with a heavy head
            let mix = (seed.wrapping_mul(2654435761) ^ position.wrapping_mul(40503)) % 10_000;
            word((mix * mix) / 20_000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn statement(sql: &str, values: impl IntoIterator<Item = Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// The seeds' save: the latest snapshot, the message, then a recount of the chat and a
/// SHA-256 over every current message, then the snapshot; in one transaction.
async fn baseline_save(
    database: &DatabaseConnection,
    tenant_id: Uuid,
    chat_id: Uuid,
    index: usize,
) -> anyhow::Result<()> {
    let transaction = radiant_db::begin_tenant(database, tenant_id).await?;
    let latest = transaction
        .query_one_raw(statement(
            "SELECT id, version FROM snapshots WHERE chat_id = $1 ORDER BY version DESC LIMIT 1",
            [chat_id.into()],
        ))
        .await?
        .context("a latest snapshot")?;
    let previous_id: Uuid = latest.try_get("", "id")?;
    let version: i32 = latest.try_get::<i32>("", "version")? + 1;
    let head = transaction
        .query_one_raw(statement(
            "SELECT next_position FROM chats WHERE id = $1 FOR UPDATE",
            [chat_id.into()],
        ))
        .await?
        .context("the chat")?;
    let position: i64 = head.try_get("", "next_position")?;
    let message_id = Uuid::now_v7();
    let content = sentence(index, 30);
    let now = chrono::Utc::now();
    transaction
        .execute_raw(statement(
            "WITH message AS (INSERT INTO messages (id, tenant_id, chat_id, position, role, created_by, created_at) \
               VALUES ($1, $2, $3, $4, 'user', 'baseline', $6)) \
             INSERT INTO message_versions (id, tenant_id, chat_id, message_id, version, position, role, content, tokens, \
               content_sha256, valid_from, created_at, message_created_at) \
             VALUES ($7, $2, $3, $1, 1, $4, 'user', $5, 40, repeat('0', 64), $8, $6, $6)",
            [
                message_id.into(),
                tenant_id.into(),
                chat_id.into(),
                position.into(),
                content.into(),
                now.into(),
                Uuid::now_v7().into(),
                version.into(),
            ],
        ))
        .await?;
    // the recount
    let counts = transaction
        .query_one_raw(statement(
            "SELECT (SELECT count(DISTINCT message_id) FROM message_versions WHERE chat_id = $1 AND valid_to = 2147483647) AS messages, \
               (SELECT count(*) FROM file_versions WHERE chat_id = $1 AND valid_to = 2147483647) AS files, \
               (SELECT coalesce(sum(tokens), 0)::bigint FROM message_versions WHERE chat_id = $1 AND valid_to = 2147483647) AS tokens",
            [chat_id.into()],
        ))
        .await?
        .context("counts")?;
    let messages: i64 = counts.try_get("", "messages")?;
    let files: i64 = counts.try_get("", "files")?;
    let tokens: i64 = counts.try_get("", "tokens")?;
    // the full checksum
    let rows = transaction
        .query_all_raw(statement(
            "SELECT message_id, content, role, version FROM message_versions \
             WHERE chat_id = $1 AND valid_to = 2147483647 ORDER BY position",
            [chat_id.into()],
        ))
        .await?;
    let mut hasher = Sha256::new();
    for row in &rows {
        let message_id: Uuid = row.try_get("", "message_id")?;
        let content: String = row.try_get("", "content")?;
        let role: String = row.try_get("", "role")?;
        let version: i32 = row.try_get("", "version")?;
        hasher.update(format!("{message_id}:{content}:{role}:{version}|"));
    }
    let checksum = hex::encode(hasher.finalize());
    let snapshot_id = Uuid::now_v7();
    transaction
        .execute_raw(statement(
            "WITH snapshot AS (INSERT INTO snapshots (id, tenant_id, chat_id, version, trigger, title, message_count, \
               file_count, total_tokens, media_bytes, previous_snapshot_id, checksum, actor, created_at) \
               VALUES ($1, $2, $3, $4, 'message_sent', '', $5, $6, $7, 0, $8, $9, 'baseline', $10)) \
             UPDATE chats SET head_version = $4, head_snapshot_id = $1, next_position = next_position + 1, \
               message_count = $5 WHERE id = $3",
            [
                snapshot_id.into(),
                tenant_id.into(),
                chat_id.into(),
                version.into(),
                messages.into(),
                files.into(),
                tokens.into(),
                previous_id.into(),
                checksum.into(),
                now.into(),
            ],
        ))
        .await?;
    transaction.commit().await?;
    Ok(())
}

/// The seeds' as-of query: the snapshots up to V, then the newest version of each message
/// written by one of them.
const BASELINE_AS_OF_SQL: &str = "WITH snapshot_chain AS ( \
      SELECT version FROM snapshots WHERE chat_id = $1 AND version <= $2) \
    SELECT DISTINCT ON (v.message_id) v.* FROM message_versions v \
    WHERE v.chat_id = $1 AND v.valid_from IN (SELECT version FROM snapshot_chain) \
    ORDER BY v.message_id, v.version DESC";

/// The seeds' full restore: close every current version, then one INSERT per message of the
/// target state.
async fn baseline_restore(
    database: &DatabaseConnection,
    tenant_id: Uuid,
    chat_id: Uuid,
    target_version: i32,
) -> anyhow::Result<usize> {
    let transaction = radiant_db::begin_tenant(database, tenant_id).await?;
    let head = transaction
        .query_one_raw(statement(
            "SELECT head_version FROM chats WHERE id = $1 FOR UPDATE",
            [chat_id.into()],
        ))
        .await?
        .context("the chat")?;
    let new_version: i32 = head.try_get::<i32>("", "head_version")? + 1;
    let target = transaction
        .query_all_raw(statement(
            "SELECT message_id, position, role, content, tokens, message_created_at FROM message_versions \
             WHERE chat_id = $1 AND valid_from <= $2 AND valid_to > $2",
            [chat_id.into(), target_version.into()],
        ))
        .await?;
    transaction
        .execute_raw(statement(
            "UPDATE message_versions SET valid_to = $2 WHERE chat_id = $1 AND valid_to = 2147483647",
            [chat_id.into(), new_version.into()],
        ))
        .await?;
    for row in &target {
        let message_id: Uuid = row.try_get("", "message_id")?;
        let position: i64 = row.try_get("", "position")?;
        let role: String = row.try_get("", "role")?;
        let content: String = row.try_get("", "content")?;
        let tokens: i64 = row.try_get("", "tokens")?;
        let message_created_at: chrono::DateTime<chrono::Utc> =
            row.try_get("", "message_created_at")?;
        transaction
            .execute_raw(statement(
                "INSERT INTO message_versions (id, tenant_id, chat_id, message_id, version, position, role, content, tokens, \
                   content_sha256, valid_from, created_at, message_created_at) \
                 VALUES (gen_random_uuid(), $1, $2, $3, \
                   (SELECT coalesce(max(version), 0) + 1 FROM message_versions WHERE message_id = $3), $4, $5, $6, $7, \
                   repeat('0', 64), $8, now(), $9)",
                [
                    tenant_id.into(),
                    chat_id.into(),
                    message_id.into(),
                    position.into(),
                    role.into(),
                    content.into(),
                    tokens.into(),
                    new_version.into(),
                    message_created_at.into(),
                ],
            ))
            .await?;
    }
    transaction
        .execute_raw(statement(
            "UPDATE chats SET head_version = $2 WHERE id = $1",
            [chat_id.into(), new_version.into()],
        ))
        .await?;
    // the seeds' restore did not create a snapshot row here; rolled back so the baseline
    // chat stays readable for the next round
    transaction.rollback().await?;
    Ok(target.len())
}

async fn read_whole_chat(
    client: &Client,
    chat_id: &str,
    snapshot_id: &str,
) -> anyhow::Result<usize> {
    let mut token = String::new();
    let mut count = 0;
    loop {
        let page: tm::ChatAtSnapshot = client
            .call(
                subjects::SNAPSHOTS_VIEW,
                &tm::GetChatAtSnapshotRequest {
                    chat_id: chat_id.to_string(),
                    snapshot_id: snapshot_id.to_string(),
                    page_size: 10_000,
                    page_token: token,
                },
            )
            .await?;
        count += page.messages.len();
        if page.next_page_token.is_empty() {
            return Ok(count);
        }
        token = page.next_page_token;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let namespace = TestNamespace::new().await;
    let database = TestDatabase::create().await;
    let _service = ServiceProcess(
        common::service_command(
            "time-machine",
            "RADIANT_TIME_MACHINE",
            &database.config,
            &namespace.nats_config(),
        )?
        .env("RADIANT_TIME_MACHINE__EXPORTS__ENABLED", "false")
        .spawn()
        .context("starting the time machine")?,
    );
    let bus = namespace
        .bus_client()
        .with_timeout(Duration::from_secs(120));
    common::wait_until_ready(&bus, &TIME_MACHINE, &RequestContext::internal()).await?;
    let tenant_id = Uuid::now_v7();
    let client = Client {
        bus: bus.clone(),
        context: RequestContext::for_tenant(tenant_id, "bench-user"),
    };
    let service_role = radiant_db::connect(&database.config).await?;

    // ---- fill ----
    let filling = Instant::now();
    let long_chat = client.create_chat("long chat").await?;
    let mut first_snapshot = String::new();
    let mut mid_snapshot = String::new();
    for index in 0..arguments.long_chat {
        let saved = client.save(&long_chat, index).await?;
        let snapshot = saved.snapshot.context("a snapshot")?;
        if index == 0 {
            first_snapshot = snapshot.snapshot_id.clone();
        }
        if index == arguments.long_chat / 2 {
            mid_snapshot = snapshot.snapshot_id.clone();
        }
    }
    let short_chat_count = (arguments.saves / 2).max(1);
    let mut short_chats = Vec::with_capacity(short_chat_count);
    for chat in 0..short_chat_count {
        let chat_id = client.create_chat(&format!("short chat {chat}")).await?;
        for index in 0..10 {
            client.save(&chat_id, index).await?;
        }
        short_chats.push(chat_id);
    }
    let baseline_long = client.create_chat("baseline long chat").await?;
    for index in 0..arguments.long_chat {
        client.save(&baseline_long, index).await?;
    }
    let baseline_short = client.create_chat("baseline short chat").await?;
    for index in 0..10 {
        client.save(&baseline_short, index).await?;
    }
    // this machine's PostgreSQL runs without autovacuum: statistics as it would keep them
    let admin = database.admin_connection().await;
    admin
        .execute_unprepared("ANALYZE chats; ANALYZE messages; ANALYZE message_versions; ANALYZE message_search; ANALYZE snapshots")
        .await?;
    println!(
        "filled: a chat of {} messages, {} chats of 10, and the baseline's two, through the service in {:.1} s",
        arguments.long_chat,
        short_chat_count,
        filling.elapsed().as_secs_f64()
    );

    // ---- save ----
    let mut save_short = Vec::with_capacity(arguments.saves / 2);
    let mut save_long = Vec::with_capacity(arguments.saves / 2);
    for index in 0..arguments.saves / 2 {
        let started = Instant::now();
        client.save(&long_chat, arguments.long_chat + index).await?;
        save_long.push(elapsed_ms(started));
        let started = Instant::now();
        client
            .save(&short_chats[index % short_chats.len()], 10 + index)
            .await?;
        save_short.push(elapsed_ms(started));
    }
    let baseline_long_id = Uuid::parse_str(&baseline_long)?;
    let baseline_short_id = Uuid::parse_str(&baseline_short)?;
    let mut baseline_save_short = Vec::with_capacity(arguments.baseline_saves);
    let mut baseline_save_long = Vec::with_capacity(arguments.baseline_saves);
    for index in 0..arguments.baseline_saves {
        let started = Instant::now();
        baseline_save(&service_role, tenant_id, baseline_long_id, index).await?;
        baseline_save_long.push(elapsed_ms(started));
        let started = Instant::now();
        baseline_save(&service_role, tenant_id, baseline_short_id, index).await?;
        baseline_save_short.push(elapsed_ms(started));
    }
    let save_short = figures(save_short);
    let save_long = figures(save_long);
    let baseline_save_short = figures(baseline_save_short);
    let baseline_save_long = figures(baseline_save_long);
    let save_ratio = save_long.p50 / save_short.p50;
    let baseline_ratio = baseline_save_long.p50 / baseline_save_short.p50;
    println!(
        "message save with its snapshot ({} each way, interleaved):",
        arguments.saves / 2
    );
    print("in a chat of ~10 messages, over NATS", &save_short);
    print(
        &format!("in a chat of {} messages, over NATS", arguments.long_chat),
        &save_long,
    );
    println!(
        "  long / short (p50): {save_ratio:.3}  (p99: {:.3})",
        save_long.p99 / save_short.p99
    );
    print(
        "baseline (recount + full checksum) at ~10, in process",
        &baseline_save_short,
    );
    print(
        &format!("baseline at {}, in process", arguments.long_chat),
        &baseline_save_long,
    );
    println!("  baseline long / short (p50): {baseline_ratio:.1}");

    // ---- view ----
    let mut first_page = Vec::with_capacity(arguments.views * 2);
    for index in 0..arguments.views * 2 {
        let snapshot_id = if index.is_multiple_of(2) {
            ""
        } else {
            mid_snapshot.as_str()
        };
        let started = Instant::now();
        let page: tm::ChatAtSnapshot = client
            .call(
                subjects::SNAPSHOTS_VIEW,
                &tm::GetChatAtSnapshotRequest {
                    chat_id: long_chat.clone(),
                    snapshot_id: snapshot_id.to_string(),
                    page_size: 50,
                    page_token: String::new(),
                },
            )
            .await?;
        first_page.push(elapsed_ms(started));
        anyhow::ensure!(page.messages.len() == 50, "a first page of 50");
    }
    let mut whole = Vec::with_capacity(arguments.full_views * 2);
    let mut whole_messages = 0;
    for index in 0..arguments.full_views * 2 {
        let snapshot_id = if index.is_multiple_of(2) {
            ""
        } else {
            mid_snapshot.as_str()
        };
        let started = Instant::now();
        let count = read_whole_chat(&client, &long_chat, snapshot_id).await?;
        whole.push(elapsed_ms(started));
        if index == 0 {
            whole_messages = count;
        }
    }
    let mid_version = arguments.long_chat as i32 / 2 + 1;
    let mut baseline_view = Vec::with_capacity(arguments.full_views);
    let long_chat_id = Uuid::parse_str(&long_chat)?;
    for _ in 0..arguments.full_views {
        let transaction = radiant_db::begin_tenant(&service_role, tenant_id).await?;
        let started = Instant::now();
        let rows = transaction
            .query_all_raw(statement(
                BASELINE_AS_OF_SQL,
                [long_chat_id.into(), mid_version.into()],
            ))
            .await?;
        baseline_view.push(elapsed_ms(started));
        std::hint::black_box(rows.len());
        transaction.commit().await?;
    }
    let first_page = figures(first_page);
    let whole = figures(whole);
    let baseline_view = figures(baseline_view);
    println!(
        "as-of view of the {}-message chat (head and mid-history, alternating):",
        arguments.long_chat
    );
    print("first page of 50, over NATS", &first_page);
    print(
        &format!("whole chat ({whole_messages} messages at the head), paged, over NATS"),
        &whole,
    );
    print(
        "baseline: the seeds' as-of query (mid-history), in process",
        &baseline_view,
    );

    // ---- restore ----
    let timeline: tm::Timeline = client
        .call(
            subjects::SNAPSHOTS_TIMELINE,
            &tm::GetTimelineRequest {
                chat_id: long_chat.clone(),
                page_size: 1,
                ..Default::default()
            },
        )
        .await?;
    let mut head_snapshot = timeline
        .snapshots
        .first()
        .context("a head snapshot")?
        .snapshot_id
        .clone();
    let mut full_restores = Vec::with_capacity(arguments.full_restores);
    let mut moved = 0u64;
    for round in 0..arguments.full_restores {
        // away to the first snapshot (every message set aside but one), then back (every one copied)
        let target = if round.is_multiple_of(2) {
            first_snapshot.clone()
        } else {
            head_snapshot.clone()
        };
        let started = Instant::now();
        let result: tm::RestoreResult = client
            .call(
                subjects::HISTORY_RESTORE,
                &tm::RestoreRequest {
                    chat_id: long_chat.clone(),
                    snapshot_id: target,
                    ..Default::default()
                },
            )
            .await?;
        full_restores.push(elapsed_ms(started));
        moved = moved.max(u64::from(
            result.messages_restored + result.messages_removed,
        ));
        if round.is_multiple_of(2) {
            head_snapshot = result.previous_snapshot_id.clone();
        }
    }
    let chat_now: tm::ChatWithMessages = client
        .call(
            subjects::CHATS_GET,
            &tm::GetChatRequest {
                chat_id: long_chat.clone(),
                message_limit: 1,
                ..Default::default()
            },
        )
        .await?;
    let messages_now = chat_now.total;
    // single message: one edited message restored to its version before the edit and back
    let page: tm::ChatAtSnapshot = client
        .call(
            subjects::SNAPSHOTS_VIEW,
            &tm::GetChatAtSnapshotRequest {
                chat_id: long_chat.clone(),
                page_size: 1,
                ..Default::default()
            },
        )
        .await?;
    let message_id = page
        .messages
        .first()
        .context("a message")?
        .message_id
        .clone();
    let before_edit = page.snapshot.context("the head")?.snapshot_id;
    let edited: tm::SavedMessage = client
        .call(
            subjects::MESSAGES_EDIT,
            &tm::EditMessageRequest {
                chat_id: long_chat.clone(),
                message_id: message_id.clone(),
                content: "an edited first message".to_string(),
                ..Default::default()
            },
        )
        .await?;
    let after_edit = edited.snapshot.context("a snapshot")?.snapshot_id;
    let mut single_restores = Vec::with_capacity(arguments.single_restores);
    for round in 0..arguments.single_restores {
        let target = if round.is_multiple_of(2) {
            &before_edit
        } else {
            &after_edit
        };
        let started = Instant::now();
        let result: tm::RestoreResult = client
            .call(
                subjects::HISTORY_RESTORE,
                &tm::RestoreRequest {
                    chat_id: long_chat.clone(),
                    snapshot_id: target.clone(),
                    scope: "single_message".to_string(),
                    message_ids: vec![message_id.clone()],
                    ..Default::default()
                },
            )
            .await?;
        single_restores.push(elapsed_ms(started));
        anyhow::ensure!(result.messages_restored == 1, "one message restored");
    }
    let mut baseline_restores = Vec::with_capacity(arguments.baseline_restores);
    let mut baseline_moved = 0;
    for _ in 0..arguments.baseline_restores {
        let started = Instant::now();
        baseline_moved = baseline_restore(
            &service_role,
            tenant_id,
            baseline_long_id,
            (arguments.long_chat + arguments.baseline_saves) as i32,
        )
        .await?;
        baseline_restores.push(elapsed_ms(started));
    }
    let full_restores = figures(full_restores);
    let single_restores = figures(single_restores);
    let baseline_restores = figures(baseline_restores);
    println!(
        "restore in the {}-message chat ({} messages now, up to {moved} moved per full restore):",
        arguments.long_chat, messages_now
    );
    print("full restore, over NATS", &full_restores);
    print("single message, over NATS", &single_restores);
    print(
        &format!("baseline: the seeds' full restore ({baseline_moved} INSERTs), in process"),
        &baseline_restores,
    );

    // ---- search ----
    let loading = Instant::now();
    let (search_tenant, tenants) = bulk_load(&admin, arguments.search_versions).await?;
    println!(
        "search: {} message versions bulk-loaded in {} tenants in {:.1} s (the largest holds half)",
        arguments.search_versions,
        tenants,
        loading.elapsed().as_secs_f64()
    );
    // vocabulary rank r (1-based, r > 100 searchable) is word(r - 1)
    let rank = |r: usize| word(r - 1);
    let queries = [
        rank(101),
        rank(150),
        rank(1_000),
        rank(12_000),
        format!("{} {}", rank(101), rank(130)),
        format!("{} {}", rank(300), rank(2_000)),
        format!("\"{} {}\"", rank(101), rank(102)),
        format!("{} or {}", rank(110), rank(500)),
    ];
    let searcher = Client {
        bus: bus.clone(),
        context: RequestContext::for_tenant(search_tenant, "bench-admin").with_roles(&["admin"]),
    };
    let mut search_times = Vec::with_capacity(arguments.searches);
    let mut hits = 0usize;
    for index in 0..arguments.searches {
        let started = Instant::now();
        let found: tm::SearchResponse = searcher
            .call(
                subjects::HISTORY_SEARCH,
                &tm::SearchRequest {
                    query: queries[index % queries.len()].clone(),
                    r#type: "messages".to_string(),
                    limit: 20,
                    ..Default::default()
                },
            )
            .await?;
        search_times.push(elapsed_ms(started));
        hits += found.messages.len();
    }
    admin
        .execute_unprepared(
            "CREATE INDEX IF NOT EXISTS seed_search_idx ON message_versions USING gin (to_tsvector('english', content))",
        )
        .await?;
    // the baseline ranks every match by re-parsing its content: a tenth of the queries, every
    // shape at least once
    let baseline_searches = (arguments.searches / 10).max(queries.len());
    let mut baseline_search = Vec::with_capacity(baseline_searches);
    for index in 0..baseline_searches {
        let query = queries[index % queries.len()]
            .replace(['"'], "")
            .replace(" or ", " ");
        let transaction = radiant_db::begin_tenant(&service_role, search_tenant).await?;
        let started = Instant::now();
        let rows = transaction
            .query_all_raw(statement(
                "SELECT mv.id, ts_rank(to_tsvector('english', mv.content), plainto_tsquery('english', $1)) AS rank \
                 FROM message_versions mv JOIN chats c ON c.id = mv.chat_id \
                 WHERE c.tenant_id = $2 AND to_tsvector('english', mv.content) @@ plainto_tsquery('english', $1) \
                 ORDER BY rank DESC LIMIT 20",
                [query.into(), search_tenant.into()],
            ))
            .await?;
        baseline_search.push(elapsed_ms(started));
        std::hint::black_box(rows.len());
        transaction.commit().await?;
    }
    let search_figures = figures(search_times);
    let baseline_search = figures(baseline_search);
    println!(
        "search, top 20 in the largest tenant ({} queries over {} shapes, {:.1} hits on average):",
        arguments.searches,
        queries.len(),
        hits as f64 / arguments.searches as f64
    );
    print(
        "one GIN index, the tenant a lexeme, over NATS",
        &search_figures,
    );
    print("baseline: the seeds' search, in process", &baseline_search);

    let goals = [
        save_short.p50 <= 5.0 && save_long.p50 <= 5.0,
        save_short.p99 <= 25.0 && save_long.p99 <= 25.0,
        save_ratio <= 1.2,
        first_page.p99 <= 30.0,
        whole.p99 <= 150.0,
        full_restores.p99 <= 500.0,
        single_restores.p99 <= 100.0,
        search_figures.p95 <= 150.0,
    ];
    println!(
        "goals: save p50 ≤ 5 ms {}, save p99 ≤ 25 ms {}, 10k/10 ≤ 1.2× {}, first page p99 ≤ 30 ms {}, \
         whole chat p99 ≤ 150 ms {}, full restore p99 ≤ 500 ms {}, single restore p99 ≤ 100 ms {}, search p95 ≤ 150 ms {}",
        goals[0], goals[1], goals[2], goals[3], goals[4], goals[5], goals[6], goals[7]
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "time-machine",
            "long_chat_messages": arguments.long_chat,
            "save_p50_ms_short": save_short.p50,
            "save_p99_ms_short": save_short.p99,
            "save_p50_ms_long": save_long.p50,
            "save_p99_ms_long": save_long.p99,
            "save_long_over_short_p50": save_ratio,
            "baseline_save_p50_ms_short": baseline_save_short.p50,
            "baseline_save_p50_ms_long": baseline_save_long.p50,
            "baseline_save_long_over_short_p50": baseline_ratio,
            "view_first_page_p99_ms": first_page.p99,
            "view_whole_chat_p99_ms": whole.p99,
            "baseline_view_p99_ms": baseline_view.p99,
            "restore_full_p99_ms": full_restores.p99,
            "restore_full_messages_moved": moved,
            "restore_single_p99_ms": single_restores.p99,
            "baseline_restore_full_p50_ms": baseline_restores.p50,
            "search_versions": arguments.search_versions,
            "search_p95_ms": search_figures.p95,
            "baseline_search_p95_ms": baseline_search.p95,
            "goals_met": goals.iter().all(|goal| *goal),
        })
    );
    let _ = admin.close().await;
    let _ = service_role.close().await;
    Ok(())
}

/// Loads `versions` message versions (and their messages, chats and snapshots) straight into
/// the tables, as the superuser: half in one tenant (the one searched), the rest spread over
/// five others; 100 chats per tenant. Text: about 21 pseudo-words per message drawn from a
/// Zipf distribution over 20,000 words whose 100 most frequent are left out (as stopwords are
/// by the `english` configuration), so the most common searchable word is in about 2 % of the
/// messages and most words are rare.
/// Answers the searched tenant and the number of tenants.
async fn bulk_load(admin: &DatabaseConnection, versions: usize) -> anyhow::Result<(Uuid, usize)> {
    let vocabulary: Vec<String> = (0..20_000).map(word).collect();
    let searched = Uuid::now_v7();
    let tenants: Vec<(Uuid, usize)> = std::iter::once((searched, versions / 2))
        .chain((0..5).map(|_| (Uuid::now_v7(), versions / 10)))
        .collect();
    admin
        .execute_unprepared("DROP INDEX message_search_idx; SET maintenance_work_mem = '512MB'")
        .await?;
    for (tenant_id, count) in &tenants {
        let chats = 100usize;
        let per_chat = (count / chats).max(1) as i64;
        admin
            .execute_raw(statement(
                "INSERT INTO chats (id, tenant_id, user_id, title, head_checksum, head_version, next_position, message_count) \
                 SELECT gen_random_uuid(), $1, 'user-' || (c % 10), 'chat ' || c, repeat('0', 64), $2, $2 + 1, $2 \
                 FROM generate_series(1, $3) AS c",
                [(*tenant_id).into(), (per_chat as i32).into(), (chats as i64).into()],
            ))
            .await?;
        admin
            .execute_raw(statement(
                "WITH chat AS (SELECT id FROM chats WHERE tenant_id = $1), \
                 generated AS ( \
                   SELECT chat.id AS chat_id, p AS position, gen_random_uuid() AS message_id, gen_random_uuid() AS version_id, \
                     (SELECT string_agg(($3::text[])[x.r], ' ') \
                        FROM generate_series(1, 40) AS w(i), \
                          LATERAL (SELECT floor(exp(random() * ln(20000)))::int + 0 * (p + w.i) AS r) AS x \
                        WHERE x.r > 100) AS content, \
                     now() - make_interval(mins => ($2 - p)::int) AS at \
                   FROM chat, generate_series(1, $2) AS p \
                 ), m AS ( \
                   INSERT INTO messages (id, tenant_id, chat_id, position, role, created_by, created_at) \
                   SELECT message_id, $1, chat_id, position, CASE WHEN position % 2 = 0 THEN 'assistant' ELSE 'user' END, 'bulk', at \
                   FROM generated \
                 ), s AS ( \
                   INSERT INTO snapshots (id, tenant_id, chat_id, version, trigger, trigger_message_id, title, message_count, \
                     file_count, total_tokens, media_bytes, checksum, actor, created_at) \
                   SELECT gen_random_uuid(), $1, chat_id, position, 'message_sent', message_id, '', position, 0, 0, 0, \
                     repeat('0', 64), 'bulk', at FROM generated \
                 ), searchable AS ( \
                   INSERT INTO message_search (version_id, tenant_id, chat_id, message_id, content_sha256, role, created_at, search) \
                   SELECT version_id, $1, chat_id, message_id, repeat('0', 64), \
                     CASE WHEN position % 2 = 0 THEN 'assistant' ELSE 'user' END, at, \
                     to_tsvector('english', content) || array_to_tsvector(ARRAY['t' || replace($1::uuid::text, '-', '')]) \
                   FROM generated \
                 ) \
                 INSERT INTO message_versions (id, tenant_id, chat_id, message_id, version, position, role, content, tokens, \
                   content_sha256, valid_from, created_at, message_created_at) \
                 SELECT version_id, $1, chat_id, message_id, 1, position, \
                   CASE WHEN position % 2 = 0 THEN 'assistant' ELSE 'user' END, content, 30, repeat('0', 64), position, at, at \
                 FROM generated",
                [(*tenant_id).into(), per_chat.into(), vocabulary.clone().into()],
            ))
            .await?;
    }
    admin
        .execute_unprepared(
            "CREATE INDEX message_search_idx ON message_search USING gin (search); \
             ANALYZE messages; ANALYZE message_versions; ANALYZE message_search; ANALYZE snapshots; ANALYZE chats",
        )
        .await?;
    Ok((searched, tenants.len()))
}
