//! A project's figures: created vs closed per week (closed per week is the throughput), the
//! cycle time from first started to done, work in progress per state, and a burndown for the
//! issues of a query.

use std::collections::HashMap;

use tack_protocol::{
    ApiError, Bucket, DayCount, Insights, Issue, IssueFilter, ProjectRole, ResponseBody,
    StateCategory, WeekCount,
};

use super::store_error;
use super::{Caller, Service, now_ms};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// Cycle-time buckets: upper bound in hours, and label.
const CYCLE: [(i64, &str); 7] = [
    (24, "< 1 day"),
    (48, "1–2 days"),
    (96, "2–4 days"),
    (168, "4–7 days"),
    (336, "1–2 weeks"),
    (672, "2–4 weeks"),
    (i64::MAX, "> 4 weeks"),
];

fn date(day: i64) -> String {
    chrono::DateTime::from_timestamp_millis(day * DAY)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Monday (days since the epoch) of the week `day` is in; the epoch was a Thursday.
fn monday(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

impl Service {
    pub(crate) async fn insights(
        &self,
        caller: &Caller,
        key: String,
        query: Option<String>,
        weeks: u32,
    ) -> Result<ResponseBody, ApiError> {
        let project = self.project_for(caller, &key, ProjectRole::Viewer).await?;
        let weeks = weeks.clamp(1, 104) as i64;
        let issues: Vec<Issue> = self.board(&project).await?.iter().cloned().collect();
        let today = now_ms().div_euclid(DAY);
        let first_week = monday(today) - 7 * (weeks - 1);

        let mut per_week: Vec<WeekCount> = (0..weeks)
            .map(|w| WeekCount {
                week: date(first_week + 7 * w),
                created: 0,
                closed: 0,
            })
            .collect();
        let slot = |t: i64| {
            let week = (monday(t.div_euclid(DAY)) - first_week) / 7;
            usize::try_from(week).ok().filter(|w| *w < weeks as usize)
        };
        for issue in &issues {
            if let Some(w) = slot(issue.created_at) {
                per_week[w].created += 1;
            }
            if let Some(w) = issue.closed_at.and_then(slot) {
                per_week[w].closed += 1;
            }
        }

        // When each issue first entered a started state, from the log.
        let id = project.id;
        let log = self
            .store
            .activity_of_project(id, 0, usize::MAX)
            .await
            .map_err(store_error)?;
        let started_names: Vec<String> = project
            .states
            .iter()
            .filter(|s| s.category == StateCategory::Started)
            .map(|s| s.name.to_lowercase())
            .collect();
        let mut started: HashMap<u64, i64> = HashMap::new();
        for entry in &log {
            let Some(issue) = entry.issue else { continue };
            if entry
                .changes
                .iter()
                .any(|c| c.field == "state" && started_names.contains(&c.after.to_lowercase()))
            {
                started.entry(issue).or_insert(entry.at);
            }
        }
        let period_start = first_week * DAY;
        let mut cycle_hours: Vec<i64> = issues
            .iter()
            .filter(|i| {
                project
                    .state(i.state)
                    .is_some_and(|s| s.category == StateCategory::Done)
            })
            .filter_map(|i| {
                let done = i.closed_at.filter(|t| *t >= period_start)?;
                let start = started.get(&i.id)?;
                Some((done - start).max(0) / HOUR)
            })
            .collect();
        cycle_hours.sort_unstable();
        let mut cycle_time: Vec<Bucket> = CYCLE
            .iter()
            .map(|(_, label)| Bucket {
                label: (*label).into(),
                count: 0,
            })
            .collect();
        for hours in &cycle_hours {
            if let Some(b) = CYCLE.iter().position(|(max, _)| hours < max) {
                cycle_time[b].count += 1;
            }
        }
        let median = cycle_hours.get(cycle_hours.len() / 2).map(|h| *h as u32);

        let work_in_progress = project
            .states
            .iter()
            .filter(|s| !s.category.is_closed())
            .map(|s| Bucket {
                label: s.name.clone(),
                count: issues.iter().filter(|i| i.state == s.id).count() as u32,
            })
            .collect();

        let burndown_query = query.unwrap_or_default();
        let set: Vec<Issue> = if burndown_query.trim().is_empty() {
            issues
        } else {
            let filter = IssueFilter {
                query: Some(burndown_query.clone()),
                ..Default::default()
            };
            match self
                .list_issues(caller, Some(project.key.clone()), filter)
                .await?
            {
                ResponseBody::Issues(found) => found,
                _ => Vec::new(),
            }
        };
        let days = (weeks * 7).min(90);
        let burndown = (0..days)
            .map(|back| {
                let day = today - (days - 1 - back);
                let end = (day + 1) * DAY;
                DayCount {
                    day: date(day),
                    open: set
                        .iter()
                        .filter(|i| i.created_at < end && i.closed_at.is_none_or(|c| c >= end))
                        .count() as u32,
                }
            })
            .collect();
        Ok(ResponseBody::Insights(Insights {
            project: project.key.clone(),
            weeks: per_week,
            cycle_time,
            cycle_time_median_hours: median,
            work_in_progress,
            burndown_query,
            burndown,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-26 is a Thursday; its Monday is 2026-11-23.
        let thursday = chrono::NaiveDate::from_ymd_opt(2026, 11, 26)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
            / DAY;
        assert_eq!(date(monday(thursday)), "2026-11-23");
        assert_eq!(monday(monday(thursday)), monday(thursday));
    }
}
