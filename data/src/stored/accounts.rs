//! Stored forms of people and their credentials.

use tack_protocol as wire;

use super::{Stored, stored_enum, stored_struct};
use crate::records;

stored_enum! {
    wire::ServerRole => ServerRole { User, Admin, }
}

stored_enum! {
    wire::ProjectRole => ProjectRole { Viewer, Member, Owner, }
}

/// Who did something: the local console, or a person.
#[derive(Debug, Clone, Copy, bincode::Encode, bincode::Decode)]
pub enum Actor {
    Console,
    User(u64),
}

impl Stored for wire::Actor {
    type Form = Actor;
    fn to_form(&self) -> Actor {
        match self {
            wire::Actor::Console => Actor::Console,
            wire::Actor::User(id) => Actor::User(*id),
        }
    }
    fn from_form(form: Actor) -> Self {
        match form {
            Actor::Console => wire::Actor::Console,
            Actor::User(id) => wire::Actor::User(id),
        }
    }
}

stored_struct! {
    wire::User => User {
        id: u64,
        handle: String,
        display_name: String,
        email: Option<String>,
        role: ServerRole,
        disabled: bool,
        created_at: i64,
    }
}

stored_struct! {
    wire::SshKey => SshKey {
        fingerprint: String,
        owner: u64,
        algorithm: String,
        comment: String,
        public_key: String,
        added_at: i64,
        last_used_at: Option<i64>,
    }
}

stored_struct! {
    wire::ApiToken => ApiToken {
        id: String,
        user: u64,
        name: String,
        created_at: i64,
        last_used_at: Option<i64>,
        revoked: bool,
    }
}

stored_struct! {
    wire::Invite => Invite {
        id: String,
        role: ServerRole,
        created_by: Actor,
        created_at: i64,
        expires_at: i64,
        redeemed_by: Option<u64>,
        revoked: bool,
    }
}

stored_struct! {
    records::StoredToken => Token {
        token: ApiToken,
        hash: String,
    }
}

stored_struct! {
    records::StoredInvite => InviteRecord {
        invite: Invite,
        hash: String,
    }
}

stored_struct! {
    records::PendingKey => PendingKey {
        key: SshKey,
        code_hash: String,
    }
}

stored_struct! {
    records::TotpRecord => Totp {
        user: u64,
        secret: Vec<u8>,
        enabled: bool,
        last_step: u64,
    }
}
