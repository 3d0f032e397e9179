//! Saved views: a named query (with its sorts and a layout), personal or shared with a
//! project's members.

use tack_data::Op;
use tack_protocol::{ApiError, IssueFilter, Layout, ProjectRole, ResponseBody, SavedView, UserId};

use super::store_error;
use super::{Caller, Service, now_ms, validate};

const MAX_NAME: usize = 60;

/// The console's views belong to user 0 (ids start at 1).
fn owner_of(caller: &Caller) -> UserId {
    caller.user_id().unwrap_or(0)
}

impl Service {
    /// The views `caller` may see: their own, and shared ones of projects they can read.
    async fn visible_views(&self, caller: &Caller) -> Result<Vec<SavedView>, ApiError> {
        let me = owner_of(caller);
        let mut out = Vec::new();
        for view in self.store.views().await.map_err(store_error)? {
            let readable = match view.project {
                Some(id) => self
                    .project_by_id(id)
                    .await?
                    .is_some_and(|p| Self::role_in(caller, &p).is_some()),
                None => true,
            };
            if readable && (view.owner == me || view.shared) {
                out.push(view);
            }
        }
        // Your own first, then shared, each by name.
        out.sort_by(|a, b| {
            (a.owner != me)
                .cmp(&(b.owner != me))
                .then(a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        });
        Ok(out)
    }

    async fn view_named(&self, caller: &Caller, name: &str) -> Result<SavedView, ApiError> {
        let name = name.trim();
        self.visible_views(caller)
            .await?
            .into_iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no view '{}'; `tack ctl view list` shows yours",
                    validate::clean_line(name)
                ))
            })
    }

    pub(crate) async fn save_view(
        &self,
        caller: &Caller,
        name: String,
        project: Option<String>,
        query: String,
        layout: tack_protocol::Layout,
        shared: bool,
    ) -> Result<ResponseBody, ApiError> {
        let name = validate::name("name", &name, MAX_NAME)?;
        let query = validate::clean_line(&query);
        super::search::parse_query(&query)?;
        let project = match project {
            Some(key) => Some(self.project_for(caller, &key, ProjectRole::Viewer).await?),
            None => None,
        };
        if shared {
            match &project {
                Some(p) => Self::require_role(caller, p, ProjectRole::Member)?,
                None => {
                    return Err(ApiError::invalid(
                        "shared",
                        "a shared view belongs to a project; name one with --project",
                    ));
                }
            }
        }
        if layout == Layout::Board && project.is_none() {
            return Err(ApiError::invalid(
                "layout",
                "a board shows one project; name it with --project, or use the list layout",
            ));
        }
        let me = owner_of(caller);
        let existing = self
            .store
            .views()
            .await
            .map_err(store_error)?
            .into_iter()
            .find(|v| {
                v.owner == me
                    && v.name.eq_ignore_ascii_case(&name)
                    && v.project == project.as_ref().map(|p| p.id)
            });
        let view = SavedView {
            id: existing.as_ref().map_or(0, |v| v.id),
            name: name.clone(),
            owner: me,
            project: project.as_ref().map(|p| p.id),
            project_key: project.as_ref().map(|p| p.key.clone()),
            shared,
            query,
            layout,
            created_at: existing.map_or_else(now_ms, |v| v.created_at),
        };
        self.commit(caller, Op::PutView(view), Vec::new()).await?;
        Ok(ResponseBody::Views(vec![
            self.view_named(caller, &name).await?,
        ]))
    }

    pub(crate) async fn list_views(
        &self,
        caller: &Caller,
        project: Option<String>,
    ) -> Result<ResponseBody, ApiError> {
        let project = match project {
            Some(key) => Some(
                self.project_for(caller, &key, ProjectRole::Viewer)
                    .await?
                    .id,
            ),
            None => None,
        };
        let mut views = self.visible_views(caller).await?;
        if let Some(id) = project {
            views.retain(|v| v.project == Some(id));
        }
        Ok(ResponseBody::Views(views))
    }

    pub(crate) async fn show_view(
        &self,
        caller: &Caller,
        name: String,
    ) -> Result<ResponseBody, ApiError> {
        let view = self.view_named(caller, &name).await?;
        let filter = IssueFilter {
            query: Some(view.query.clone()),
            limit: Some(2000),
            ..Default::default()
        };
        let issues = match self
            .list_issues(caller, view.project_key.clone(), filter)
            .await?
        {
            ResponseBody::Issues(issues) => issues,
            _ => Vec::new(),
        };
        Ok(ResponseBody::View { view, issues })
    }

    pub(crate) async fn delete_view(
        &self,
        caller: &Caller,
        name: String,
    ) -> Result<ResponseBody, ApiError> {
        let view = self.view_named(caller, &name).await?;
        let may = view.owner == owner_of(caller)
            || caller.is_admin()
            || match view.project {
                Some(id) => self
                    .project_by_id(id)
                    .await?
                    .is_some_and(|p| Self::require_role(caller, &p, ProjectRole::Owner).is_ok()),
                None => false,
            };
        if !may {
            return Err(ApiError::forbidden(
                "only the view's author or a project owner can delete a shared view",
            ));
        }
        self.commit(caller, Op::DeleteView { id: view.id }, Vec::new())
            .await?;
        Ok(ResponseBody::Done)
    }
}
