//! Scheduled work: backups on a cron schedule with retention, daily digests, due-date
//! reminders and invite expiry. The scheduler only queues jobs, each under a key naming its
//! slot (`backup-<time>`, `digest-<user>-<day>`), so a restart never queues one twice.

use std::path::PathBuf;

use chrono::{Timelike, Utc};
use tack_data::{Follow, Op, StoredInvite, Write};
use tack_protocol::{ActivityKind, Actor, JobKind, NotificationKind};

use super::Ran;
use crate::service::backup_files::{backup_name, prune};
use crate::service::{Service, now_ms};

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
            for user in service.digest_readers().await {
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
    let store = service.store();
    let due = async {
        let mut due = Vec::new();
        for project in store.projects().await? {
            for issue in store.issues_of_project(project.id).await? {
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
        Ok::<_, tack_data::StoreError>(due)
    }
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
    let expired = service.store().invites().await.map(|all| {
        all.into_iter()
            .filter(|i| {
                !i.invite.revoked && i.invite.redeemed_by.is_none() && i.invite.expires_at < now
            })
            .collect::<Vec<StoredInvite>>()
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_cron_expression_says_how_to_write_one() {
        assert!(Schedule::parse_cron("").unwrap().is_none());
        assert!(Schedule::parse_cron("0 3 * * *").unwrap().is_some());
        let err = Schedule::parse_cron("every day").unwrap_err();
        assert!(err.contains("0 3 * * *"), "{err}");
    }
}
