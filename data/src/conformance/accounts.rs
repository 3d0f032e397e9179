//! Cases on people and their credentials: keys and claims on keys, tokens, invites, second
//! factors, settings, deleting a person and merging a placeholder into a real one.

use std::path::Path;

use tack_protocol::{
    ActivityKind, Actor, ApiToken, Comment, EmailMode, Invite, ServerRole, SshKey, UserId,
    UserSettings,
};

use super::*;
use crate::{Op, PendingKey, StoredInvite, StoredToken, TotpRecord, WriteError};

fn key(fingerprint: &str, owner: UserId) -> SshKey {
    SshKey {
        fingerprint: fingerprint.into(),
        owner,
        algorithm: "ssh-ed25519".into(),
        comment: format!("{fingerprint} of #{owner}"),
        public_key: format!("AAAA{fingerprint}"),
        added_at: AT,
        last_used_at: None,
    }
}

fn token(id: &str, user: UserId) -> StoredToken {
    StoredToken {
        token: ApiToken {
            id: id.into(),
            user,
            name: format!("token {id}"),
            created_at: AT,
            last_used_at: None,
            revoked: false,
        },
        hash: format!("hash of {id}"),
    }
}

/// Creates a person (with a first key when `fingerprint` is given); returns their id.
pub(crate) async fn create_user(store: &dyn Store, handle: &str, fingerprint: Option<&str>) -> u64 {
    commit(
        store,
        Op::CreateUser {
            user: user(handle),
            key: fingerprint.map(|f| key(f, 0)),
            token: None,
            invite: None,
        },
    )
    .await;
    store.user_by_handle(handle).await.unwrap().unwrap().id
}

pub async fn keys_belong_to_one_person_and_claims_give_way(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let alice = create_user(store, "alice", Some("SHA256:a")).await;
    let bob = create_user(store, "bob", None).await;
    let first = store.key("SHA256:a").await.unwrap().unwrap();
    assert_eq!(first.owner, alice, "the first key is its creator's");
    assert_eq!(store.keys_of(alice).await.unwrap(), [first]);
    let taken = store
        .submit(write(Op::AddKey(key("SHA256:a", bob))))
        .wait()
        .await;
    assert!(matches!(taken, Err(WriteError::Taken { .. })), "{taken:?}");

    // Two people claim one key; the one who proves it gets it, and every claim goes.
    for owner in [alice, bob] {
        let claim = PendingKey {
            key: key("SHA256:b", owner),
            code_hash: format!("code of #{owner}"),
        };
        commit(store, Op::AddPendingKey(claim)).await;
    }
    assert_eq!(store.pending_keys("SHA256:b").await.unwrap().len(), 2);
    assert!(
        store.key("SHA256:b").await.unwrap().is_none(),
        "a claim logs no one in"
    );
    commit(
        store,
        Op::ConfirmKey {
            fingerprint: "SHA256:b".into(),
            owner: bob,
        },
    )
    .await;
    assert_eq!(store.key("SHA256:b").await.unwrap().unwrap().owner, bob);
    assert!(store.pending_keys("SHA256:b").await.unwrap().is_empty());
    let claim_on_owned = PendingKey {
        key: key("SHA256:b", alice),
        code_hash: "late".into(),
    };
    let refused = store
        .submit(write(Op::AddPendingKey(claim_on_owned)))
        .wait()
        .await;
    assert!(
        matches!(refused, Err(WriteError::Taken { .. })),
        "{refused:?}"
    );

    commit(
        store,
        Op::TouchKey {
            fingerprint: "SHA256:a".into(),
        },
    )
    .await;
    assert_eq!(
        store.key("SHA256:a").await.unwrap().unwrap().last_used_at,
        Some(AT)
    );
    assert_eq!(store.all_keys().await.unwrap().len(), 2);
    commit(
        store,
        Op::RemoveKey {
            fingerprint: "SHA256:a".into(),
        },
    )
    .await;
    assert!(store.key("SHA256:a").await.unwrap().is_none());
    assert!(store.keys_of(alice).await.unwrap().is_empty());
    let again = store
        .submit(write(Op::RemoveKey {
            fingerprint: "SHA256:a".into(),
        }))
        .wait()
        .await;
    assert!(matches!(again, Err(WriteError::Missing(_))), "{again:?}");
    // A removed key is free for someone else.
    commit(store, Op::AddKey(key("SHA256:a", bob))).await;
    assert_eq!(store.keys_of(bob).await.unwrap().len(), 2);
}

