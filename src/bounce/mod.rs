//! Machine-made reports about mail the system sent: delivery status notifications
//! (RFC 3464 and the non-standard formats of the common MTAs), delay warnings and
//! complaint (abuse) reports (ARF, RFC 5965). Pure: [`read`] looks at a parsed message and
//! says what it reports, or `None` when it is not such a report.

use mail_parser::Message;
use serde::Serialize;

/// What a report says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Delivery failed, permanently or for now (see each recipient's `permanent`).
    Failure,
    /// Delivery is delayed and still being tried: a warning, not a failure.
    Delay,
    /// A recipient complained (marked the mail as spam): an abuse report.
    Complaint,
}

/// One recipient a report names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// The address, normalised (lowercase).
    pub address: String,
    /// The enhanced status code (RFC 3463), e.g. `5.1.1`, when the report gives or implies one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A permanent failure (5.x.x) rather than a temporary one (4.x.x).
    pub permanent: bool,
    /// The remote server's words, trimmed to one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
}

/// What the report shows of the message it is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Original {
    /// Its envelope sender (Return-Path, or ARF Original-Mail-From).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_path: Option<String>,
    /// Its Message-ID, without angle brackets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Its List-Id value, e.g. `<thpt.moet.test>` as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    /// The addresses (mailto: targets, without `mailto:` and parameters) of its
    /// List-Unsubscribe header.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub list_unsubscribe: Vec<String>,
}

/// A report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Failure, delay or complaint.
    pub kind: Kind,
    /// The format recognised: `rfc3464`, `arf`, `postfix`, `exim`, `qmail`, `sendmail`,
    /// `exchange`, `gmail`, `yahoo`, `groupwise`, …
    pub format: &'static str,
    /// Every recipient named, in order. May be empty when the report names nobody
    /// (a redacted complaint, a bounce that quotes no address).
    pub recipients: Vec<Recipient>,
    /// For complaints: the Feedback-Type (`abuse`, `fraud`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback_type: Option<String>,
    /// What the report shows of the original message.
    pub original: Original,
}

/// The report `msg` is, if it is one.
pub fn read(_msg: &Message<'_>) -> Option<Report> {
    None
}
