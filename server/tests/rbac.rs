//! The RBAC matrix, exact: every request × every kind of caller. An allowed request must
//! *succeed* (`Ok`) on a fixture made for it; a refused one must fail with exactly the expected
//! error (`unauthenticated` for no identity or a disabled account, `forbidden` for a missing role,
//! unless a row says otherwise). Every `Request` variant needs a row: the test names any without.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tack_data::{JobOutcome, Op, Store, Write};
use tack_data_sled::{SledStore, StoreConfig};
use tack_protocol::*;
use tack_server::runtime::sessions::SessionGuard;
use tack_server::runtime::{BackupSettings, Runtime};
use tack_server::search_index::SearchIndex;
use tack_server::service::{Caller, Service, ServiceConfig};

const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJE63XVhB31WXd9FelFdgpLQjc0BVXVaM2eBW5BGPJIb a";
const KEY_B: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLH8bCN/If5Ag1af359J6oQEu7QM3kNh7M0muZvmsexExoGPH14zuywdYoRgsuccLD88p/sHuQDLc3ixySiGysE= b";
const KEY_B_FP: &str = "SHA256:QSJhtST5Cyujsl5Ytzd3MtFFff7nZCB582/oC5ne3XA";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// A member of TACK whose account was disabled after they connected.
    Disabled,
    Outsider,
    Viewer,
    Member,
    Owner,
    Admin,
    Console,
}
use Who::*;

const EVERYONE: &[Who] = &[
    Anonymous, Disabled, Outsider, Viewer, Member, Owner, Admin, Console,
];
const USERS: &[Who] = &[Outsider, Viewer, Member, Owner, Admin, Console];
/// People, not the console: what belongs to a person (two-factor, an inbox, settings).
const PEOPLE: &[Who] = &[Outsider, Viewer, Member, Owner, Admin];
const READERS: &[Who] = &[Viewer, Member, Owner, Admin, Console];
const WRITERS: &[Who] = &[Member, Owner, Admin, Console];
const OWNERS: &[Who] = &[Owner, Admin, Console];
const ADMINS: &[Who] = &[Admin, Console];
const MEMBER_OR_ADMINS: &[Who] = &[Member, Admin, Console];
const NOBODY: &[Who] = &[];

struct Fixture {
    _dir: tempfile::TempDir,
    service: Arc<Service>,
    callers: Vec<(Who, Caller)>,
    member_token: String,
    invite_code: String,
    invite_id: String,
    comment: u64,
    failed_job: u64,
    webhook: u64,
    session: u64,
    _session: SessionGuard,
}

impl Fixture {
    fn caller(&self, who: Who) -> &Caller {
        &self.callers.iter().find(|(w, _)| *w == who).unwrap().1
    }
}

async fn ok(service: &Service, request: Request) -> ResponseBody {
    let shown = format!("{request:?}");
    match service.handle(&Caller::Console, request).await {
        Ok(body) => body,
        Err(err) => panic!("fixture step {shown} failed: {err}"),
    }
}

