//! Scheduled work: backups on a cron schedule with retention, daily digests, due-date
//! reminders and invite expiry. The scheduler only queues jobs, each under a key naming its
//! slot (`backup-<time>`, `digest-<user>-<day>`), so a restart never queues one twice.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Timelike, Utc};
use tack_data::{Follow, Op, StoredInvite, Write};
use tack_protocol::{ActivityKind, Actor, EmailMode, JobKind, NotificationKind};

use super::Ran;
use crate::service::{Service, now_ms};

const BACKUP_PREFIX: &str = "tack-";
const BACKUP_SUFFIX: &str = ".tackbak";

#[derive(Clone)]
pub struct Schedule {
    pub backup_cron: Option<croner::Cron>,
    pub backup_dir: PathBuf,
    pub retention: u32,
    pub digest_hour: u32,
    pub due_soon_hours: u32,
    /// Slots this process has queued already: the store would refuse them anyway, but asking
    /// costs a durable write each time.
    pub queued: std::collections::HashSet<String>,
}

impl Schedule {
    /// Reads the cron expression; an invalid one is a configuration error.
    pub fn parse_cron(text: &str) -> Result<Option<croner::Cron>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<croner::Cron>().map(Some).map_err(|e| {
            format!("backup.schedule '{text}' is not a cron expression ({e}); for every day at 03:00 write \"0 3 * * *\"")
        })
    }

    /// Queues whatever is due now.
    pub async fn tick(&mut self, service: &Service) {
        let now = Utc::now();
        let day = now.format("%Y-%m-%d").to_string();
        let hour = now.format("%Y-%m-%dT%H").to_string();
        let mut slots = Vec::new();
        if let Some(cron) = &self.backup_cron
            && let Ok(slot) = cron.find_previous_occurrence(&now, true)
            && now.signed_duration_since(slot).num_hours() < 24
        {
            let key = format!("backup-{}", slot.format("%Y-%m-%dT%H:%M"));
            slots.push((JobKind::Backup, key));
        }
        slots.push((JobKind::DueReminders, format!("due_reminders-{hour}")));
        slots.push((JobKind::Expire, format!("expire-{hour}")));
        if now.hour() >= self.digest_hour {
            for user in digest_readers(service).await {
                slots.push((JobKind::Digest { user }, format!("digest-{user}-{day}")));
            }
        }
        // The store refuses a slot twice anyway; this only bounds the memory of asking.
        if self.queued.len() > 10_000 {
            self.queued.clear();
        }
        for (kind, key) in slots {
            if !self.queued.contains(&key) && enqueue(service, kind, key.clone()).await {
                self.queued.insert(key);
            }
        }
    }
}

pub async fn digest_readers(service: &Service) -> Vec<u64> {
    let found = service
        .read(|s| {
            let mut readers = Vec::new();
            for user in s.users()? {
                if !user.disabled
                    && s.user_settings(user.id)?.email_notifications == EmailMode::Digest
                {
                    readers.push(user.id);
                }
            }
            Ok(readers)
        })
        .await;
    found.unwrap_or_default()
}

/// Queues a job once per key; false if the store could not take it.
pub async fn enqueue(service: &Service, kind: JobKind, key: String) -> bool {
    let write = Write {
        actor: Actor::Console,
        at: now_ms(),
        op: Op::EnqueueJob {
            kind,
            key: key.clone(),
            run_at: now_ms(),
        },
        changes: Vec::new(),
        follow: Follow::default(),
    };
    match service.store().submit(write).wait().await {
        Ok(_) => {
            service.runtime().jobs.poke();
            true
        }
        Err(err) => {
            tracing::warn!(key, error = %err, "cannot queue a scheduled job");
            false
        }
    }
}

pub(crate) async fn due_reminders(service: &Service, schedule: &Schedule) -> Ran {
    let horizon = Utc::now() + chrono::Duration::hours(i64::from(schedule.due_soon_hours));
    let last_day = horizon.format("%Y-%m-%d").to_string();
    let due = service
        .read(move |s| {
            let mut due = Vec::new();
            for project in s.projects()? {
                for issue in s.issues_of_project(project.id)? {
                    let open = project
                        .state(issue.state)
                        .is_some_and(|st| !st.category.is_closed());
                    if let Some(date) = &issue.due
                        && open
                        && !issue.assignees.is_empty()
                        && date.as_str() <= last_day.as_str()
                    {
                        due.push(issue);
                    }
                }
            }
            Ok(due)
        })
        .await;
    let due = match due {
        Ok(due) => due,
        Err(err) => return Ran::Failed(err.to_string()),
    };
    for issue in due {
        let Some(date) = issue.due.clone() else {
            continue;
        };
        let write = Write {
            actor: Actor::Console,
            at: now_ms(),
            op: Op::Remind {
                issue: issue.id,
                due: date,
            },
            changes: Vec::new(),
            follow: Follow {
                watchers: Vec::new(),
                notify: issue
                    .assignees
                    .iter()
                    .map(|u| (*u, NotificationKind::DueSoon))
                    .collect(),
            },
        };
        if let Err(err) = service.store().submit(write).wait().await {
            return Ran::Failed(format!("cannot remind about {}: {err}", issue.key));
        }
    }
    Ran::Done
}

