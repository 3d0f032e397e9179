//! The stored form of every record: types of the store's own, encoded with bincode 2 in field
//! order, apart from the protocol's types so that a change to the wire is not silently a change
//! on disk. Each wire type converts to and from its stored form here; a field added to a
//! protocol struct fails to compile until its conversion says what is stored (and, if the
//! stored form changes, the schema version rises with a migration in each engine).
//!
//! These forms are schema version 2: field for field what stores of that version hold.

mod accounts;
mod issues;
mod jobs;

use bincode::enc::Encoder;
use bincode::error::EncodeError;
use bincode::{Decode, Encode};

/// A value the store keeps, and the form it keeps it in.
pub trait Stored: Sized {
    type Form: Encode + Decode<()>;
    fn to_form(&self) -> Self::Form;
    fn from_form(form: Self::Form) -> Self;

    /// Encodes the stored form of `self`: the bytes of `self.to_form()`, which structs and
    /// collections write field by field without building the form first (the write path
    /// encodes every record it stores).
    fn encode_form<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        self.to_form().encode(encoder)
    }
}

/// Encodes a value in its stored form.
pub struct AsStored<'a, T>(pub &'a T);

impl<T: Stored> Encode for AsStored<'_, T> {
    fn encode<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        self.0.encode_form(encoder)
    }
}

/// Values stored as they are.
macro_rules! stored_as_is {
    ($($ty:ty),*) => {
        $(impl Stored for $ty {
            type Form = $ty;
            fn to_form(&self) -> $ty {
                self.clone()
            }
            fn from_form(form: $ty) -> $ty {
                form
            }
            fn encode_form<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
                self.encode(encoder)
            }
        })*
    };
}

stored_as_is!(u8, u16, u32, u64, i64, bool, String);

impl<T: Stored> Stored for Vec<T> {
    type Form = Vec<T::Form>;
    fn to_form(&self) -> Self::Form {
        self.iter().map(Stored::to_form).collect()
    }
    fn from_form(form: Self::Form) -> Self {
        form.into_iter().map(T::from_form).collect()
    }
    fn encode_form<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        (self.len() as u64).encode(encoder)?;
        self.iter().try_for_each(|item| item.encode_form(encoder))
    }
}

impl<T: Stored> Stored for Option<T> {
    type Form = Option<T::Form>;
    fn to_form(&self) -> Self::Form {
        self.as_ref().map(Stored::to_form)
    }
    fn from_form(form: Self::Form) -> Self {
        form.map(T::from_form)
    }
    fn encode_form<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        match self {
            None => 0u8.encode(encoder),
            Some(value) => {
                1u8.encode(encoder)?;
                value.encode_form(encoder)
            }
        }
    }
}

impl<T: Stored> Stored for Box<T> {
    type Form = Box<T::Form>;
    fn to_form(&self) -> Self::Form {
        Box::new(self.as_ref().to_form())
    }
    fn from_form(form: Self::Form) -> Self {
        Box::new(T::from_form(*form))
    }
    fn encode_form<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        self.as_ref().encode_form(encoder)
    }
}

/// A struct's stored form, field for field in the order it is encoded.
macro_rules! stored_struct {
    ($(#[$doc:meta])* $wire:path => $name:ident { $($field:ident: $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, bincode::Encode, bincode::Decode)]
        pub struct $name {
            $(pub $field: $ty,)*
        }

        impl $crate::stored::Stored for $wire {
            type Form = $name;
            fn to_form(&self) -> $name {
                $name {
                    $($field: $crate::stored::Stored::to_form(&self.$field),)*
                }
            }
            fn from_form(form: $name) -> Self {
                Self {
                    $($field: $crate::stored::Stored::from_form(form.$field),)*
                }
            }
            fn encode_form<E: bincode::enc::Encoder>(
                &self,
                encoder: &mut E,
            ) -> Result<(), bincode::error::EncodeError> {
                $($crate::stored::Stored::encode_form(&self.$field, encoder)?;)*
                Ok(())
            }
        }
    };
}

/// An enum of unit variants, stored by position.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $wire:path => $name:ident { $($variant:ident,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, bincode::Encode, bincode::Decode)]
        pub enum $name {
            $($variant,)*
        }

        impl $crate::stored::Stored for $wire {
            type Form = $name;
            fn to_form(&self) -> $name {
                use $wire as Wire;
                match self {
                    $(Wire::$variant => $name::$variant,)*
                }
            }
            fn from_form(form: $name) -> Self {
                use $wire as Wire;
                match form {
                    $($name::$variant => Wire::$variant,)*
                }
            }
        }
    };
}

