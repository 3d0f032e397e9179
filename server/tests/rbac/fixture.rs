//! The world the RBAC matrix runs in: one project with a viewer, a member and an owner, an
//! outsider, an admin, the console, and the records the requests act on.

use std::sync::Arc;

use tack_data::{JobOutcome, Op, Store, Write};
use tack_data_sled::{SledStore, StoreConfig};
use tack_protocol::*;
use tack_server::runtime::sessions::SessionGuard;
use tack_server::runtime::{BackupSettings, Runtime};
use tack_server::search_index::SearchIndex;
use tack_server::service::{Caller, Service, ServiceConfig};

use super::Who::{self, *};

pub(super) const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJE63XVhB31WXd9FelFdgpLQjc0BVXVaM2eBW5BGPJIb a";
const KEY_B: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLH8bCN/If5Ag1af359J6oQEu7QM3kNh7M0muZvmsexExoGPH14zuywdYoRgsuccLD88p/sHuQDLc3ixySiGysE= b";
pub(super) const KEY_B_FP: &str = "SHA256:QSJhtST5Cyujsl5Ytzd3MtFFff7nZCB582/oC5ne3XA";

pub(super) struct Fixture {
    pub(super) _dir: tempfile::TempDir,
    pub(super) service: Arc<Service>,
    pub(super) callers: Vec<(Who, Caller)>,
    pub(super) member_token: String,
    pub(super) invite_code: String,
    pub(super) invite_id: String,
    pub(super) comment: u64,
    pub(super) failed_job: u64,
    pub(super) webhook: u64,
    pub(super) session: u64,
    pub(super) _session: SessionGuard,
}

impl Fixture {
    pub(super) fn caller(&self, who: Who) -> &Caller {
        &self.callers.iter().find(|(w, _)| *w == who).unwrap().1
    }
}

pub(super) async fn ok(service: &Service, request: Request) -> ResponseBody {
    let shown = format!("{request:?}");
    match service.handle(&Caller::Console, request).await {
        Ok(body) => body,
        Err(err) => panic!("fixture step {shown} failed: {err}"),
    }
}

pub(super) fn issue(project: &str, title: &str) -> Request {
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

pub(super) async fn fixture() -> Fixture {
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