pub(crate) async fn expire(service: &Service) -> Ran {
    let now = now_ms();
    let expired = service
        .read(move |s| {
            Ok(s.invites()?
                .into_iter()
                .filter(|i| {
                    !i.invite.revoked && i.invite.redeemed_by.is_none() && i.invite.expires_at < now
                })
                .collect::<Vec<StoredInvite>>())
        })
        .await;
    let expired = match expired {
        Ok(expired) => expired,
        Err(err) => return Ran::Failed(err.to_string()),
    };
    for mut stored in expired {
        stored.invite.revoked = true;
        let write = Write {
            actor: Actor::Console,
            at: now_ms(),
            op: Op::PutInvite {
                invite: stored,
                kind: ActivityKind::InviteRevoked,
            },
            changes: vec![crate::service::change("expired", "false", "true")],
            follow: Follow::default(),
        };
        if let Err(err) = service.store().submit(write).wait().await {
            return Ran::Failed(err.to_string());
        }
    }
    Ran::Done
}

/// A backup file's name: `tack-20261126-030000.tackbak`, so names sort by time.
pub fn backup_name(at: DateTime<Utc>) -> String {
    format!(
        "{BACKUP_PREFIX}{}{BACKUP_SUFFIX}",
        at.format("%Y%m%d-%H%M%S")
    )
}

pub(crate) async fn backup(service: &Service, schedule: &Schedule) -> Ran {
    if let Err(err) = std::fs::create_dir_all(&schedule.backup_dir) {
        return Ran::Failed(format!(
            "cannot create {}: {err}",
            schedule.backup_dir.display()
        ));
    }
    let path = schedule.backup_dir.join(backup_name(Utc::now()));
    match service.store().backup(&path).wait().await {
        Ok(info) => {
            tracing::info!(path = %info.path.display(), bytes = info.bytes, "scheduled backup taken");
            prune(&schedule.backup_dir, schedule.retention);
            Ran::Done
        }
        Err(err) => Ran::Failed(format!("backup to {} failed: {err}", path.display())),
    }
}

/// Scheduled backups in `dir`, oldest first.
pub fn backup_files(dir: &Path) -> Vec<(String, std::fs::Metadata)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, std::fs::Metadata)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let meta = e.metadata().ok()?;
            (meta.is_file() && name.starts_with(BACKUP_PREFIX) && name.ends_with(BACKUP_SUFFIX))
                .then_some((name, meta))
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Keeps the newest `retention` backups.
fn prune(dir: &Path, retention: u32) {
    let files = backup_files(dir);
    let extra = files.len().saturating_sub(retention.max(1) as usize);
    for (name, _) in files.into_iter().take(extra) {
        match std::fs::remove_file(dir.join(&name)) {
            Ok(()) => tracing::info!(file = %name, "old backup removed"),
            Err(err) => tracing::warn!(file = %name, error = %err, "cannot remove an old backup"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_the_newest_backups() {
        let dir = tempfile::tempdir().unwrap();
        for day in 1..=5 {
            std::fs::write(
                dir.path().join(format!("tack-2026110{day}-030000.tackbak")),
                b"x",
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("manual.tackbak"), b"x").unwrap();
        prune(dir.path(), 2);
        let left: Vec<String> = backup_files(dir.path()).into_iter().map(|f| f.0).collect();
        assert_eq!(
            left,
            [
                "tack-20261104-030000.tackbak",
                "tack-20261105-030000.tackbak"
            ]
        );
        assert!(
            dir.path().join("manual.tackbak").exists(),
            "other files stay"
        );
    }

    #[test]
    fn a_bad_cron_expression_says_how_to_write_one() {
        assert!(Schedule::parse_cron("").unwrap().is_none());
        assert!(Schedule::parse_cron("0 3 * * *").unwrap().is_some());
        let err = Schedule::parse_cron("every day").unwrap_err();
        assert!(err.contains("0 3 * * *"), "{err}");
    }
}
