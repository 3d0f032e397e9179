//! The activity log, read three ways: an issue's history, a project's, and (for admins) all.

use tack_protocol::{ActivityKind, ApiError, ProjectRole, ResponseBody};

use super::store_error;
use super::{Caller, Service};

/// The most entries one request returns.
const MAX_PAGE: u32 = 1000;

impl Service {
    pub(crate) async fn issue_activity(
        &self,
        caller: &Caller,
        key: String,
    ) -> Result<ResponseBody, ApiError> {
        let (_, issue) = self.issue_for(caller, &key, ProjectRole::Viewer).await?;
        let id = issue.id;
        Ok(ResponseBody::Activity(
            self.store
                .activity_of_issue(id)
                .await
                .map_err(store_error)?,
        ))
    }

    pub(crate) async fn project_activity(
        &self,
        caller: &Caller,
        key: String,
        after: Option<u64>,
        limit: u32,
    ) -> Result<ResponseBody, ApiError> {
        let project = self.project_for(caller, &key, ProjectRole::Viewer).await?;
        let (id, after, limit) = (
            project.id,
            after.unwrap_or(0),
            limit.clamp(1, MAX_PAGE) as usize,
        );
        let mut entries = self
            .store
            .activity_of_project(id, after, limit)
            .await
            .map_err(store_error)?;
        // Entries written before webhook activity stopped naming URLs still hold them.
        for entry in &mut entries {
            if entry.kind == ActivityKind::WebhookChanged {
                entry.changes.retain(|c| c.field != "url");
            }
        }
        Ok(ResponseBody::Activity(entries))
    }

    pub(crate) async fn all_activity(
        &self,
        caller: &Caller,
        after: Option<u64>,
        limit: u32,
    ) -> Result<ResponseBody, ApiError> {
        self.require_admin(caller, "read the whole audit log")?;
        let (after, limit) = (after.unwrap_or(0), limit.clamp(1, MAX_PAGE) as usize);
        Ok(ResponseBody::Activity(
            self.store
                .activity_after(after, limit)
                .await
                .map_err(store_error)?,
        ))
    }
}
