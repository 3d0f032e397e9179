//! `tack doctor`: checks a stopped server's store — indexes against records, orphans, id
//! counters — and, on request, repairs it by rebuilding every index from the records. Records
//! are the truth; indexes and counters are derived from them.

use std::path::Path;

use tack_protocol::{Activity, Comment, Issue, Job, JobState, Project, SshKey, User};

use crate::engine::open_trees;
use crate::engine_error;
use crate::records::{StoredWebhook, decode};
use crate::trees::{self, T, Trees};
use crate::{StoreError, keys, migrate, verify};
use tack_data::stored::Stored;

#[derive(Debug, Default)]
pub struct DoctorReport {
    pub issues: u64,
    pub comments: u64,
    pub problems: Vec<String>,
    /// What `--repair` did.
    pub repaired: Vec<String>,
    /// The store's last event sequence.
    pub last_seq: u64,
}

fn all<V: Stored>(trees: &Trees, tree: T) -> Result<Vec<V>, StoreError> {
    trees
        .get(tree)
        .iter()
        .values()
        .map(|v| decode(trees::name(tree), &v.map_err(engine_error)?))
        .collect()
}

fn meta_u64(trees: &Trees, key: &[u8]) -> Result<u64, StoreError> {
    Ok(trees
        .get(T::Meta)
        .get(key)
        .map_err(engine_error)?
        .and_then(|v| keys::read_u64(&v, 0))
        .unwrap_or(0))
}