fn issue(project: &str, title: &str) -> Request {
    Request::CreateIssue(NewIssue {
        project: project.into(),
        title: title.into(),
        description: String::new(),
        state: None,
        priority: Priority::None,
        assignees: vec![],
        labels: vec![],
        estimate: None,
        due: None,
        parent: None,
    })
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SledStore::open(&StoreConfig::new(dir.path().join("store"))).unwrap());
    let runtime = Arc::new(Runtime::new(
        BackupSettings {
            dir: dir.path().join("backups"),
            schedule: None,
            retention: 3,
        },
        false,
    ));
    let index = SearchIndex::open(&dir.path().join("search"), 0).unwrap();
    let _ = runtime.search.set(Arc::new(index));
    let service = Service::new(
        store.clone(),
        ServiceConfig {
            event_buffer: 4096,
            runtime: runtime.clone(),
        },
    );
    let mut users = Vec::new();
    for (handle, role) in [
        ("outsider", ServerRole::User),
        ("viewer", ServerRole::User),
        ("member", ServerRole::User),
        ("owner", ServerRole::User),
        ("admin", ServerRole::Admin),
        ("disabled", ServerRole::User),
        ("ghost", ServerRole::User),
    ] {
        let ResponseBody::User(user) = ok(
            &service,
            Request::CreateUser {
                handle: handle.into(),
                display_name: handle.into(),
                email: Some(format!("{handle}@example.com")),
                role,
            },
        )
        .await
        else {
            panic!()
        };
        users.push(user);
    }
    ok(
        &service,
        Request::CreateProject {
            key: "TACK".into(),
            name: "Tack".into(),
            description: String::new(),
        },
    )
    .await;
    for (handle, role) in [
        ("viewer", ProjectRole::Viewer),
        ("member", ProjectRole::Member),
        ("owner", ProjectRole::Owner),
        ("disabled", ProjectRole::Member),
    ] {
        ok(
            &service,
            Request::SetMember {
                project: "TACK".into(),
                handle: handle.into(),
                role,
            },
        )
        .await;
    }
    let as_user = |i: usize| Caller::User {
        user: users[i].clone(),
        token: None,
    };
    let member = as_user(2);
    service.handle(&member, issue("TACK", "one")).await.unwrap();
    service.handle(&member, issue("TACK", "two")).await.unwrap();
    let ResponseBody::Comment(comment) = service
        .handle(
            &member,
            Request::AddComment {
                issue: "TACK-1".into(),
                body: "hi".into(),
            },
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    ok(
        &service,
        Request::AddKey {
            user: Some("member".into()),
            public_key: KEY_B.into(),
        },
    )
    .await;
    let ResponseBody::TokenCreated { token, .. } = ok(
        &service,
        Request::CreateToken {
            user: Some("member".into()),
            name: "ci".into(),
        },
    )
    .await
    else {
        panic!()
    };
    let ResponseBody::InviteCreated { invite, code } = ok(
        &service,
        Request::CreateInvite {
            role: ServerRole::User,
            expires_in_secs: 3600,
        },
    )
    .await
    else {
        panic!()
    };
    let ResponseBody::Webhook(webhook) = ok(
        &service,
        Request::CreateWebhook {
            project: "TACK".into(),
            url: "http://192.0.2.1/hook".into(),
            secret: "shared-secret".into(),
            events: vec![],
            query: None,
        },
    )
    .await
    else {
        panic!()
    };
    // A job that failed for good, to retry or drop.
    ok(
        &service,
        Request::RunJob {
            kind: "expire".into(),
        },
    )
    .await;
    let ResponseBody::Jobs(jobs) = ok(&service, Request::ListJobs { state: None }).await else {
        panic!()
    };
    let failed_job = jobs.iter().find(|j| j.kind == JobKind::Expire).unwrap().id;
    store
        .submit(Write {
            actor: Actor::Console,
            at: 0,
            op: Op::FinishJob {
                id: failed_job,
                outcome: JobOutcome::Failed {
                    error: "the fixture failed it".into(),
                },
                delivery: None,
            },
            changes: vec![],
            follow: Default::default(),
        })
        .wait()
        .await
        .unwrap();
    ok(
        &service,
        Request::SaveView {
            name: "team board".into(),
            project: Some("TACK".into()),
            query: "is:open".into(),
            layout: Layout::Board,
            shared: true,
        },
    )
    .await;
    ok(
        &service,
        Request::Backup {
            path: "fixture.tackbak".into(),
        },
    )
    .await;
    let session = runtime
        .sessions
        .open(SessionKind::Ssh, "127.0.0.1:1".into(), "@member");
    ok(
        &service,
        Request::SetUserDisabled {
            handle: "disabled".into(),
            disabled: true,
        },
    )
    .await;
    let callers = vec![
        (Anonymous, Caller::Anonymous),
        (Disabled, as_user(5)),
        (Outsider, as_user(0)),
        (Viewer, as_user(1)),
        (Member, member),
        (Owner, as_user(3)),
        (Admin, as_user(4)),
        (Console, Caller::Console),
    ];
    Fixture {
        _dir: dir,
        service,
        callers,
        member_token: token.id,
        invite_code: code,
        invite_id: invite.id,
        comment: comment.id,
        failed_job,
        webhook: webhook.hook.id,
        session: session.entry.id,
        _session: session,
    }
}

/// One row: who may make the request, whether it changes anything (an allowed change gets a
/// fixture of its own), and refusals other than the usual ones.
struct Row {
    name: &'static str,
    allowed: &'static [Who],
    mutating: bool,
    refused_as: &'static [(Who, &'static str)],
}

