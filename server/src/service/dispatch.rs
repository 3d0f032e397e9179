//! The one entry point: every request, from every tier, is checked against who asks and
//! handed to the aggregate that owns it.

use tack_protocol::{ApiError, ProjectRole, Request, ResponseBody};

use super::{Caller, Service};

impl Service {
    /// The one entry point: checks who may do what, then does it.
    pub async fn handle(
        &self,
        caller: &Caller,
        request: Request,
    ) -> Result<ResponseBody, ApiError> {
        let caller = self.refresh(caller).await?;
        let caller = &caller;
        if matches!(caller, Caller::Anonymous) && !matches!(request, Request::RedeemInvite { .. }) {
            return Err(ApiError::unauthenticated(
                "this connection has no identity; connect with an API token (--token or TACK_TOKEN), or redeem an invite code",
            ));
        }
        if let Caller::Enrolling { user } = caller
            && !matches!(
                request,
                Request::Whoami
                    | Request::BeginTotp
                    | Request::ConfirmTotp { .. }
                    | Request::TotpStatus
            )
        {
            return Err(ApiError::forbidden(format!(
                "this server requires two-factor for admins: @{} must turn it on (profile, T) and log in again",
                user.handle
            )));
        }
        use Request::*;
        match request {
            Whoami => caller
                .identity()
                .map(ResponseBody::Whoami)
                .ok_or_else(|| ApiError::unauthenticated("no identity")),
            CreateUser {
                handle,
                display_name,
                email,
                role,
            } => {
                self.create_user(caller, handle, display_name, email, role)
                    .await
            }
            SetUserDisabled { handle, disabled } => {
                self.set_user_disabled(caller, handle, disabled).await
            }
            ListUsers => self.list_users(caller).await,
            AddKey { user, public_key } => self.add_key(caller, user, public_key).await,
            RemoveKey { fingerprint } => self.remove_key(caller, fingerprint).await,
            ListKeys { user } => self.list_keys(caller, user).await,
            CreateToken { user, name } => self.create_token(caller, user, name).await,
            ListTokens { user } => self.list_tokens(caller, user).await,
            RevokeToken { id } => self.revoke_token(caller, id).await,
            CreateInvite {
                role,
                expires_in_secs,
            } => self.create_invite(caller, role, expires_in_secs).await,
            RedeemInvite {
                code,
                handle,
                display_name,
                public_key,
                token_name,
            } => {
                self.redeem_invite(caller, code, handle, display_name, public_key, token_name)
                    .await
            }
            ListInvites => self.list_invites(caller).await,
            RevokeInvite { id } => self.revoke_invite(caller, id).await,
            CreateProject {
                key,
                name,
                description,
            } => self.create_project(caller, key, name, description).await,
            GetProject { key } => {
                let project = self.project_for(caller, &key, ProjectRole::Viewer).await?;
                Ok(ResponseBody::Project((*project).clone()))
            }
            ListProjects { include_archived } => self.list_projects(caller, include_archived).await,
            UpdateProject {
                key,
                name,
                description,
            } => self.update_project(caller, key, name, description).await,
            SetProjectArchived { key, archived } => {
                self.set_project_archived(caller, key, archived).await
            }
            SetMember {
                project,
                handle,
                role,
            } => self.set_member(caller, project, handle, Some(role)).await,
            RemoveMember { project, handle } => {
                self.set_member(caller, project, handle, None).await
            }
            AddState {
                project,
                name,
                category,
                position,
            } => {
                self.add_state(caller, project, name, category, position)
                    .await
            }
            RenameState {
                project,
                state,
                name,
            } => self.rename_state(caller, project, state, name).await,
            MoveState {
                project,
                state,
                position,
            } => self.move_state(caller, project, state, position).await,
            RemoveState {
                project,
                state,
                move_to,
            } => self.remove_state(caller, project, state, move_to).await,
            CreateIssue(new) => self.create_issue(caller, new).await,
            GetIssue { key } => Ok(ResponseBody::Issue(
                self.issue_for(caller, &key, ProjectRole::Viewer).await?.1,
            )),
            ListIssues { project, filter } => self.list_issues(caller, project, filter).await,
            UpdateIssue {
                key,
                version,
                patch,
            } => self.update_issue(caller, key, Some(version), patch).await,
            MoveIssue { key, state } => {
                let patch = tack_protocol::IssuePatch {
                    state: Some(state),
                    ..Default::default()
                };
                self.update_issue(caller, key, None, patch).await
            }
            RankIssue { key, after, before } => self.rank_issue(caller, key, after, before).await,
            AssignIssue { key, add, remove } => self.assign_issue(caller, key, add, remove).await,
            LabelIssue { key, add, remove } => self.label_issue(caller, key, add, remove).await,
            CloseIssue { key } => self.close_issue(caller, key, true).await,
            ReopenIssue { key } => self.close_issue(caller, key, false).await,
            DeleteIssue { key } => self.delete_issue(caller, key).await,
            AddComment { issue, body } => self.add_comment(caller, issue, body).await,
            EditComment { id, body } => self.edit_comment(caller, id, body).await,
            DeleteComment { id } => self.delete_comment(caller, id).await,
            ListComments { issue } => self.list_comments(caller, issue).await,
            IssueActivity { key } => self.issue_activity(caller, key).await,
            ProjectActivity {
                project,
                after,
                limit,
            } => self.project_activity(caller, project, after, limit).await,
            AllActivity { after, limit } => self.all_activity(caller, after, limit).await,
            Backup { path } => self.backup(caller, path).await,
            BeginTotp => self.begin_totp(caller).await,
            ConfirmTotp { code } => self.confirm_totp(caller, code).await,
            DisableTotp { code } => self.disable_totp(caller, code).await,
            TotpStatus => self.totp_status(caller).await,
            ListNotifications { unread_only } => self.list_notifications(caller, unread_only).await,
            MarkNotificationsRead { ids } => self.mark_read(caller, ids).await,
            WatchIssue { key, watch } => self.watch_issue(caller, key, watch).await,
            UpdateUser {
                handle,
                display_name,
                email,
                role,
                email_notifications,
            } => {
                self.update_user(
                    caller,
                    handle,
                    display_name,
                    email,
                    role,
                    email_notifications,
                )
                .await
            }
            DeleteUser {
                handle,
                reassign_to,
            } => self.delete_user(caller, handle, reassign_to).await,
            UserSettings { handle } => self.user_settings(caller, handle).await,
            AllKeys => self.all_keys(caller).await,
            AllTokens => {
                self.require_admin(caller, "see everyone's tokens")?;
                self.list_tokens(&Caller::Console, None).await
            }
            ListSessions => self.list_sessions(caller),
            KickSession { id } => self.kick_session(caller, id),
            ListJobs { state } => self.list_jobs(caller, state).await,
            RetryJob { id } => self.retry_job(caller, id).await,
            DropJob { id } => self.drop_job(caller, id).await,
            RunJob { kind } => self.run_job(caller, kind).await,
            CreateWebhook {
                project,
                url,
                secret,
                events,
                query,
            } => {
                self.create_webhook(caller, project, url, secret, events, query)
                    .await
            }
            ListWebhooks { project } => self.list_webhooks(caller, project).await,
            DeleteWebhook { id } => self.delete_webhook(caller, id).await,
            WebhookDeliveries { project, limit } => {
                self.webhook_deliveries(caller, project, limit).await
            }
            Audit {
                filter,
                before,
                limit,
            } => self.audit(caller, filter, before, limit).await,
            Health => self.health(caller).await,
            ListBackups => self.list_backups(caller),
            VerifyBackup { name } => self.verify_backup(caller, name).await,
            Search {
                text,
                project,
                limit,
            } => self.search(caller, text, project, limit).await,
            SaveView {
                name,
                project,
                query,
                layout,
                shared,
            } => {
                self.save_view(caller, name, project, query, layout, shared)
                    .await
            }
            ListViews { project } => self.list_views(caller, project).await,
            ShowView { name } => self.show_view(caller, name).await,
            DeleteView { name } => self.delete_view(caller, name).await,
            ExportIssues {
                project,
                after,
                limit,
            } => self.export_issues(caller, project, after, limit).await,
            ImportIssues {
                project,
                issues,
                placeholders,
            } => {
                self.import_issues(caller, project, issues, placeholders)
                    .await
            }
            MergeUser { from, into } => self.merge_user(caller, from, into).await,
            Insights {
                project,
                query,
                weeks,
            } => self.insights(caller, project, query, weeks).await,
            UnlockUser { handle } => self.unlock_user(caller, handle).await,
            Subscribe { .. } | Unsubscribe => Err(ApiError::invalid(
                "request",
                "subscriptions are handled by the connection; send Subscribe on a protocol connection",
            )),
        }
    }
}
