//! The RBAC matrix: every request × every kind of caller, allowed or refused as specified.
//! Server admin ⊃ project owner ⊃ member ⊃ viewer; outsiders and anonymous callers get nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use tack_data::{SledStore, Store, StoreConfig};
use tack_protocol::*;
use tack_server::service::{Caller, Service, ServiceConfig};

const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJE63XVhB31WXd9FelFdgpLQjc0BVXVaM2eBW5BGPJIb a";
const KEY_B: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLH8bCN/If5Ag1af359J6oQEu7QM3kNh7M0muZvmsexExoGPH14zuywdYoRgsuccLD88p/sHuQDLc3ixySiGysE= b";
const KEY_B_FP: &str = "SHA256:QSJhtST5Cyujsl5Ytzd3MtFFff7nZCB582/oC5ne3XA";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Outsider,
    Viewer,
    Member,
    Owner,
    Admin,
    Console,
}
use Who::*;

const EVERYONE: &[Who] = &[Anonymous, Outsider, Viewer, Member, Owner, Admin, Console];
const USERS: &[Who] = &[Outsider, Viewer, Member, Owner, Admin, Console];
const READERS: &[Who] = &[Viewer, Member, Owner, Admin, Console];
const WRITERS: &[Who] = &[Member, Owner, Admin, Console];
const OWNERS: &[Who] = &[Owner, Admin, Console];
const ADMINS: &[Who] = &[Admin, Console];
const MEMBER_SELF_OR_ADMIN: &[Who] = &[Member, Admin, Console];

struct Fixture {
    _dir: tempfile::TempDir,
    service: Arc<Service>,
    callers: Vec<(Who, Caller)>,
    member_token: String,
    invite_code: String,
    invite_id: String,
    comment: u64,
}