const fn row(name: &'static str, allowed: &'static [Who], mutating: bool) -> Row {
    Row {
        name,
        allowed,
        mutating,
        refused_as: &[],
    }
}

/// The console is no person: what belongs to one is refused to it as a mistake, not a right.
const NOT_A_PERSON: &[(Who, &str)] = &[(Console, "invalid")];

fn rows() -> Vec<Row> {
    let mut rows = vec![
        row("Whoami", USERS, false),
        row("CreateUser", ADMINS, true),
        row("SetUserDisabled", ADMINS, true),
        row("ListUsers", USERS, false),
        row("AddKey(self)", PEOPLE, true),
        row("AddKey(member)", MEMBER_OR_ADMINS, true),
        row("RemoveKey", MEMBER_OR_ADMINS, true),
        row("ListKeys(member)", MEMBER_OR_ADMINS, false),
        row("CreateToken(self)", PEOPLE, true),
        row("CreateToken(member)", MEMBER_OR_ADMINS, true),
        row("ListTokens(self)", USERS, false),
        row("RevokeToken", MEMBER_OR_ADMINS, true),
        row("CreateInvite", ADMINS, true),
        // An invite is a bearer secret: whoever holds it may redeem it, signed in or not.
        row(
            "RedeemInvite",
            &[Anonymous, Outsider, Viewer, Member, Owner, Admin, Console],
            true,
        ),
        row("ListInvites", ADMINS, false),
        row("RevokeInvite", ADMINS, true),
        row("CreateProject", USERS, true),
        row("GetProject", READERS, false),
        row("ListProjects", USERS, false),
        row("UpdateProject", OWNERS, true),
        row("SetProjectArchived", OWNERS, true),
        row("SetMember", OWNERS, true),
        row("RemoveMember", OWNERS, true),
        row("AddState", OWNERS, true),
        row("RenameState", OWNERS, true),
        row("MoveState", OWNERS, true),
        row("RemoveState", OWNERS, true),
        row("CreateIssue", WRITERS, true),
        row("GetIssue", READERS, false),
        row("ListIssues(project)", READERS, false),
        row("ListIssues(all)", USERS, false),
        row("UpdateIssue", WRITERS, true),
        row("MoveIssue", WRITERS, true),
        row("RankIssue", WRITERS, true),
        row("AssignIssue", WRITERS, true),
        row("LabelIssue", WRITERS, true),
        row("CloseIssue", WRITERS, true),
        row("ReopenIssue", WRITERS, true),
        row("DeleteIssue", OWNERS, true),
        row("AddComment", WRITERS, true),
        row("EditComment", &[Member], true),
        row("DeleteComment", &[Member, Owner, Admin, Console], true),
        row("ListComments", READERS, false),
        row("IssueActivity", READERS, false),
        row("ProjectActivity", READERS, false),
        row("AllActivity", ADMINS, false),
        row("BeginTotp", PEOPLE, true),
        row("ConfirmTotp", PEOPLE, true),
        row("DisableTotp", PEOPLE, true),
        row("TotpStatus", PEOPLE, false),
        row("ListNotifications", PEOPLE, false),
        row("MarkNotificationsRead", PEOPLE, true),
        row("WatchIssue", &[Viewer, Member, Owner, Admin], true),
        row("Backup", ADMINS, true),
        row("UpdateUser(self)", USERS, true),
        row("UpdateUser(member)", MEMBER_OR_ADMINS, true),
        row("DeleteUser", ADMINS, true),
        row("UserSettings(self)", PEOPLE, false),
        row("UserSettings(member)", MEMBER_OR_ADMINS, false),
        row("AllKeys", ADMINS, false),
        row("AllTokens", ADMINS, false),
        row("ListSessions", ADMINS, false),
        row("KickSession", ADMINS, true),
        row("ListJobs", ADMINS, false),
        row("RetryJob", ADMINS, true),
        row("DropJob", ADMINS, true),
        row("RunJob", ADMINS, true),
        row("CreateWebhook", OWNERS, true),
        row("ListWebhooks", OWNERS, false),
        row("DeleteWebhook", OWNERS, true),
        row("WebhookDeliveries", OWNERS, false),
        row("Audit", ADMINS, false),
        row("Health", ADMINS, false),
        row("ListBackups", ADMINS, false),
        row("VerifyBackup", ADMINS, false),
        row("Search(project)", READERS, false),
        row("Search(all)", USERS, false),
        row("SaveView(personal)", USERS, true),
        row("SaveView(shared)", WRITERS, true),
        row("ListViews", USERS, false),
        row("ShowView(shared)", READERS, false),
        row("DeleteView(shared)", OWNERS, true),
        row("ExportIssues", READERS, false),
        row("ImportIssues", OWNERS, true),
        row("MergeUser", ADMINS, true),
        row("Insights", READERS, false),
        row("UnlockUser", ADMINS, false),
        // Subscriptions belong to a connection; the dispatcher sends everyone there.
        row("Subscribe", NOBODY, false),
        row("Unsubscribe", NOBODY, false),
    ];
    for row in &mut rows {
        row.refused_as = match row.name {
            "BeginTotp" | "ConfirmTotp" | "DisableTotp" | "TotpStatus" => NOT_A_PERSON,
            "AddKey(self)" | "CreateToken(self)" | "UserSettings(self)" => NOT_A_PERSON,
            "ListNotifications" | "MarkNotificationsRead" | "WatchIssue" => NOT_A_PERSON,
            // Someone outside the project learns nothing, not even that the view exists.
            "ShowView(shared)" | "DeleteView(shared)" => &[(Outsider, "not_found")],
            "Subscribe" | "Unsubscribe" => &[
                (Outsider, "invalid"),
                (Viewer, "invalid"),
                (Member, "invalid"),
                (Owner, "invalid"),
                (Admin, "invalid"),
                (Console, "invalid"),
            ],
            _ => &[],
        };
    }
    rows
}

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
async fn request(f: &Fixture, name: &str, who: Who) -> Request {
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

/// What a refused request must answer for `who`.
fn expected_refusal(row: &Row, who: Who) -> &'static str {
    if let Some((_, kind)) = row.refused_as.iter().find(|(w, _)| *w == who) {
        return kind;
    }
    match who {
        Anonymous | Disabled => "unauthenticated",
        _ => "forbidden",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_against_every_role() {
    let rows = rows();
    let shared = fixture().await;
    let mut failures = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    for row in &rows {
        // Refusals change nothing, so they share one fixture; each allowed change gets its own.
        for &who in EVERYONE {
            let allowed = row.allowed.contains(&who);
            let own;
            let f = if allowed && row.mutating {
                own = fixture().await;
                &own
            } else {
                &shared
            };
            let request = request(f, row.name, who).await;
            covered.insert(<&str>::from(&request));
            let result = f.service.handle(f.caller(who), request).await;
            let outcome = match &result {
                Ok(_) => "ok",
                Err(err) => err.kind(),
            };
            let expected = if allowed {
                "ok"
            } else {
                expected_refusal(row, who)
            };
            if outcome != expected {
                failures.push(format!(
                    "{} as {who:?}: expected {expected}, got {result:?}",
                    row.name
                ));
            }
        }
    }
    let missing: Vec<&str> = Request::kinds()
        .iter()
        .copied()
        .filter(|v| !covered.contains(v))
        .collect();
    assert!(
        missing.is_empty(),
        "requests without a row in the matrix: {missing:?}"
    );
    assert!(
        failures.is_empty(),
        "RBAC mismatches:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn subscriptions_need_read_access() {
    let f = fixture().await;
    for (who, caller) in &f.callers {
        let result = f
            .service
            .subscribe(caller, Some("TACK".into()), None, None)
            .await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(err) => err.kind(),
        };
        let expected = match who {
            _ if READERS.contains(who) => "ok",
            Anonymous | Disabled => "unauthenticated",
            _ => "forbidden",
        };
        assert_eq!(outcome, expected, "{who:?}");
    }
}

#[tokio::test]
async fn an_admin_who_must_enrol_two_factor_can_do_nothing_else() {
    let f = fixture().await;
    let Caller::User { user, .. } = f.caller(Admin) else {
        panic!()
    };
    let enrolling = Caller::Enrolling { user: user.clone() };
    let allowed = ["Whoami", "BeginTotp", "ConfirmTotp", "TotpStatus"];
    let mut failures = Vec::new();
    for row in rows() {
        let request = request(&f, row.name, Admin).await;
        let result = f.service.handle(&enrolling, request).await;
        let refused = matches!(result, Err(ApiError::Forbidden { .. }));
        if allowed.contains(&row.name) == refused {
            failures.push(format!("{}: {result:?}", row.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