pub(crate) use {stored_enum, stored_struct};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bincode::Encode;
    use tack_protocol::*;

    use super::Stored;
    use crate::conformance::{new_issue, project, user};
    use crate::records::{self, PendingKey, StoredInvite, StoredToken, StoredWebhook, TotpRecord};

    fn bytes(value: impl Encode) -> Vec<u8> {
        bincode::encode_to_vec(value, bincode::config::standard()).unwrap()
    }

    /// The stored form of `value` encodes to `schema_2` (the bytes a store of schema version 2
    /// holds for it) and reads back to `value`.
    fn holds<T: Stored + PartialEq + std::fmt::Debug>(value: T, schema_2: Vec<u8>) {
        let stored = records::encode(&value);
        assert_eq!(stored, schema_2, "the stored form of {value:?} changed");
        assert_eq!(records::decode::<T>("test", &stored).unwrap(), value);
    }

    fn wire<T: Stored + Encode + PartialEq + std::fmt::Debug + Clone>(value: T) {
        holds(value.clone(), bytes(value));
    }

    /// Stores of schema version 2 were written as the protocol's types encoded directly; their
    /// stored forms must encode to the same bytes, or those stores would no longer read.
    #[test]
    fn every_stored_form_encodes_as_schema_2_stores_hold_it() {
        let mut issue = new_issue(3, "a title", 2);
        issue.assignees = vec![4, 5];
        issue.labels = vec!["bug".into()];
        issue.estimate = Some(3);
        issue.due = Some("2026-12-24".into());
        issue.parent = Some(9);
        issue.blocked_by = vec![8];
        issue.closed_at = Some(77);
        issue.creator = Actor::User(4);
        issue.priority = Priority::Urgent;
        wire(issue.clone());
        let mut project = project("TACK");
        project.members = vec![Member {
            user: 4,
            role: ProjectRole::Owner,
        }];
        wire(project.clone());
        let mut person = user("alice");
        person.email = Some("alice@example.com".into());
        person.role = ServerRole::Admin;
        wire(person);
        let key = SshKey {
            fingerprint: "SHA256:abc".into(),
            owner: 4,
            algorithm: "ssh-ed25519".into(),
            comment: "laptop".into(),
            public_key: "AAAA".into(),
            added_at: 1,
            last_used_at: Some(2),
        };
        wire(key.clone());
        let comment = Comment {
            id: 1,
            issue: 2,
            project: 3,
            author: Actor::Console,
            body: "hi".into(),
            created_at: 4,
            edited_at: Some(5),
        };
        wire(comment.clone());
        let activity = Activity {
            seq: 7,
            at: 8,
            actor: Actor::User(4),
            kind: ActivityKind::DueReminder,
            project: Some(3),
            issue: Some(2),
            comment: None,
            subject: "TACK-1".into(),
            changes: vec![FieldChange {
                field: "state".into(),
                before: "Todo".into(),
                after: "Done".into(),
            }],
        };
        wire(activity.clone());
        wire(Notification {
            id: 7,
            user: 4,
            issue: 2,
            issue_key: "TACK-1".into(),
            kind: NotificationKind::DueSoon,
            actor: Actor::Console,
            at: 9,
            read: true,
        });
        wire(SavedView {
            id: 1,
            name: "mine".into(),
            owner: 4,
            project: Some(3),
            project_key: Some("TACK".into()),
            shared: true,
            query: "assignee:me".into(),
            layout: Layout::Board,
            created_at: 5,
        });
        let records = [
            EventRecord::None,
            EventRecord::Issue(issue),
            EventRecord::IssueDeleted {
                id: 2,
                key: "TACK-1".into(),
            },
            EventRecord::Comment(comment),
            EventRecord::CommentDeleted { id: 1, issue: 2 },
            EventRecord::Project(project),
        ];
        let mut kinds: Vec<JobKind> = records
            .into_iter()
            .map(|record| JobKind::Webhook {
                hook: 3,
                event: Box::new(Event {
                    seq: 7,
                    activity: activity.clone(),
                    record,
                }),
            })
            .collect();
        kinds.extend([
            JobKind::Email {
                user: 4,
                notification: 7,
            },
            JobKind::Digest { user: 4 },
            JobKind::DueReminders,
            JobKind::Expire,
            JobKind::Backup,
        ]);
        for (kind, state) in kinds.into_iter().zip(
            [JobState::Queued, JobState::Running, JobState::Failed]
                .into_iter()
                .cycle(),
        ) {
            wire(Job {
                id: 1,
                kind,
                state,
                attempts: 2,
                run_at: 3,
                created_at: 4,
                last_error: Some("refused".into()),
                idempotency_key: "k".into(),
            });
        }
        let hook = Webhook {
            id: 1,
            project: 3,
            project_key: "TACK".into(),
            url: "https://example.com/hook".into(),
            events: vec!["issue.created".into()],
            query: String::new(),
            created_at: 5,
        };
        wire(hook.clone());
        wire(Delivery {
            id: 1,
            hook: 1,
            job: 2,
            event: "issue.created".into(),
            seq: 7,
            attempt: 1,
            at: 8,
            status: Some(500),
            error: None,
            duration_ms: 12,
        });
        wire(UserSettings {
            email_notifications: EmailMode::Digest,
            digest_watermark: 7,
        });
        let token = ApiToken {
            id: "tok".into(),
            user: 4,
            name: "ci".into(),
            created_at: 1,
            last_used_at: None,
            revoked: true,
        };
        let invite = Invite {
            id: "inv".into(),
            role: ServerRole::User,
            created_by: Actor::User(4),
            created_at: 1,
            expires_at: 2,
            redeemed_by: Some(5),
            revoked: false,
        };
        // The store's own records were their fields encoded in order.
        holds(
            StoredToken {
                token: token.clone(),
                hash: "h".into(),
            },
            bytes((&token, "h")),
        );
        holds(
            StoredInvite {
                invite: invite.clone(),
                hash: "h".into(),
            },
            bytes((&invite, "h")),
        );
        holds(
            PendingKey {
                key: key.clone(),
                code_hash: "c".into(),
            },
            bytes((&key, "c")),
        );
        holds(
            TotpRecord {
                user: 4,
                secret: vec![1, 2, 3],
                enabled: true,
                last_step: 9,
            },
            bytes((4u64, vec![1u8, 2, 3], true, 9u64)),
        );
        holds(
            StoredWebhook {
                hook: hook.clone(),
                secret: "s".into(),
            },
            bytes((&hook, "s")),
        );
    }
}
