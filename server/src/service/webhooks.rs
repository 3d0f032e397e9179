//! Webhooks: per project, owners create them with a URL, a secret and an event filter, and read
//! their delivery log.

use tack_data::{Op, StoredWebhook};
use tack_protocol::{ApiError, ProjectRole, ResponseBody, WEBHOOK_EVENTS, Webhook, WebhookStatus};

use super::store_error;
use super::{Caller, Service, change, now_ms, validate};

const MAX_SECRET: usize = 256;

impl Service {
    fn status(&self, hook: Webhook) -> WebhookStatus {
        let (breaker, consecutive_failures) = self.runtime().jobs.breaker(hook.id);
        WebhookStatus {
            hook,
            breaker,
            consecutive_failures,
        }
    }

    pub(crate) async fn create_webhook(
        &self,
        caller: &Caller,
        project: String,
        url: String,
        secret: String,
        events: Vec<String>,
        query: Option<String>,
    ) -> Result<ResponseBody, ApiError> {
        let query = validate::clean_line(query.as_deref().unwrap_or_default());
        super::search::parse_query(&query)?;
        let project = self
            .project_for(caller, &project, ProjectRole::Owner)
            .await?;
        let url = url.trim().to_string();
        super::webhook_target::check_target(&url, self.runtime().allow_private_webhooks)
            .await
            .map_err(|reason| ApiError::invalid("url", reason))?;
        let secret = secret.trim().to_string();
        if secret.len() < 8 || secret.len() > MAX_SECRET {
            return Err(ApiError::invalid(
                "secret",
                format!(
                    "give a secret of 8 to {MAX_SECRET} characters; receivers check the X-Tack-Signature header with it"
                ),
            ));
        }
        let mut names = Vec::new();
        for event in events.iter().flat_map(|e| e.split(',')) {
            let event = event.trim().to_ascii_lowercase();
            if event.is_empty() || event == "*" {
                continue;
            }
            if !WEBHOOK_EVENTS.contains(&event.as_str()) {
                return Err(ApiError::invalid(
                    "events",
                    format!(
                        "'{}' is not an event; choose from {}",
                        validate::clean_line(&event),
                        WEBHOOK_EVENTS.join(", ")
                    ),
                ));
            }
            if !names.contains(&event) {
                names.push(event);
            }
        }
        // The activity names the webhook and its events, never its URL: a query string often
        // carries a token, and project activity is readable by viewers.
        let changes = vec![change(
            "events",
            "",
            if names.is_empty() {
                "all".to_string()
            } else {
                names.join(",")
            },
        )];
        let hook = Webhook {
            id: 0,
            project: project.id,
            project_key: project.key.clone(),
            url: url.clone(),
            events: names,
            query,
            created_at: now_ms(),
        };
        let events = self
            .commit(
                caller,
                Op::PutWebhook(StoredWebhook { hook, secret }),
                changes,
            )
            .await?;
        let id = events
            .last()
            .and_then(|e| e.activity.subject.rsplit('#').next())
            .and_then(|id| id.parse::<u64>().ok())
            .unwrap_or(0);
        let stored = self
            .store
            .webhook(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::internal("the webhook was created but cannot be read back"))?;
        Ok(ResponseBody::Webhook(self.status(stored.hook)))
    }

    pub(crate) async fn list_webhooks(
        &self,
        caller: &Caller,
        project: String,
    ) -> Result<ResponseBody, ApiError> {
        let project = self
            .project_for(caller, &project, ProjectRole::Owner)
            .await?;
        let id = project.id;
        let hooks = self.store.webhooks_of(id).await.map_err(store_error)?;
        Ok(ResponseBody::Webhooks(
            hooks.into_iter().map(|h| self.status(h.hook)).collect(),
        ))
    }

    pub(crate) async fn delete_webhook(
        &self,
        caller: &Caller,
        id: u64,
    ) -> Result<ResponseBody, ApiError> {
        let stored = self
            .store
            .webhook(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no webhook #{id}; `tack ctl webhook list PROJECT` shows them"
                ))
            })?;
        let project = self
            .project_for(caller, &stored.hook.project_key, ProjectRole::Owner)
            .await?;
        self.commit(
            caller,
            Op::DeleteWebhook {
                project: project.id,
                id,
            },
            vec![change("webhook", format!("#{id}"), "")],
        )
        .await?;
        self.runtime().jobs.forget_breaker(id);
        Ok(ResponseBody::Done)
    }

    pub(crate) async fn webhook_deliveries(
        &self,
        caller: &Caller,
        project: String,
        limit: u32,
    ) -> Result<ResponseBody, ApiError> {
        let project = self
            .project_for(caller, &project, ProjectRole::Owner)
            .await?;
        let id = project.id;
        let limit = limit.clamp(1, 500) as usize;
        let mut deliveries = Vec::new();
        for hook in self.store.webhooks_of(id).await.map_err(store_error)? {
            deliveries.extend(
                self.store
                    .deliveries(hook.hook.id, limit)
                    .await
                    .map_err(store_error)?,
            );
        }
        deliveries.sort_by_key(|d| std::cmp::Reverse(d.id));
        deliveries.truncate(limit);
        Ok(ResponseBody::Deliveries(deliveries))
    }
}