/// A counter's meta key, what it holds, and the least it must hold.
type Counter = (&'static [u8], u64, u64);

fn counters(trees: &Trees) -> Result<Vec<Counter>, StoreError> {
    let max_id = |tree: T| -> Result<u64, StoreError> {
        Ok(trees
            .get(tree)
            .last()
            .map_err(engine_error)?
            .and_then(|(k, _)| keys::read_u64(&k, 0))
            .unwrap_or(0))
    };
    let users = all::<User>(trees, T::Users)?;
    let hooks = all::<StoredWebhook>(trees, T::Webhooks)?;
    Ok(vec![
        (
            trees::NEXT_USER,
            meta_u64(trees, trees::NEXT_USER)?,
            users.iter().map(|u| u.id).max().unwrap_or(0) + 1,
        ),
        (
            trees::NEXT_PROJECT,
            meta_u64(trees, trees::NEXT_PROJECT)?,
            max_id(T::Projects)? + 1,
        ),
        (
            trees::NEXT_ISSUE,
            meta_u64(trees, trees::NEXT_ISSUE)?,
            max_id(T::Issues)? + 1,
        ),
        (
            trees::NEXT_COMMENT,
            meta_u64(trees, trees::NEXT_COMMENT)?,
            max_id(T::Comments)? + 1,
        ),
        (
            trees::NEXT_JOB,
            meta_u64(trees, trees::NEXT_JOB)?,
            max_id(T::Jobs)? + 1,
        ),
        (
            trees::NEXT_WEBHOOK,
            meta_u64(trees, trees::NEXT_WEBHOOK)?,
            hooks.iter().map(|h| h.hook.id).max().unwrap_or(0) + 1,
        ),
        (
            trees::NEXT_VIEW,
            meta_u64(trees, trees::NEXT_VIEW)?,
            max_id(T::Views)? + 1,
        ),
        (
            trees::LAST_SEQ,
            meta_u64(trees, trees::LAST_SEQ)?,
            max_id(T::Activity)?,
        ),
    ])
}

fn check(trees: &Trees) -> Result<DoctorReport, StoreError> {
    let integrity = verify::check(trees)?;
    let mut report = DoctorReport {
        issues: integrity.issues,
        comments: integrity.comments,
        problems: integrity.problems,
        repaired: Vec::new(),
        last_seq: 0,
    };
    for (name, held, least) in counters(trees)? {
        if held < least {
            report.problems.push(format!(
                "counter {} is {held}, behind the records ({least}): new records would collide",
                String::from_utf8_lossy(name)
            ));
        }
    }
    for project in all::<Project>(trees, T::Projects)? {
        let highest = trees
            .get(T::IssuesByNumber)
            .scan_prefix(keys::id(project.id))
            .keys()
            .filter_map(|k| k.ok().and_then(|k| keys::read_u64(&k, 8)))
            .max()
            .unwrap_or(0);
        if project.next_issue_number <= highest {
            report.problems.push(format!(
                "{} would number its next issue {}, already taken",
                project.key, project.next_issue_number
            ));
        }
    }
    for entry in trees.get(T::JobsDue).iter().keys() {
        let key = entry.map_err(engine_error)?;
        let id = keys::trailing_id(&key).unwrap_or(0);
        let queued = match trees.get(T::Jobs).get(keys::id(id)).map_err(engine_error)? {
            Some(bytes) => decode::<Job>(trees::name(T::Jobs), &bytes)?.state == JobState::Queued,
            None => false,
        };
        if !queued {
            report.problems.push(format!(
                "the job queue lists job #{id}, which is not queued"
            ));
        }
    }
    for job in all::<Job>(trees, T::Jobs)? {
        if job.state == JobState::Queued
            && !trees
                .get(T::JobsDue)
                .contains_key(keys::job_due(job.run_at, job.id))
                .map_err(engine_error)?
        {
            report
                .problems
                .push(format!("queued job #{} is missing from the queue", job.id));
        }
    }
    Ok(report)
}

fn clear(trees: &Trees, tree: T) -> Result<(), StoreError> {
    trees.get(tree).clear().map_err(engine_error)?;
    Ok(())
}

/// Rebuilds every index and counter from the records.
fn repair(trees: &Trees, report: &mut DoctorReport) -> Result<(), StoreError> {
    for tree in trees::DERIVED {
        clear(trees, tree)?;
    }
    // The log is the largest collection: read it entry by entry, not into memory at once.
    for value in trees.get(T::Activity).iter().values() {
        let activity: Activity = decode(trees::name(T::Activity), &value.map_err(engine_error)?)?;
        if let Some(issue) = activity.issue {
            trees
                .get(T::ActivityByIssue)
                .insert(keys::pair(issue, activity.seq), &[])
                .map_err(engine_error)?;
        }
        if let Some(project) = activity.project {
            trees
                .get(T::ActivityByProject)
                .insert(keys::pair(project, activity.seq), &[])
                .map_err(engine_error)?;
        }
    }
    let issues = all::<Issue>(trees, T::Issues)?;
    let mut projects = all::<Project>(trees, T::Projects)?;
    for issue in &issues {
        trees
            .get(T::IdxBoard)
            .insert(
                keys::board(issue.project, issue.state, &issue.rank, issue.id),
                &[],
            )
            .map_err(engine_error)?;
        for user in &issue.assignees {
            trees
                .get(T::IdxAssignee)
                .insert(keys::pair(*user, issue.id), &[])
                .map_err(engine_error)?;
        }
        for label in &issue.labels {
            trees
                .get(T::IdxLabel)
                .insert(keys::label(issue.project, label, issue.id), &[])
                .map_err(engine_error)?;
        }
        trees
            .get(T::IssuesByNumber)
            .insert(keys::pair(issue.project, issue.number), &keys::id(issue.id))
            .map_err(engine_error)?;
    }
    let issue_ids: std::collections::HashSet<u64> = issues.iter().map(|i| i.id).collect();
    let mut orphans = 0;
    for comment in all::<Comment>(trees, T::Comments)? {
        if issue_ids.contains(&comment.issue) {
            trees
                .get(T::CommentsByIssue)
                .insert(keys::pair(comment.issue, comment.id), &[])
                .map_err(engine_error)?;
        } else {
            trees
                .get(T::Comments)
                .remove(keys::id(comment.id))
                .map_err(engine_error)?;
            orphans += 1;
        }
    }
    if orphans > 0 {
        report
            .repaired
            .push(format!("removed {orphans} comments of deleted issues"));
    }
    for user in all::<User>(trees, T::Users)? {
        trees
            .get(T::UsersByHandle)
            .insert(user.handle.as_bytes(), &keys::id(user.id))
            .map_err(engine_error)?;
    }
    for key in all::<SshKey>(trees, T::Keys)? {
        trees
            .get(T::KeysByUser)
            .insert(keys::user_key(key.owner, &key.fingerprint), &[])
            .map_err(engine_error)?;
    }
    for project in &mut projects {
        trees
            .get(T::ProjectsByKey)
            .insert(project.key.as_bytes(), &keys::id(project.id))
            .map_err(engine_error)?;
        let highest = issues
            .iter()
            .filter(|i| i.project == project.id)
            .map(|i| i.number)
            .max()
            .unwrap_or(0);
        if project.next_issue_number <= highest {
            project.next_issue_number = highest + 1;
            trees
                .get(T::Projects)
                .insert(keys::id(project.id), crate::records::encode(&*project))
                .map_err(engine_error)?;
            report.repaired.push(format!(
                "{} numbers its next issue {}",
                project.key, project.next_issue_number
            ));
        }
    }
    for job in all::<Job>(trees, T::Jobs)? {
        if job.state == JobState::Queued {
            trees
                .get(T::JobsDue)
                .insert(keys::job_due(job.run_at, job.id), &[])
                .map_err(engine_error)?;
        }
    }
    for (name, held, least) in counters(trees)? {
        if held < least {
            trees
                .get(T::Meta)
                .insert(name, &least.to_be_bytes())
                .map_err(engine_error)?;
            report.repaired.push(format!(
                "counter {} moved from {held} to {least}",
                String::from_utf8_lossy(name)
            ));
        }
    }
    report
        .repaired
        .push("rebuilt every index from the records".into());
    Ok(())
}

/// Rebuilds every index and counter of a store just written from records (a restore).
pub(crate) fn rebuild_indexes(trees: &Trees) -> Result<(), StoreError> {
    repair(trees, &mut DoctorReport::default())
}

/// Checks the store at `path` (the server must be stopped), repairing it if asked; the report
/// describes the store as it is afterwards.
pub fn doctor(path: &Path, repair_it: bool) -> Result<DoctorReport, StoreError> {
    if !path.join("db").exists() && !path.join("conf").exists() {
        return Err(StoreError::Engine(format!(
            "there is no store at {}; pass the server's --data directory",
            path.display()
        )));
    }
    let (db, trees) = open_trees(path, 64 * 1024 * 1024).map_err(|e| match e {
        StoreError::InUse { .. } => StoreError::Engine(format!(
            "the store at {} is in use: stop `tack serve` first",
            path.display()
        )),
        other => other,
    })?;
    if let Some(found) = migrate::schema_version(&trees)?
        && found != migrate::CURRENT_SCHEMA
    {
        return Err(StoreError::Engine(format!(
            "the store has schema {found}, this tack checks schema {}; start `tack serve` once to migrate it",
            migrate::CURRENT_SCHEMA
        )));
    }
    let mut report = check(&trees)?;
    // Repairs rebuild indexes from records; no repair brings back a lost part of the log.
    let store_seq = meta_u64(&trees, trees::LAST_SEQ)?;
    let lost_tail = crate::durable_mark::read(path)
        .filter(|acked| *acked > store_seq)
        .map(|acked| {
            StoreError::LostTail {
                path: path.display().to_string(),
                store_seq,
                acked_seq: acked,
            }
            .to_string()
        });
    report.problems.extend(lost_tail.clone());
    report.last_seq = store_seq;
    if repair_it && !report.problems.is_empty() {
        let mut repaired = DoctorReport::default();
        repair(&trees, &mut repaired)?;
        db.flush().map_err(engine_error)?;
        report = check(&trees)?;
        report.repaired = repaired.repaired;
        report.problems.extend(lost_tail);
        report.last_seq = store_seq;
    }
    Ok(report)
}

/// What a salvage copied.
#[derive(Debug, Default)]
pub struct SalvageReport {
    pub records: u64,
    /// Trees whose reading stopped at damage: what came after it in that tree is not copied.
    pub damaged_trees: Vec<String>,
    /// The check of the new store after its indexes and counters were rebuilt.
    pub check: DoctorReport,
}

/// Copies every record that can still be read from the store at `from` into a new store at
/// `to`, then rebuilds the new store's indexes and counters from those records. For a store
/// that opens but lost part of its log, or has damaged records: the new store holds what was
/// readable, and is marked as ending where it ends.
pub fn salvage(from: &Path, to: &Path) -> Result<SalvageReport, StoreError> {
    if to.exists() && std::fs::read_dir(to)?.next().is_some() {
        return Err(StoreError::Engine(format!(
            "{} is not empty; salvage into a new directory",
            to.display()
        )));
    }
    let (_, source) = open_trees(from, 64 * 1024 * 1024).map_err(|e| match e {
        StoreError::InUse { .. } => StoreError::Engine(format!(
            "the store at {} is in use: stop `tack serve` first",
            from.display()
        )),
        other => other,
    })?;
    let (db, target) = open_trees(to, 64 * 1024 * 1024)?;
    let mut report = SalvageReport::default();
    for (name, (tree, copy)) in trees::TREE_NAMES
        .iter()
        .zip(source.all.iter().zip(target.all.iter()))
    {
        for entry in tree.iter() {
            match entry {
                Ok((key, value)) => {
                    copy.insert(key, value).map_err(engine_error)?;
                    report.records += 1;
                }
                Err(err) => {
                    tracing::warn!(tree = name, error = %err, "stopped reading a damaged tree");
                    report.damaged_trees.push(name.to_string());
                    break;
                }
            }
        }
    }
    let mut rebuilt = DoctorReport::default();
    repair(&target, &mut rebuilt)?;
    db.flush().map_err(engine_error)?;
    report.check = check(&target)?;
    report.check.repaired = rebuilt.repaired;
    report.check.last_seq = meta_u64(&target, trees::LAST_SEQ)?;
    crate::durable_mark::reset(to, report.check.last_seq)?;
    Ok(report)
}
