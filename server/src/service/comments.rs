//! Comments: members write them; authors edit and delete their own; owners may delete any.

use tack_data::Op;
use tack_protocol::{ApiError, Comment, EventRecord, ProjectRole, ResponseBody};

use super::store_error;
use super::{Caller, Service, change, now_ms, validate};

fn comment_from(events: Vec<tack_protocol::Event>) -> Result<Comment, ApiError> {
    events
        .into_iter()
        .find_map(|e| match e.record {
            EventRecord::Comment(comment) => Some(comment),
            _ => None,
        })
        .ok_or_else(|| ApiError::internal("the comment was saved but not returned"))
}

impl Service {
    pub(crate) async fn add_comment(
        &self,
        caller: &Caller,
        issue: String,
        body: String,
    ) -> Result<ResponseBody, ApiError> {
        let (_, issue) = self.issue_for(caller, &issue, ProjectRole::Member).await?;
        let comment = Comment {
            id: 0,
            issue: issue.id,
            project: issue.project,
            author: caller.actor().unwrap_or(tack_protocol::Actor::Console),
            body: validate::body("body", &body, false)?,
            created_at: now_ms(),
            edited_at: None,
        };
        let follow = self
            .follow_change(caller, Some(&issue), &issue, Some(&comment.body))
            .await;
        let events = self
            .commit_following(
                caller,
                Op::PutComment(comment),
                vec![change("comment", "", "added")],
                follow,
            )
            .await?;
        Ok(ResponseBody::Comment(comment_from(events)?))
    }

    /// Loads a comment and checks that the caller can at least read its project.
    async fn comment_for(
        &self,
        caller: &Caller,
        id: u64,
    ) -> Result<(Comment, ProjectRole), ApiError> {
        let comment = self
            .store
            .comment(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found(format!("no comment #{id}")))?;
        let project = self
            .project_by_id(comment.project)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no comment #{id}")))?;
        Self::require_role(caller, &project, ProjectRole::Viewer)?;
        let role = Self::role_in(caller, &project).unwrap_or(ProjectRole::Viewer);
        Ok((comment, role))
    }

    pub(crate) async fn edit_comment(
        &self,
        caller: &Caller,
        id: u64,
        body: String,
    ) -> Result<ResponseBody, ApiError> {
        let (mut comment, _) = self.comment_for(caller, id).await?;
        if caller.actor() != Some(comment.author) {
            return Err(ApiError::forbidden("you can only edit your own comments"));
        }
        comment.body = validate::body("body", &body, false)?;
        comment.edited_at = Some(now_ms());
        let events = self
            .commit(
                caller,
                Op::PutComment(comment),
                vec![change("comment", "", "edited")],
            )
            .await?;
        Ok(ResponseBody::Comment(comment_from(events)?))
    }

    pub(crate) async fn delete_comment(
        &self,
        caller: &Caller,
        id: u64,
    ) -> Result<ResponseBody, ApiError> {
        let (comment, role) = self.comment_for(caller, id).await?;
        if caller.actor() != Some(comment.author) && role < ProjectRole::Owner {
            return Err(ApiError::forbidden(
                "you can only delete your own comments; project owners may delete any",
            ));
        }
        self.commit(
            caller,
            Op::DeleteComment { id },
            vec![change("comment", "", "deleted")],
        )
        .await?;
        Ok(ResponseBody::Done)
    }

    pub(crate) async fn list_comments(
        &self,
        caller: &Caller,
        issue: String,
    ) -> Result<ResponseBody, ApiError> {
        let (_, issue) = self.issue_for(caller, &issue, ProjectRole::Viewer).await?;
        let id = issue.id;
        Ok(ResponseBody::Comments(
            self.store.comments_of(id).await.map_err(store_error)?,
        ))
    }
}
