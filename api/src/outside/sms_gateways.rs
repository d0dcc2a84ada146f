//! The real `SmsGateway`: the gateways configured for the message's provider, tried by
//! priority until one takes the message. A gateway that fails `BREAKER_THRESHOLD` times in
//! a row is skipped for `BREAKER_OPEN_SECONDS` (per instance). Each attempt is logged with
//! the gateway, outcome and status; never the number's digits, the code, the text, the URL
//! or a credential.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::sms_gateway::{Encoding, GatewayHealth, GatewayKind, SmsGateway as Gateway, fill};
use persistence::Store;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use uuid::Uuid;

use super::BoxFuture;
use super::clock::Clock;
use super::sms::{SmsError, SmsGateway, SmsMessage, SmsReceipt};

/// Why one attempt failed, in words safe for a log line and an error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    #[error("the gateway answered {0}")]
    Status(u16),
    #[error("the gateway answered {0} without the expected text")]
    BodyMismatch(u16),
    #[error("the gateway did not answer in time")]
    Timeout,
    #[error("the gateway could not be reached")]
    Connect,
    #[error("the request to the gateway failed")]
    Request,
    #[error("the gateway has no template for the message")]
    NoTemplate,
    #[error("the gateway's configuration cannot make a request")]
    Config,
}

impl AttemptError {
    fn status(&self) -> Option<u16> {
        match self {
            AttemptError::Status(s) | AttemptError::BodyMismatch(s) => Some(*s),
            _ => None,
        }
    }

    /// reqwest's own messages name the URL, which may hold a number or a credential.
    fn from_reqwest(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            AttemptError::Timeout
        } else if error.is_connect() {
            AttemptError::Connect
        } else {
            AttemptError::Request
        }
    }
}

/// The health of every gateway this instance has tried.
#[derive(Debug, Default)]
pub struct HealthBoard(Mutex<HashMap<Uuid, GatewayHealth>>);

impl HealthBoard {
    pub fn get(&self, id: Uuid) -> GatewayHealth {
        self.lock().get(&id).cloned().unwrap_or_default()
    }

    fn record(&self, id: Uuid, ok: bool, now: chrono::DateTime<chrono::Utc>) {
        let mut board = self.lock();
        let health = board.entry(id).or_default();
        if ok {
            health.succeeded(now);
        } else {
            health.failed(now);
        }
    }

