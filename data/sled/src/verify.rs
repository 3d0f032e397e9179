//! Checks that every index entry points at a record that agrees with it, and every record has
//! its index entries.

use tack_protocol::{Comment, Issue};

use crate::engine_error;
use crate::records::decode;
use crate::trees::{self, T, Trees};
use crate::{IntegrityReport, StoreError, keys};

pub fn check(trees: &Trees) -> Result<IntegrityReport, StoreError> {
    let mut report = IntegrityReport::default();
    let issue_at = |id: u64| -> Result<Option<Issue>, StoreError> {
        match trees
            .get(T::Issues)
            .get(keys::id(id))
            .map_err(engine_error)?
        {
            Some(bytes) => decode(trees::name(T::Issues), &bytes).map(Some),
            None => Ok(None),
        }
    };
    let has = |tree: T, key: &[u8]| -> Result<bool, StoreError> {
        trees.get(tree).contains_key(key).map_err(engine_error)
    };

    for value in trees.get(T::Issues).iter().values() {
        let issue: Issue = decode(trees::name(T::Issues), &value.map_err(engine_error)?)?;
        report.issues += 1;
        if !has(
            T::IdxBoard,
            &keys::board(issue.project, issue.state, &issue.rank, issue.id),
        )? {
            report
                .problems
                .push(format!("{} has no board index entry", issue.key));
        }
        for user in &issue.assignees {
            if !has(T::IdxAssignee, &keys::pair(*user, issue.id))? {
                report.problems.push(format!(
                    "{} has no assignee index entry for user #{user}",
                    issue.key
                ));
            }
        }
        for label in &issue.labels {
            if !has(T::IdxLabel, &keys::label(issue.project, label, issue.id))? {
                report.problems.push(format!(
                    "{} has no label index entry for '{label}'",
                    issue.key
                ));
            }
        }
        match trees
            .get(T::IssuesByNumber)
            .get(keys::pair(issue.project, issue.number))
            .map_err(engine_error)?
        {
            Some(id) if keys::read_u64(&id, 0) == Some(issue.id) => {}
            _ => report
                .problems
                .push(format!("{} is not found by its number", issue.key)),
        }
    }

    for entry in trees.get(T::IdxBoard).iter().keys() {
        let key = entry.map_err(engine_error)?;
        report.index_entries += 1;
        let id = keys::trailing_id(&key).unwrap_or(0);
        match issue_at(id)? {
            Some(issue)
                if keys::board(issue.project, issue.state, &issue.rank, issue.id)
                    == key.as_ref() => {}
            Some(issue) => report
                .problems
                .push(format!("stale board entry for {}", issue.key)),
            None => report
                .problems
                .push(format!("board entry points at missing issue #{id}")),
        }
    }
    for entry in trees.get(T::IdxAssignee).iter().keys() {
        let key = entry.map_err(engine_error)?;
        report.index_entries += 1;
        let (user, id) = (
            keys::read_u64(&key, 0).unwrap_or(0),
            keys::trailing_id(&key).unwrap_or(0),
        );
        match issue_at(id)? {
            Some(issue) if issue.assignees.contains(&user) => {}
            _ => report.problems.push(format!(
                "assignee entry user #{user} → issue #{id} matches no issue"
            )),
        }
    }
    for entry in trees.get(T::IdxLabel).iter().keys() {
        let key = entry.map_err(engine_error)?;
        report.index_entries += 1;
        let id = keys::trailing_id(&key).unwrap_or(0);
        let label = key
            .get(8..key.len().saturating_sub(9))
            .map(|b| String::from_utf8_lossy(b).into_owned());
        match (issue_at(id)?, label) {
            (Some(issue), Some(label)) if issue.labels.contains(&label) => {}
            _ => report
                .problems
                .push(format!("label entry → issue #{id} matches no issue")),
        }
    }
    for entry in trees.get(T::IssuesByNumber).iter() {
        let (key, value) = entry.map_err(engine_error)?;
        report.index_entries += 1;
        let id = keys::read_u64(&value, 0).unwrap_or(0);
        match issue_at(id)? {
            Some(issue) if keys::pair(issue.project, issue.number) == key.as_ref() => {}
            _ => report
                .problems
                .push(format!("issue number entry points at missing issue #{id}")),
        }
    }
    for entry in trees.get(T::CommentsByIssue).iter().keys() {
        let key = entry.map_err(engine_error)?;
        report.index_entries += 1;
        let id = keys::trailing_id(&key).unwrap_or(0);
        match trees
            .get(T::Comments)
            .get(keys::id(id))
            .map_err(engine_error)?
        {
            Some(bytes) => {
                let comment: Comment = decode(trees::name(T::Comments), &bytes)?;
                report.comments += 1;
                if issue_at(comment.issue)?.is_none() {
                    report.problems.push(format!(
                        "comment #{id} belongs to missing issue #{}",
                        comment.issue
                    ));
                }
            }
            None => report
                .problems
                .push(format!("comment entry points at missing comment #{id}")),
        }
    }
    for (index, target) in [
        (T::UsersByHandle, T::Users),
        (T::ProjectsByKey, T::Projects),
    ] {
        for entry in trees.get(index).iter() {
            let (key, value) = entry.map_err(engine_error)?;
            report.index_entries += 1;
            if !has(target, &value)? {
                report.problems.push(format!(
                    "{} entry '{}' points at nothing",
                    trees::name(index),
                    String::from_utf8_lossy(&key)
                ));
            }
        }
    }
    for entry in trees.get(T::KeysByUser).iter().keys() {
        let key = entry.map_err(engine_error)?;
        report.index_entries += 1;
        if !has(T::Keys, &key[8..])? {
            report.problems.push(format!(
                "key entry '{}' points at nothing",
                String::from_utf8_lossy(&key[8..])
            ));
        }
    }
    Ok(report)
}
