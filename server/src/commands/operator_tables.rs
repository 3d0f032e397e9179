//! Tables for the operational answers: sessions, jobs, webhooks, deliveries, health, backups.

use tack_protocol::{Job, ResponseBody, WebhookStatus};

use tack_tui::text::bytes;

use super::output::{Output, date, table};

fn job_rows(jobs: &[Job]) -> Vec<Vec<String>> {
    jobs.iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                j.kind.name().to_string(),
                j.state.to_string(),
                j.attempts.to_string(),
                date(j.run_at),
                j.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn hook_rows(hooks: &[WebhookStatus]) -> Vec<Vec<String>> {
    hooks
        .iter()
        .map(|h| {
            vec![
                h.hook.id.to_string(),
                h.hook.project_key.clone(),
                h.hook.url.clone(),
                match (h.hook.events.is_empty(), h.hook.query.is_empty()) {
                    (true, true) => "all".into(),
                    (false, true) => h.hook.events.join(","),
                    (true, false) => format!("all where {}", h.hook.query),
                    (false, false) => format!("{} where {}", h.hook.events.join(","), h.hook.query),
                },
                format!("{} ({} failures)", h.breaker, h.consecutive_failures),
            ]
        })
        .collect()
}

/// The snippet with its matches in [brackets], for a plain terminal.
fn marked(snippet: &str, highlights: &[(u32, u32)]) -> String {
    let mut out = String::new();
    for (i, c) in snippet.chars().enumerate() {
        let i = i as u32;
        if highlights.iter().any(|(s, _)| *s == i) {
            out.push('[');
        }
        out.push(c);
        if highlights.iter().any(|(_, e)| *e == i + 1) {
            out.push(']');
        }
    }
    out
}

pub fn print(o: &mut Output, body: ResponseBody) {
    match body {
        ResponseBody::UserSettings { user, settings } => o.say(format!(
            "@{}: email {}, email notifications {}",
            user.handle,
            user.email.as_deref().unwrap_or("(none)"),
            settings.email_notifications
        )),
        ResponseBody::Sessions(sessions) => table(
            o,
            &["ID", "KIND", "WHO", "FROM", "SINCE", "IN", "OUT"],
            sessions
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.kind.to_string(),
                        s.who.clone(),
                        s.peer.clone(),
                        date(s.since),
                        bytes(s.bytes_in),
                        bytes(s.bytes_out),
                    ]
                })
                .collect(),
        ),
        ResponseBody::Jobs(jobs) => table(
            o,
            &["ID", "KIND", "STATE", "ATTEMPTS", "RUN AT", "LAST ERROR"],
            job_rows(&jobs),
        ),
        ResponseBody::Job(job) => table(
            o,
            &["ID", "KIND", "STATE", "ATTEMPTS", "RUN AT", "LAST ERROR"],
            job_rows(&[job]),
        ),
        ResponseBody::Webhook(hook) => table(
            o,
            &["ID", "PROJECT", "URL", "EVENTS", "BREAKER"],
            hook_rows(&[hook]),
        ),
        ResponseBody::Webhooks(hooks) => table(
            o,
            &["ID", "PROJECT", "URL", "EVENTS", "BREAKER"],
            hook_rows(&hooks),
        ),
        ResponseBody::Deliveries(deliveries) => table(
            o,
            &[
                "ID", "WEBHOOK", "WHEN", "EVENT", "SEQ", "TRY", "STATUS", "MS", "ERROR",
            ],
            deliveries
                .iter()
                .map(|d| {
                    vec![
                        d.id.to_string(),
                        d.hook.to_string(),
                        date(d.at),
                        d.event.clone(),
                        d.seq.to_string(),
                        d.attempt.to_string(),
                        d.status.map_or("-".into(), |s| s.to_string()),
                        d.duration_ms.to_string(),
                        d.error.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        ),
        ResponseBody::Health(h) => {
            o.say(format!("tack {}, up {} s", h.version, h.uptime_secs));
            o.say(format!("store      {}", bytes(h.store_bytes)));
            o.say(format!(
                "sessions   {} ssh, {} protocol connections",
                h.ssh_sessions, h.connections
            ));
            o.say(format!(
                "requests   {} ({} errors, {} rate-limited)",
                h.requests_total, h.errors_total, h.rate_limited_total
            ));
            o.say(format!(
                "jobs       {} queued, {} running, {} failed",
                h.jobs_queued, h.jobs_running, h.jobs_failed
            ));
        }
        ResponseBody::Backups(b) => {
            o.say(format!(
                "{} — schedule {}, keeping {}",
                b.dir,
                b.schedule.as_deref().unwrap_or("(none)"),
                b.retention
            ));
            table(
                o,
                &["NAME", "SIZE", "WRITTEN"],
                b.files
                    .iter()
                    .map(|f| vec![f.name.clone(), bytes(f.bytes), date(f.modified)])
                    .collect(),
            );
        }
        ResponseBody::SearchHits(hits) => table(
            o,
            &["ISSUE", "TITLE", "WHERE", "MATCH"],
            hits.iter()
                .map(|h| {
                    vec![
                        h.issue.key.clone(),
                        h.issue.title.chars().take(40).collect(),
                        h.field.clone(),
                        marked(&h.snippet, &h.highlights),
                    ]
                })
                .collect(),
        ),
        ResponseBody::Views(views) => table(
            o,
            &["NAME", "PROJECT", "LAYOUT", "SHARED", "QUERY"],
            views
                .iter()
                .map(|v| {
                    vec![
                        v.name.clone(),
                        v.project_key.clone().unwrap_or_else(|| "(all)".into()),
                        v.layout.to_string(),
                        if v.shared { "yes" } else { "" }.into(),
                        v.query.clone(),
                    ]
                })
                .collect(),
        ),
        ResponseBody::Imported(report) => o.say(format!(
            "imported: {} created, {} updated",
            report.created, report.updated
        )),
        ResponseBody::Exported(page) => o.say(format!("{} issues", page.len())),
        ResponseBody::Insights(i) => {
            o.say(format!("{}: created and closed per week", i.project));
            table(
                o,
                &["WEEK OF", "CREATED", "CLOSED"],
                i.weeks
                    .iter()
                    .map(|w| vec![w.week.clone(), w.created.to_string(), w.closed.to_string()])
                    .collect(),
            );
            o.say(format!(
                "cycle time (started → done), median {}",
                i.cycle_time_median_hours
                    .map_or("-".into(), |h| format!("{:.1} days", f64::from(h) / 24.0))
            ));
            let buckets = |o: &mut Output, rows: &[tack_protocol::Bucket], head: &'static str| {
                table(
                    o,
                    &[head, "ISSUES"],
                    rows.iter()
                        .map(|b| vec![b.label.clone(), b.count.to_string()])
                        .collect(),
                )
            };
            buckets(o, &i.cycle_time, "CYCLE TIME");
            buckets(o, &i.work_in_progress, "STATE");
            let (first, last) = (i.burndown.first(), i.burndown.last());
            if let (Some(first), Some(last)) = (first, last) {
                o.say(format!(
                    "burndown{}: {} open on {}, {} open on {}",
                    if i.burndown_query.is_empty() {
                        String::new()
                    } else {
                        format!(" of '{}'", i.burndown_query)
                    },
                    first.open,
                    first.day,
                    last.open,
                    last.day
                ));
            }
        }
        other => o.say(format!("{other:?}")),
    }
}
