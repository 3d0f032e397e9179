//! The request each row of the RBAC matrix sends, and the setup it needs.

use tack_protocol::*;

use super::Who::{self, *};
use super::fixture::{Fixture, KEY_A, KEY_B_FP, issue, ok};

/// The current code of a TOTP secret as an authenticator app shows it.
fn totp_code(secret: &str) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .with_account_name("x")
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now).to_string()
}

/// Starts two-factor enrolment as `who` (if a person); the code that confirms it.
async fn enrol(f: &Fixture, who: Who) -> String {
    match f.service.handle(f.caller(who), Request::BeginTotp).await {
        Ok(ResponseBody::TotpSetup { secret, .. }) => totp_code(&secret),
        _ => "000000".into(),
    }
}

fn import_item() -> ImportIssue {
    ImportIssue {
        source: "rbac:1".into(),
        number: None,
        title: "Imported".into(),
        description: String::new(),
        state: None,
        closed: false,
        priority: Priority::None,
        assignees: vec![],
        labels: vec![],
        estimate: None,
        due: None,
        rank: None,
        creator: None,
        created_at: None,
        updated_at: None,
        closed_at: None,
        comments: vec![],
    }
}

/// The request a row sends as `who`, after the setup it needs on `f`.
pub(super) async fn request(f: &Fixture, name: &str, who: Who) -> Request {
    let s = |v: &str| v.to_string();
    match name {
        "Whoami" => Request::Whoami,
        "CreateUser" => Request::CreateUser {
            handle: s("newbie"),
            display_name: s("N"),
            email: None,
            role: ServerRole::User,
        },
        "SetUserDisabled" => Request::SetUserDisabled {
            handle: s("outsider"),
            disabled: true,
        },
        "ListUsers" => Request::ListUsers,
        "AddKey(self)" => Request::AddKey {
            user: None,
            public_key: s(KEY_A),
        },
        "AddKey(member)" => Request::AddKey {
            user: Some(s("member")),
            public_key: s(KEY_A),
        },
        "RemoveKey" => Request::RemoveKey {
            fingerprint: s(KEY_B_FP),
        },
        "ListKeys(member)" => Request::ListKeys {
            user: Some(s("member")),
        },
        "CreateToken(self)" => Request::CreateToken {
            user: None,
            name: s("x"),
        },
        "CreateToken(member)" => Request::CreateToken {
            user: Some(s("member")),
            name: s("x"),
        },
        "ListTokens(self)" => Request::ListTokens { user: None },
        "RevokeToken" => Request::RevokeToken {
            id: f.member_token.clone(),
        },
        "CreateInvite" => Request::CreateInvite {
            role: ServerRole::User,
            expires_in_secs: 60,
        },
        "RedeemInvite" => Request::RedeemInvite {
            code: f.invite_code.clone(),
            handle: s("fresh"),
            display_name: s("F"),
            public_key: None,
            token_name: None,
        },
        "ListInvites" => Request::ListInvites,
        "RevokeInvite" => Request::RevokeInvite {
            id: f.invite_id.clone(),
        },
        "CreateProject" => Request::CreateProject {
            key: s("NEW"),
            name: s("New"),
            description: String::new(),
        },
        "GetProject" => Request::GetProject { key: s("TACK") },
        "ListProjects" => Request::ListProjects {
            include_archived: true,
        },
        "UpdateProject" => Request::UpdateProject {
            key: s("TACK"),
            name: Some(s("Renamed")),
            description: None,
        },
        "SetProjectArchived" => Request::SetProjectArchived {
            key: s("TACK"),
            archived: true,
        },
        "SetMember" => Request::SetMember {
            project: s("TACK"),
            handle: s("outsider"),
            role: ProjectRole::Viewer,
        },
        "RemoveMember" => Request::RemoveMember {
            project: s("TACK"),
            handle: s("viewer"),
        },
        "AddState" => Request::AddState {
            project: s("TACK"),
            name: s("Review"),
            category: StateCategory::Started,
            position: None,
        },
        "RenameState" => Request::RenameState {
            project: s("TACK"),
            state: s("Todo"),
            name: s("To do"),
        },
        "MoveState" => Request::MoveState {
            project: s("TACK"),
            state: s("Done"),
            position: 0,
        },
        "RemoveState" => Request::RemoveState {
            project: s("TACK"),
            state: s("Todo"),
            move_to: s("Backlog"),
        },
        "CreateIssue" => issue("TACK", "three"),
        "GetIssue" => Request::GetIssue { key: s("TACK-1") },
        "ListIssues(project)" => Request::ListIssues {
            project: Some(s("TACK")),
            filter: IssueFilter::default(),
        },
        "ListIssues(all)" => Request::ListIssues {
            project: None,
            filter: IssueFilter::default(),
        },
        "UpdateIssue" => Request::UpdateIssue {
            key: s("TACK-1"),
            version: 1,
            patch: IssuePatch {
                title: Some(s("new")),
                ..Default::default()
            },
        },
        "MoveIssue" => Request::MoveIssue {
            key: s("TACK-1"),
            state: s("Done"),
        },
        "RankIssue" => Request::RankIssue {
            key: s("TACK-2"),
            after: None,
            before: Some(s("TACK-1")),
        },
        "AssignIssue" => Request::AssignIssue {
            key: s("TACK-1"),
            add: vec![s("member")],
            remove: vec![],
        },
        "LabelIssue" => Request::LabelIssue {
            key: s("TACK-1"),
            add: vec![s("bug")],
            remove: vec![],
        },
        "CloseIssue" => Request::CloseIssue { key: s("TACK-1") },
        "ReopenIssue" => {
            ok(&f.service, Request::CloseIssue { key: s("TACK-1") }).await;
            Request::ReopenIssue { key: s("TACK-1") }
        }
        "DeleteIssue" => Request::DeleteIssue { key: s("TACK-1") },
        "AddComment" => Request::AddComment {
            issue: s("TACK-1"),
            body: s("hello"),
        },
        "EditComment" => Request::EditComment {
            id: f.comment,
            body: s("edited"),
        },
        "DeleteComment" => Request::DeleteComment { id: f.comment },
        "ListComments" => Request::ListComments { issue: s("TACK-1") },
        "IssueActivity" => Request::IssueActivity { key: s("TACK-1") },
        "ProjectActivity" => Request::ProjectActivity {
            project: s("TACK"),
            after: None,
            limit: 10,
        },
        "AllActivity" => Request::AllActivity {
            after: None,
            limit: 10,
        },
        "BeginTotp" => Request::BeginTotp,
        "ConfirmTotp" => Request::ConfirmTotp {
            code: enrol(f, who).await,
        },
        "DisableTotp" => {
            let code = enrol(f, who).await;
            let _ = f
                .service
                .handle(f.caller(who), Request::ConfirmTotp { code: code.clone() })
                .await;
            Request::DisableTotp { code }
        }
        "TotpStatus" => Request::TotpStatus,
        "ListNotifications" => Request::ListNotifications { unread_only: false },
        "MarkNotificationsRead" => Request::MarkNotificationsRead { ids: vec![] },
        "WatchIssue" => Request::WatchIssue {
            key: s("TACK-1"),
            watch: true,
        },
        "Backup" => Request::Backup {
            path: s("taken.tackbak"),
        },
        "UpdateUser(self)" => Request::UpdateUser {
            handle: match who {
                Outsider => s("outsider"),
                Viewer => s("viewer"),
                Member => s("member"),
                Owner => s("owner"),
                Admin => s("admin"),
                Disabled => s("disabled"),
                Anonymous | Console => s("member"),
            },
            display_name: Some(s("Me")),
            email: None,
            role: None,
            email_notifications: None,
        },
        "UpdateUser(member)" => Request::UpdateUser {
            handle: s("member"),
            display_name: Some(s("Renamed")),
            email: None,
            role: None,
            email_notifications: None,
        },
        "DeleteUser" => Request::DeleteUser {
            handle: s("outsider"),
            reassign_to: None,
        },
        "UserSettings(self)" => Request::UserSettings { handle: None },
        "UserSettings(member)" => Request::UserSettings {
            handle: Some(s("member")),
        },
        "AllKeys" => Request::AllKeys,
        "AllTokens" => Request::AllTokens,
        "ListSessions" => Request::ListSessions,
        "KickSession" => Request::KickSession { id: f.session },
        "ListJobs" => Request::ListJobs { state: None },
        "RetryJob" => Request::RetryJob { id: f.failed_job },
        "DropJob" => Request::DropJob { id: f.failed_job },
        "RunJob" => Request::RunJob { kind: s("expire") },
        "CreateWebhook" => Request::CreateWebhook {
            project: s("TACK"),
            url: s("http://192.0.2.2/hook"),
            secret: s("another-secret"),
            events: vec![],
            query: None,
        },
        "ListWebhooks" => Request::ListWebhooks { project: s("TACK") },
        "DeleteWebhook" => Request::DeleteWebhook { id: f.webhook },
        "WebhookDeliveries" => Request::WebhookDeliveries {
            project: s("TACK"),
            limit: 10,
        },
        "Audit" => Request::Audit {
            filter: AuditFilter::default(),
            before: None,
            limit: 10,
        },
        "Health" => Request::Health,
        "ListBackups" => Request::ListBackups,
        "VerifyBackup" => Request::VerifyBackup {
            name: s("fixture.tackbak"),
        },
        "Search(project)" => Request::Search {
            text: s("one"),
            project: Some(s("TACK")),
            limit: 10,
        },
        "Search(all)" => Request::Search {
            text: s("one"),
            project: None,
            limit: 10,
        },
        "SaveView(personal)" => Request::SaveView {
            name: s("mine"),
            project: None,
            query: s("is:open"),
            layout: Layout::List,
            shared: false,
        },
        "SaveView(shared)" => Request::SaveView {
            name: s("ours"),
            project: Some(s("TACK")),
            query: s("is:open"),
            layout: Layout::Board,
            shared: true,
        },
        "ListViews" => Request::ListViews { project: None },
        "ShowView(shared)" => Request::ShowView {
            name: s("team board"),
        },
        "DeleteView(shared)" => Request::DeleteView {
            name: s("team board"),
        },
        "ExportIssues" => Request::ExportIssues {
            project: s("TACK"),
            after: 0,
            limit: 10,
        },
        "ImportIssues" => Request::ImportIssues {
            project: s("TACK"),
            issues: vec![import_item()],
            placeholders: false,
        },
        "MergeUser" => Request::MergeUser {
            from: s("ghost"),
            into: s("member"),
        },
        "Insights" => Request::Insights {
            project: s("TACK"),
            query: None,
            weeks: 4,
        },
        "UnlockUser" => Request::UnlockUser {
            handle: s("member"),
        },
        "Subscribe" => Request::Subscribe {
            project: None,
            after_seq: None,
            query: None,
        },
        "Unsubscribe" => Request::Unsubscribe,
        other => panic!("no request for the row {other}"),
    }
}
