//! The RBAC matrix, exact: every request × every kind of caller. An allowed request must
//! *succeed* (`Ok`) on a fixture made for it; a refused one must fail with exactly the expected
//! error (`unauthenticated` for no identity or a disabled account, `forbidden` for a missing role,
//! unless a row says otherwise). Every `Request` variant needs a row: the test names any without.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "rbac/fixture.rs"]
mod fixture;
#[path = "rbac/requests.rs"]
mod requests;

use tack_protocol::*;
use tack_server::service::Caller;

use fixture::fixture;
use requests::request;

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