    pub fn forget(&self, id: Uuid) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, GatewayHealth>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sends through the configured gateways.
pub struct GatewaySms {
    store: Store,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    pub health: HealthBoard,
}

impl GatewaySms {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            // A gateway that redirects is misconfigured; following could send the
            // credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            store,
            clock,
            http,
            health: HealthBoard::default(),
        })
    }

    /// One attempt through one gateway, recorded in its health and logged.
    pub async fn send_via(
        &self,
        gateway: &Gateway,
        message: &SmsMessage,
    ) -> Result<SmsReceipt, AttemptError> {
        let result = self.attempt(gateway, message).await;
        let now = self.clock.now();
        self.health.record(gateway.id, result.is_ok(), now);
        match &result {
            Ok((status, _)) => log::info!(
                "sms attempt gateway={} name={:?} kind={} outcome=sent status={status}",
                gateway.id,
                gateway.name,
                gateway.kind.name()
            ),
            Err(e) => log::warn!(
                "sms attempt gateway={} name={:?} kind={} outcome=failed status={} reason={:?}",
                gateway.id,
                gateway.name,
                gateway.kind.name(),
                e.status().map_or("none".into(), |s| s.to_string()),
                e.to_string()
            ),
        }
        result.map(|(_, message_id)| SmsReceipt {
            gateway: gateway.name.clone(),
            message_id,
        })
    }

    async fn attempt(
        &self,
        gateway: &Gateway,
        message: &SmsMessage,
    ) -> Result<(u16, Option<String>), AttemptError> {
        let text = match &message.code {
            Some(code) => {
                let template = gateway
                    .template(message.language.as_deref())
                    .ok_or(AttemptError::NoTemplate)?;
                fill(template, &[("code", code)], Encoding::Plain)
            }
            None => message.text.clone(),
        };
        let sender = message
            .sender
            .clone()
            .or_else(|| gateway.sender.clone())
            .unwrap_or_default();
        let request = match &gateway.kind {
            GatewayKind::Http(http) => {
                let creds = &gateway.credentials;
                let values = [
                    ("phone", message.to.as_str()),
                    ("message", text.as_str()),
                    ("sender", sender.as_str()),
                    ("username", creds.username.as_deref().unwrap_or_default()),
                    ("password", creds.password.as_deref().unwrap_or_default()),
                ];
                let url = fill(&http.url, &values, Encoding::Url);
                let method = reqwest::Method::from_bytes(http.method.as_bytes())
                    .map_err(|_| AttemptError::Config)?;
                let mut request = self.http.request(method, url);
                for (name, value) in http.headers.iter().chain(creds.headers.iter()) {
                    let name = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| AttemptError::Config)?;
                    let value = HeaderValue::from_str(value).map_err(|_| AttemptError::Config)?;
                    request = request.header(name, value);
                }
                if let Some(body) = &http.body {
                    let encoding = Encoding::for_content_type(http.content_type.as_deref());
                    if let Some(ct) = &http.content_type {
                        request = request.header(CONTENT_TYPE, ct);
                    }
                    request = request.body(fill(body, &values, encoding));
                }
                request
            }
            GatewayKind::Twilio(twilio) => {
                let url = format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    twilio.base_url.trim_end_matches('/'),
                    twilio.account_sid
                );
                let mut form = vec![("To", message.to.as_str()), ("Body", text.as_str())];
                match &twilio.messaging_service_sid {
                    Some(sid) => form.push(("MessagingServiceSid", sid)),
                    None => form.push(("From", sender.as_str())),
                }
                self.http
                    .post(url)
                    .basic_auth(
                        &twilio.account_sid,
                        gateway.credentials.auth_token.as_deref(),
                    )
                    .form(&form)
            }
        };
        let response = request
            .send()
            .await
            .map_err(|e| AttemptError::from_reqwest(&e))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| AttemptError::from_reqwest(&e))?;
        match &gateway.kind {
            GatewayKind::Http(http) => {
                let status_ok = if http.success_statuses.is_empty() {
                    (200..300).contains(&status)
                } else {
                    http.success_statuses.contains(&status)
                };
                if !status_ok {
                    return Err(AttemptError::Status(status));
                }
                if let Some(expected) = &http.success_body_contains
                    && !body.contains(expected.as_str())
                {
                    return Err(AttemptError::BodyMismatch(status));
                }
                Ok((status, None))
            }
            GatewayKind::Twilio(_) => {
                if !(200..300).contains(&status) {
                    return Err(AttemptError::Status(status));
                }
                let sid = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["sid"].as_str().map(str::to_owned));
                Ok((status, sid))
            }
        }
    }

    async fn send_with_failover(&self, message: SmsMessage) -> Result<SmsReceipt, SmsError> {
        let store = self.store.clone();
        let provider = message.provider_id;
        let gateways = actix_web::web::block(move || store.sms_gateways_for(provider))
            .await
            .map_err(|_| SmsError::AllGatewaysFailed)?
            .map_err(|e| {
                log::error!("sms: cannot load the gateways: {e}");
                SmsError::AllGatewaysFailed
            })?;
        if gateways.is_empty() {
            return Err(SmsError::NotConfigured);
        }
        for gateway in &gateways {
            if self.health.get(gateway.id).is_open(self.clock.now()) {
                log::info!(
                    "sms attempt gateway={} name={:?} outcome=skipped reason=\"circuit open\"",
                    gateway.id,
                    gateway.name
                );
                continue;
            }
            if let Ok(receipt) = self.send_via(gateway, &message).await {
                return Ok(receipt);
            }
        }
        log::error!(
            "sms: every gateway failed or was skipped ({} configured)",
            gateways.len()
        );
        Err(SmsError::AllGatewaysFailed)
    }
}

impl SmsGateway for GatewaySms {
    fn send<'a>(&'a self, message: SmsMessage) -> BoxFuture<'a, Result<SmsReceipt, SmsError>> {
        Box::pin(self.send_with_failover(message))
    }
}