pub async fn tokens_invites_second_factors_and_settings_are_kept(engine: &dyn Engine, dir: &Path) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let alice = create_user(store, "alice", None).await;
    let mut minted = token("t1", alice);
    commit(
        store,
        Op::PutToken {
            token: minted.clone(),
            kind: ActivityKind::TokenCreated,
        },
    )
    .await;
    assert_eq!(store.token("t1").await.unwrap().unwrap(), minted);
    minted.token.revoked = true;
    commit(
        store,
        Op::PutToken {
            token: minted.clone(),
            kind: ActivityKind::TokenRevoked,
        },
    )
    .await;
    assert_eq!(store.tokens(Some(alice)).await.unwrap(), [minted]);
    assert!(store.tokens(Some(alice + 1)).await.unwrap().is_empty());

    let invite = StoredInvite {
        invite: Invite {
            id: "inv1".into(),
            role: ServerRole::User,
            created_by: Actor::User(alice),
            created_at: AT,
            expires_at: AT + 1_000,
            redeemed_by: None,
            revoked: false,
        },
        hash: "hash".into(),
    };
    commit(
        store,
        Op::PutInvite {
            invite,
            kind: ActivityKind::InviteCreated,
        },
    )
    .await;
    let redeem = |handle: &str| Op::CreateUser {
        user: user(handle),
        key: None,
        token: None,
        invite: Some("inv1".into()),
    };
    commit(store, redeem("bob")).await;
    let bob = store.user_by_handle("bob").await.unwrap().unwrap().id;
    let stored = store.invite("inv1").await.unwrap().unwrap();
    assert_eq!(stored.invite.redeemed_by, Some(bob));
    let twice = store.submit(write(redeem("carol"))).wait().await;
    assert!(matches!(twice, Err(WriteError::Rejected(_))), "{twice:?}");
    assert!(
        store.user_by_handle("carol").await.unwrap().is_none(),
        "a refused redemption creates no one"
    );
    assert_eq!(store.invites().await.unwrap().len(), 1);

    let totp = TotpRecord {
        user: bob,
        secret: vec![1, 2, 3],
        enabled: true,
        last_step: 42,
    };
    commit(
        store,
        Op::PutTotp {
            record: totp.clone(),
            logged: false,
        },
    )
    .await;
    assert_eq!(store.totp(bob).await.unwrap().unwrap(), totp);
    assert_eq!(
        store.user_settings(bob).await.unwrap(),
        UserSettings::default()
    );
    let settings = UserSettings {
        email_notifications: EmailMode::Digest,
        digest_watermark: 9,
    };
    commit(
        store,
        Op::PutUserSettings {
            user: bob,
            settings: settings.clone(),
            logged: true,
        },
    )
    .await;
    assert_eq!(store.user_settings(bob).await.unwrap(), settings);
}

pub async fn deleting_a_person_moves_their_work_and_removes_what_was_theirs(
    engine: &dyn Engine,
    dir: &Path,
) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let alice = create_user(store, "alice", Some("SHA256:a")).await;
    let bob = create_user(store, "bob", None).await;
    let p = create_project(store, "TACK").await;
    let mut shared = new_issue(p.id, "shared", 2);
    shared.assignees = vec![alice, bob];
    let shared = create_issue(store, shared).await;
    let mut hers = new_issue(p.id, "hers", 2);
    hers.assignees = vec![alice];
    let hers = create_issue(store, hers).await;
    let minted = token("t1", alice);
    commit(
        store,
        Op::PutToken {
            token: minted.clone(),
            kind: ActivityKind::TokenCreated,
        },
    )
    .await;
    let mut told = write(Op::UpdateIssue {
        issue: hers.clone(),
        expected_version: hers.version,
    });
    told.follow.notify = vec![(alice, tack_protocol::NotificationKind::Assigned)];
    store.submit(told).wait().await.unwrap();
    assert_eq!(
        store.notifications(alice, false, 10).await.unwrap().len(),
        1
    );

    commit(
        store,
        Op::DeleteUser {
            id: alice,
            reassign_to: Some(bob),
            tokens: vec![minted],
        },
    )
    .await;
    assert!(store.user(alice).await.unwrap().is_none());
    assert!(store.user_by_handle("alice").await.unwrap().is_none());
    assert!(store.key("SHA256:a").await.unwrap().is_none());
    assert!(store.keys_of(alice).await.unwrap().is_empty());
    assert!(
        store
            .notifications(alice, false, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.token("t1").await.unwrap().unwrap().token.revoked);
    assert!(store.issues_assigned_to(alice).await.unwrap().is_empty());
    let now_bobs = store.issues_assigned_to(bob).await.unwrap();
    assert_eq!(ids(&now_bobs), [shared.id, hers.id]);
    let shared_now = store.issue(shared.id).await.unwrap().unwrap();
    assert_eq!(shared_now.assignees, [bob], "bob once, not twice");
    assert_eq!(shared_now.version, shared.version + 1);
    // The handle is free again.
    create_user(store, "alice", None).await;
}

pub async fn merging_a_placeholder_gives_its_work_to_the_real_person(
    engine: &dyn Engine,
    dir: &Path,
) {
    let store = engine.open(dir).await.unwrap();
    let store = store.as_ref();
    let ghost = create_user(store, "imported-ghost", None).await;
    let real = create_user(store, "alice", None).await;
    let p = create_project(store, "TACK").await;
    let mut issue = new_issue(p.id, "theirs", 2);
    issue.creator = Actor::User(ghost);
    issue.assignees = vec![ghost];
    let issue = create_issue(store, issue).await;
    commit(
        store,
        Op::PutComment(Comment {
            id: 0,
            issue: issue.id,
            project: p.id,
            author: Actor::User(ghost),
            body: "from the old tracker".into(),
            created_at: AT,
            edited_at: None,
        }),
    )
    .await;
    commit(
        store,
        Op::MergeUser {
            from: ghost,
            into: real,
        },
    )
    .await;
    assert!(store.user(ghost).await.unwrap().is_none());
    assert!(
        store
            .user_by_handle("imported-ghost")
            .await
            .unwrap()
            .is_none()
    );
    let merged = store.issue(issue.id).await.unwrap().unwrap();
    assert_eq!(merged.creator, Actor::User(real));
    assert_eq!(merged.assignees, [real]);
    assert_eq!(
        ids(&store.issues_assigned_to(real).await.unwrap()),
        [issue.id]
    );
    assert!(store.issues_assigned_to(ghost).await.unwrap().is_empty());
    let comments = store.comments_of(issue.id).await.unwrap();
    assert_eq!(comments[0].author, Actor::User(real));
}