async fn ok(service: &Service, request: Request) -> ResponseBody {
    service.handle(&Caller::Console, request).await.unwrap()
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
    let service = Service::new(store, ServiceConfig::default());
    let mut users = Vec::new();
    for (handle, role) in [
        ("outsider", ServerRole::User),
        ("viewer", ServerRole::User),
        ("member", ServerRole::User),
        ("owner", ServerRole::User),
        ("admin", ServerRole::Admin),
    ] {
        let ResponseBody::User(user) = ok(
            &service,
            Request::CreateUser {
                handle: handle.into(),
                display_name: handle.into(),
                email: None,
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
    let callers = vec![
        (Anonymous, Caller::Anonymous),
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
    }
}

/// Every request variant, who may make it, and whether it changes anything.
fn cases(f: &Fixture) -> Vec<(&'static str, Request, &'static [Who], bool)> {
    let backup = f._dir.path().join("backup.tack").display().to_string();
    vec![
        ("Whoami", Request::Whoami, USERS, false),
        (
            "CreateUser",
            Request::CreateUser {
                handle: "newbie".into(),
                display_name: "N".into(),
                email: None,
                role: ServerRole::User,
            },
            ADMINS,
            true,
        ),
        (
            "SetUserDisabled",
            Request::SetUserDisabled {
                handle: "outsider".into(),
                disabled: true,
            },
            ADMINS,
            true,
        ),
        ("ListUsers", Request::ListUsers, USERS, false),
        (
            "AddKey(other)",
            Request::AddKey {
                user: Some("member".into()),
                public_key: KEY_A.into(),
            },
            MEMBER_SELF_OR_ADMIN,
            true,
        ),
        (
            "AddKey(self)",
            Request::AddKey {
                user: None,
                public_key: KEY_A.into(),
            },
            USERS,
            true,
        ),
        (
            "RemoveKey",
            Request::RemoveKey {
                fingerprint: KEY_B_FP.into(),
            },
            MEMBER_SELF_OR_ADMIN,
            true,
        ),
        (
            "ListKeys",
            Request::ListKeys {
                user: Some("member".into()),
            },
            MEMBER_SELF_OR_ADMIN,
            false,
        ),
        (
            "CreateToken",
            Request::CreateToken {
                user: None,
                name: "x".into(),
            },
            USERS,
            true,
        ),
        (
            "ListTokens",
            Request::ListTokens { user: None },
            USERS,
            false,
        ),
        (
            "RevokeToken",
            Request::RevokeToken {
                id: f.member_token.clone(),
            },
            MEMBER_SELF_OR_ADMIN,
            true,
        ),
        (
            "CreateInvite",
            Request::CreateInvite {
                role: ServerRole::User,
                expires_in_secs: 60,
            },
            ADMINS,
            true,
        ),
        (
            "RedeemInvite",
            Request::RedeemInvite {
                code: f.invite_code.clone(),
                handle: "fresh".into(),
                display_name: "F".into(),
                public_key: None,
                token_name: None,
            },
            EVERYONE,
            true,
        ),
        ("ListInvites", Request::ListInvites, ADMINS, false),
        (
            "RevokeInvite",
            Request::RevokeInvite {
                id: f.invite_id.clone(),
            },
            ADMINS,
            true,
        ),
        (
            "CreateProject",
            Request::CreateProject {
                key: "NEW".into(),
                name: "New".into(),
                description: String::new(),
            },
            USERS,
            true,
        ),
        (
            "GetProject",
            Request::GetProject { key: "TACK".into() },
            READERS,
            false,
        ),
        (
            "ListProjects",
            Request::ListProjects {
                include_archived: true,
            },
            USERS,
            false,
        ),
        (
            "UpdateProject",
            Request::UpdateProject {
                key: "TACK".into(),
                name: Some("Renamed".into()),
                description: None,
            },
            OWNERS,
            true,
        ),
        (
            "SetProjectArchived",
            Request::SetProjectArchived {
                key: "TACK".into(),
                archived: true,
            },
            OWNERS,
            true,
        ),
        (
            "SetMember",
            Request::SetMember {
                project: "TACK".into(),
                handle: "outsider".into(),
                role: ProjectRole::Viewer,
            },
            OWNERS,
            true,
        ),
        (
            "RemoveMember",
            Request::RemoveMember {
                project: "TACK".into(),
                handle: "viewer".into(),
            },
            OWNERS,
            true,
        ),
        (
            "AddState",
            Request::AddState {
                project: "TACK".into(),
                name: "Review".into(),
                category: StateCategory::Started,
                position: None,
            },
            OWNERS,
            true,
        ),
        (
            "RenameState",
            Request::RenameState {
                project: "TACK".into(),
                state: "Todo".into(),
                name: "To do".into(),
            },
            OWNERS,
            true,
        ),
        (
            "MoveState",
            Request::MoveState {
                project: "TACK".into(),
                state: "Done".into(),
                position: 0,
            },
            OWNERS,
            true,
        ),
        (
            "RemoveState",
            Request::RemoveState {
                project: "TACK".into(),
                state: "Todo".into(),
                move_to: "Backlog".into(),
            },
            OWNERS,
            true,
        ),
        ("CreateIssue", issue("TACK", "three"), WRITERS, true),
        (
            "GetIssue",
            Request::GetIssue {
                key: "TACK-1".into(),
            },
            READERS,
            false,
        ),
        (
            "ListIssues(project)",
            Request::ListIssues {
                project: Some("TACK".into()),
                filter: IssueFilter::default(),
            },
            READERS,
            false,
        ),
        (
            "ListIssues(all)",
            Request::ListIssues {
                project: None,
                filter: IssueFilter::default(),
            },
            USERS,
            false,
        ),
        (
            "UpdateIssue",
            Request::UpdateIssue {
                key: "TACK-1".into(),
                version: 1,
                patch: IssuePatch {
                    title: Some("new".into()),
                    ..Default::default()
                },
            },
            WRITERS,
            true,
        ),
        (
            "MoveIssue",
            Request::MoveIssue {
                key: "TACK-1".into(),
                state: "Done".into(),
            },
            WRITERS,
            true,
        ),
        (
            "RankIssue",
            Request::RankIssue {
                key: "TACK-2".into(),
                after: None,
                before: Some("TACK-1".into()),
            },
            WRITERS,
            true,
        ),
        (
            "AssignIssue",
            Request::AssignIssue {
                key: "TACK-1".into(),
                add: vec!["member".into()],
                remove: vec![],
            },
            WRITERS,
            true,
        ),
        (
            "LabelIssue",
            Request::LabelIssue {
                key: "TACK-1".into(),
                add: vec!["bug".into()],
                remove: vec![],
            },
            WRITERS,
            true,
        ),
        (
            "CloseIssue",
            Request::CloseIssue {
                key: "TACK-1".into(),
            },
            WRITERS,
            true,
        ),
        (
            "ReopenIssue",
            Request::ReopenIssue {
                key: "TACK-1".into(),
            },
            WRITERS,
            true,
        ),
        (
            "DeleteIssue",
            Request::DeleteIssue {
                key: "TACK-1".into(),
            },
            OWNERS,
            true,
        ),
        (
            "AddComment",
            Request::AddComment {
                issue: "TACK-1".into(),
                body: "hello".into(),
            },
            WRITERS,
            true,
        ),
        (
            "EditComment",
            Request::EditComment {
                id: f.comment,
                body: "edited".into(),
            },
            &[Member],
            true,
        ),
        (
            "DeleteComment",
            Request::DeleteComment { id: f.comment },
            &[Member, Owner, Admin, Console],
            true,
        ),
        (
            "ListComments",
            Request::ListComments {
                issue: "TACK-1".into(),
            },
            READERS,
            false,
        ),
        (
            "IssueActivity",
            Request::IssueActivity {
                key: "TACK-1".into(),
            },
            READERS,
            false,
        ),
        (
            "ProjectActivity",
            Request::ProjectActivity {
                project: "TACK".into(),
                after: None,
                limit: 10,
            },
            READERS,
            false,
        ),
        (
            "AllActivity",
            Request::AllActivity {
                after: None,
                limit: 10,
            },
            ADMINS,
            false,
        ),
        ("BeginTotp", Request::BeginTotp, USERS, true),
        (
            "ConfirmTotp",
            Request::ConfirmTotp {
                code: "000000".into(),
            },
            USERS,
            true,
        ),
        (
            "DisableTotp",
            Request::DisableTotp {
                code: "000000".into(),
            },
            USERS,
            true,
        ),
        ("TotpStatus", Request::TotpStatus, USERS, false),
        (
            "ListNotifications",
            Request::ListNotifications { unread_only: false },
            USERS,
            false,
        ),
        (
            "MarkNotificationsRead",
            Request::MarkNotificationsRead { ids: vec![] },
            USERS,
            true,
        ),
        (
            "WatchIssue",
            Request::WatchIssue {
                key: "TACK-1".into(),
                watch: true,
            },
            READERS,
            true,
        ),
        ("Backup", Request::Backup { path: backup }, ADMINS, true),
    ]
}

fn refused(result: &Result<ResponseBody, ApiError>) -> bool {
    matches!(
        result,
        Err(ApiError::Forbidden { .. }) | Err(ApiError::Unauthenticated { .. })
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_against_every_role() {
    let shared = fixture().await;
    let names: Vec<(&str, bool)> = cases(&shared).iter().map(|(n, _, _, m)| (*n, *m)).collect();
    let mut failures = Vec::new();
    for (index, (name, mutating)) in names.iter().enumerate() {
        // Refusals change nothing, so they share one fixture; each allowed mutation gets its own.
        let denied_fixture = fixture().await;
        for who in EVERYONE {
            let allowed_fixture;
            let fixture = {
                let (_, _, allowed, _) = &cases(&denied_fixture)[index];
                if allowed.contains(who) && *mutating {
                    allowed_fixture = fixture().await;
                    &allowed_fixture
                } else {
                    &denied_fixture
                }
            };
            let (_, request, allowed, _) = cases(fixture).swap_remove(index);
            let caller = &fixture.callers.iter().find(|(w, _)| w == who).unwrap().1;
            let result = fixture.service.handle(caller, request).await;
            let expected_allowed = allowed.contains(who);
            if expected_allowed == refused(&result) {
                failures.push(format!(
                    "{name} as {who:?}: expected {}, got {result:?}",
                    if expected_allowed {
                        "allowed"
                    } else {
                        "refused"
                    }
                ));
            }
        }
    }
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
        if *who == Anonymous {
            continue;
        }
        let result = f
            .service
            .subscribe(caller, Some("TACK".into()), None, None)
            .await;
        assert_eq!(result.is_ok(), READERS.contains(who), "{who:?}");
    }
}

#[tokio::test]
async fn a_disabled_user_is_refused_at_once() {
    let f = fixture().await;
    let member = f
        .callers
        .iter()
        .find(|(w, _)| *w == Member)
        .unwrap()
        .1
        .clone();
    assert!(f.service.handle(&member, Request::Whoami).await.is_ok());
    f.service
        .handle(
            &Caller::Console,
            Request::SetUserDisabled {
                handle: "member".into(),
                disabled: true,
            },
        )
        .await
        .unwrap();
    let err = f
        .service
        .handle(&member, Request::Whoami)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("disabled"), "{err}");
}

#[tokio::test]
async fn an_admin_who_must_enrol_two_factor_can_do_nothing_else() {
    let f = fixture().await;
    let Some((_, Caller::User { user, .. })) = f.callers.iter().find(|(w, _)| *w == Admin) else {
        panic!()
    };
    let enrolling = Caller::Enrolling { user: user.clone() };
    let allowed = ["Whoami", "BeginTotp", "ConfirmTotp", "TotpStatus"];
    let mut failures = Vec::new();
    for (name, request, _, _) in cases(&f) {
        let result = f.service.handle(&enrolling, request).await;
        if allowed.contains(&name) == refused(&result) {
            failures.push(format!("{name}: {result:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
