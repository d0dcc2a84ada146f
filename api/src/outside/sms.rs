//! Sending a text message to a phone. The real implementation is
//! `sms_gateways::GatewaySms` (the configured generic HTTP and Twilio-compatible gateways,
//! with failover); where no gateway serves a provider, sending fails with `NotConfigured`
//! and callers answer so.

use std::sync::Mutex;

use domain::phone::PhoneNumber;
use uuid::Uuid;

use super::BoxFuture;

/// One text to one E.164 number. `Debug` leaves out the text and the code and shows only
/// the number's last digits, so a message printed by mistake does not leak them.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsMessage {
    pub to: PhoneNumber,
    /// The whole text; it may hold a code, so it never goes to a log.
    pub text: String,
    /// The sender name, if the caller has one; otherwise the gateway's own.
    pub sender: Option<String>,
    /// The provider the message is sent for: it picks the gateways (`None`: those serving
    /// every provider).
    pub provider_id: Option<Uuid>,
    /// The recipient's language (`de`, `pt-BR`), for the gateway's template.
    pub language: Option<String>,
    /// A one-time code: when set, each gateway writes it into its own template for
    /// `language`, and `text` is not used.
    pub code: Option<String>,
}

impl std::fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to = self.to.as_str();
        let tail = &to[to.len().saturating_sub(2)..];
        f.debug_struct("SmsMessage")
            .field("to", &format_args!("…{tail}"))
            .field("text_chars", &self.text.chars().count())
            .field("sender", &self.sender)
            .field("provider_id", &self.provider_id)
            .field("language", &self.language)
            .field("code", &self.code.as_ref().map(|_| "…"))
            .finish()
    }
}

/// What a gateway said when it took a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    /// The gateway that took it (for the log; never the text).
    pub gateway: String,
    /// The gateway's own id of the message, when it gives one.
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    #[error("no SMS gateway is configured for this provider")]
    NotConfigured,
    #[error("every SMS gateway failed")]
    AllGatewaysFailed,
    #[error("the SMS gateway refused the message: {0}")]
    Refused(String),
}

pub trait SmsGateway: Send + Sync {
    fn send<'a>(&'a self, message: SmsMessage) -> BoxFuture<'a, Result<SmsReceipt, SmsError>>;
}

/// No gateway: every send fails with `NotConfigured`.
#[derive(Debug, Default)]
pub struct NoSmsGateway;

impl SmsGateway for NoSmsGateway {
    fn send<'a>(&'a self, _: SmsMessage) -> BoxFuture<'a, Result<SmsReceipt, SmsError>> {
        Box::pin(async { Err(SmsError::NotConfigured) })
    }
}

/// The test double: keeps every message, so a test can read the code it was sent; fails
/// on demand.
#[derive(Debug, Default)]
pub struct RecordingSmsGateway {
    sent: Mutex<Vec<SmsMessage>>,
    failing: Mutex<bool>,
}

impl RecordingSmsGateway {
    pub fn sent(&self) -> Vec<SmsMessage> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The last message sent to `to`.
    pub fn last_to(&self, to: &str) -> Option<SmsMessage> {
        self.sent().into_iter().rev().find(|m| m.to.as_str() == to)
    }

    pub fn fail(&self, failing: bool) {
        *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = failing;
    }
}

impl SmsGateway for RecordingSmsGateway {
    fn send<'a>(&'a self, message: SmsMessage) -> BoxFuture<'a, Result<SmsReceipt, SmsError>> {
        Box::pin(async move {
            if *self.failing.lock().unwrap_or_else(|e| e.into_inner()) {
                return Err(SmsError::AllGatewaysFailed);
            }
            let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
            sent.push(message);
            Ok(SmsReceipt {
                gateway: "recording".into(),
                message_id: Some(sent.len().to_string()),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(to: &str, text: &str) -> SmsMessage {
        SmsMessage {
            to: PhoneNumber::parse(to).unwrap(),
            text: text.into(),
            sender: None,
            provider_id: None,
            language: None,
            code: None,
        }
    }

    #[tokio::test]
    async fn the_double_keeps_messages_and_fails_on_demand() {
        let sms = RecordingSmsGateway::default();
        let receipt = sms.send(message("+4915112345678", "code 1")).await.unwrap();
        assert_eq!(receipt.message_id.as_deref(), Some("1"));
        sms.send(message("+4915112345678", "code 2")).await.unwrap();
        assert_eq!(sms.last_to("+4915112345678").unwrap().text, "code 2");
        sms.fail(true);
        assert_eq!(
            sms.send(message("+4915112345678", "x")).await,
            Err(SmsError::AllGatewaysFailed)
        );
        assert_eq!(sms.sent().len(), 2);
    }

    #[test]
    fn debug_leaves_out_the_text_the_code_and_most_of_the_number() {
        let mut m = message("+4915112345678", "Your code is 987654");
        m.code = Some("987654".into());
        let shown = format!("{m:?}");
        assert!(
            !shown.contains("987654") && !shown.contains("151123456"),
            "{shown}"
        );
        assert!(shown.contains("…78"), "{shown}");
    }

    #[tokio::test]
    async fn without_a_gateway_nothing_is_sent() {
        assert_eq!(
            NoSmsGateway.send(message("+4915112345678", "x")).await,
            Err(SmsError::NotConfigured)
        );
    }
}
