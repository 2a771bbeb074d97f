//! [`read`] on the sample corpus in tests/eml and on hostile input.

use super::*;
use mail_parser::MessageParser;
use std::time::{Duration, Instant};

macro_rules! sample {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../tests/eml/", $name, ".eml")).as_slice(),
        )
    };
}

/// Every sample these tests read, for the robustness tests.
const SAMPLES: [(&str, &[u8]); 40] = [
    sample!("bounce-postfix-user-unknown"),
    sample!("bounce-postfix-two-recipients"),
    sample!("bounce-postfix-text"),
    sample!("bounce-postfix-over-quota"),
    sample!("bounce-postfix-timeout-4.4.1"),
    sample!("bounce-postfix-dsn"),
    sample!("bounce-exim-text"),
    sample!("bounce-exim-retry-timeout"),
    sample!("bounce-exim-two-recipients"),
    sample!("bounce-qmail"),
    sample!("bounce-sendmail-classic"),
    sample!("bounce-exchange-o365-recipient-not-found"),
    sample!("bounce-exchange-legacy-text"),
    sample!("bounce-exchange-2003"),
    sample!("bounce-exchange-postmaster"),
    sample!("bounce-gmail-address-not-found"),
    sample!("bounce-yahoo-text"),
    sample!("bounce-groupwise"),
    sample!("bounce-domino"),
    sample!("delay-postfix"),
    sample!("delay-exim"),
    sample!("delay-sendmail"),
    sample!("delay-exchange"),
    sample!("arf-fbl-abuse"),
    sample!("arf-yahoo"),
    sample!("arf-microsoft-jmrp"),
    sample!("auto-outlook-oof-vi"),
    sample!("auto-thunderbird-vacation"),
    sample!("auto-yahoo-vacation"),
    sample!("auto-zimbra-ooo"),
    sample!("auto-x-autorespond"),
    sample!("auto-precedence-auto-reply"),
    sample!("auto-precedence-junk"),
    sample!("auto-gmail-vacation"),
    sample!("auto-null-return-path"),
    sample!("auto-outlook-automatic-reply"),
    sample!("auto-x-autoreply"),
    sample!("auto-vietnamese-subject"),
    sample!("auto-list-traffic"),
    sample!("human-mentions-bounce"),
];

fn report_of(raw: &[u8]) -> Option<Report> {
    let msg = MessageParser::default().parse(raw)?;
    read(&msg)
}

fn sample_report(name: &str) -> Option<Report> {
    let (_, raw) = SAMPLES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no sample {name}"));
    let msg = MessageParser::default()
        .parse(*raw)
        .unwrap_or_else(|| panic!("{name} does not parse"));
    read(&msg)
}

/// The report of sample `name`, checked for its kind, format and recipients
/// (`(address, status, permanent)`, in order).
#[track_caller]
fn expect(
    name: &str,
    kind: Kind,
    format: &str,
    recipients: &[(&str, Option<&str>, bool)],
) -> Report {
    let report = sample_report(name).unwrap_or_else(|| panic!("{name}: no report"));
    assert_eq!(report.kind, kind, "{name}: {report:#?}");
    assert_eq!(report.format, format, "{name}: {report:#?}");
    let got: Vec<(&str, Option<&str>, bool)> = report
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.status.as_deref(), r.permanent))
        .collect();
    assert_eq!(got, recipients, "{name}: {report:#?}");
    report
}

#[track_caller]
fn expect_original(report: &Report, return_path: Option<&str>, list_id: Option<&str>) {
    assert_eq!(
        report.original.return_path.as_deref(),
        return_path,
        "{report:#?}"
    );
    assert_eq!(report.original.list_id.as_deref(), list_id, "{report:#?}");
}

#[track_caller]
fn diagnostic_of(report: &Report, i: usize) -> &str {
    report.recipients[i]
        .diagnostic
        .as_deref()
        .unwrap_or_else(|| panic!("recipient {i} has no diagnostic: {report:#?}"))
}

const THPT: Option<&str> = Some("\"Truong THPT\" <thpt.moet.test>");

#[test]
fn postfix_dsn_user_unknown() {
    let r = expect(
        "bounce-postfix-user-unknown",
        Kind::Failure,
        "rfc3464",
        &[("nguyenvana@school.test", Some("5.1.1"), true)],
    );
    expect_original(&r, Some("norply+b1207-k3m5n7p2q4@moet.test"), THPT);
    assert_eq!(
        r.original.message_id.as_deref(),
        Some("post-3187.1207@moet.test")
    );
    assert_eq!(
        r.original.list_unsubscribe,
        vec!["norply+u-thpt-abcdefghijklmnop@moet.test"]
    );
    assert_eq!(
        diagnostic_of(&r, 0),
        "550 5.1.1 <nguyenvana@school.test>: Recipient address rejected: User unknown in virtual mailbox table"
    );
    assert_eq!(r.feedback_type, None);
}

#[test]
fn postfix_dsn_two_failed_one_delivered_uses_original_recipients() {
    let r = expect(
        "bounce-postfix-two-recipients",
        Kind::Failure,
        "rfc3464",
        &[
            ("tranthib@example.test", Some("5.1.1"), true),
            ("hieupho@example.test", Some("5.1.1"), true),
        ],
    );
    expect_original(&r, Some("norply+p7-abcdefghjk@moet.test"), THPT);
    assert_eq!(diagnostic_of(&r, 0), "unknown user: \"tranthib\"");
}

#[test]
fn postfix_dsn_written_before_this_module() {
    let r = expect(
        "bounce-postfix-dsn",
        Kind::Failure,
        "rfc3464",
        &[("giaovien.cu@school.test", Some("5.1.1"), true)],
    );
    expect_original(
        &r,
        Some("norply+nt-abcdefghijklmnopqrstuvwxyz@moet.test"),
        None,
    );
}

#[test]
fn postfix_text_without_dsn() {
    let r = expect(
        "bounce-postfix-text",
        Kind::Failure,
        "postfix",
        &[("phamthid@thcs-lequydon.test", Some("5.1.1"), true)],
    );
    expect_original(&r, Some("norply@moet.test"), None);
    assert_eq!(
        diagnostic_of(&r, 0),
        "550 5.1.1 <phamthid@thcs-lequydon.test>... User unknown"
    );
}

#[test]
fn over_quota_5_2_2_is_temporary() {
    let r = expect(
        "bounce-postfix-over-quota",
        Kind::Failure,
        "rfc3464",
        &[("ngothiq@thpt-nguyentrai.test", Some("5.2.2"), false)],
    );
    expect_original(&r, Some("norply+b1412-k2m3n4p5q6@moet.test"), THPT);
}

#[test]
fn status_4_4_1_failure_is_temporary() {
    let r = expect(
        "bounce-postfix-timeout-4.4.1",
        Kind::Failure,
        "rfc3464",
        &[("vanphong@truong-d.test", Some("4.4.1"), false)],
    );
    expect_original(&r, Some("norply+b1420-r3s4t5u6v7@moet.test"), THPT);
    assert!(diagnostic_of(&r, 0).ends_with("Connection timed out"));
}

#[test]
fn exim_text_with_alias_and_full_mailbox() {
    let r = expect(
        "bounce-exim-text",
        Kind::Failure,
        "exim",
        &[
            ("thuky@sgd-hanoi.test", None, true),
            ("ngoh@sgd-hanoi.test", None, false),
        ],
    );
    expect_original(&r, Some("norply+b1320-a2b3c4d5e6@moet.test"), THPT);
    assert_eq!(diagnostic_of(&r, 0), "Unrouteable address");
}

#[test]
fn exim_retry_timeout() {
    let r = expect(
        "bounce-exim-retry-timeout",
        Kind::Failure,
        "exim",
        &[("phonghanhchinh@truong-xa.test", None, true)],
    );
    expect_original(&r, Some("norply+b1322-f7g2h3j4k5@moet.test"), THPT);
    assert_eq!(diagnostic_of(&r, 0), "retry timeout exceeded");
}

#[test]
fn exim_dsn_refines_5_0_0_from_the_diagnostic() {
    let r = expect(
        "bounce-exim-two-recipients",
        Kind::Failure,
        "rfc3464",
        &[
            ("vu.thi.e@example.test", Some("5.1.1"), true),
            ("hoangf@example.test", Some("5.0.0"), false),
        ],
    );
    expect_original(&r, Some("norply+b1311-r2s3t4u5v6@moet.test"), THPT);
}

#[test]
fn qmail() {
    let r = expect(
        "bounce-qmail",
        Kind::Failure,
        "qmail",
        &[
            ("ketoan@phong-gd.test", Some("5.1.1"), true),
            ("vanthu@truong-tieuhoc.test", Some("5.1.1"), true),
        ],
    );
    expect_original(&r, Some("norply+b1330-m3n4p5q6r7@moet.test"), THPT);
    // The server's words, without "Remote host said:" and "Giving up on …".
    assert_eq!(
        diagnostic_of(&r, 1),
        "550 5.1.1 <vanthu@truong-tieuhoc.test>: Recipient address rejected: User unknown in virtual mailbox table"
    );
}

#[test]
fn sendmail_classic() {
    let r = expect(
        "bounce-sendmail-classic",
        Kind::Failure,
        "sendmail",
        &[("nguyenthik@school.test", Some("5.1.1"), true)],
    );
    expect_original(&r, Some("norply+b1341-c2d3e4f5g6@moet.test"), THPT);
}

#[test]
fn office_365_ndr_prefers_the_dsn() {
    let r = expect(
        "bounce-exchange-o365-recipient-not-found",
        Kind::Failure,
        "rfc3464",
        &[("dinhvanh@thpt-chuvanan.test", Some("5.1.10"), true)],
    );
    expect_original(&r, Some("norply+b1352-w2x3y4z5a6@moet.test"), THPT);
    assert!(diagnostic_of(&r, 0).contains("RESOLVER.ADR.RecipientNotFound"));
}

#[test]
fn exchange_legacy_text() {
    let r = expect(
        "bounce-exchange-legacy-text",
        Kind::Failure,
        "exchange",
        &[
            ("phanvann@truong-c.test", Some("5.1.1"), true),
            ("vothio@truong-c.test", Some("5.2.2"), false),
        ],
    );
    // The original's headers are quoted after "Original message headers:".
    expect_original(&r, Some("norply+b1400-z2a3b4c5d6@moet.test"), THPT);
    assert_eq!(
        r.original.message_id.as_deref(),
        Some("post-3245.1400@moet.test")
    );
    assert_eq!(
        diagnostic_of(&r, 0),
        "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"
    );
}

#[test]
fn exchange_2003() {
    let r = expect(
        "bounce-exchange-2003",
        Kind::Failure,
        "exchange",
        &[("chuvanp@sgd-cu.test", Some("5.1.1"), true)],
    );
    expect_original(&r, Some("norply+b1405-e2f3g4h5j6@moet.test"), THPT);
}

#[test]
fn exchange_ndr_naming_only_our_own_address_names_nobody() {
    let r = expect("bounce-exchange-postmaster", Kind::Failure, "exchange", &[]);
    expect_original(&r, None, None);
}

#[test]
fn gmail_dsn() {
    let r = expect(
        "bounce-gmail-address-not-found",
        Kind::Failure,
        "rfc3464",
        &[("hocsinh.nguyen2009@gmail.com", Some("5.1.1"), true)],
    );
    // Gmail returns the message as it received it: no Return-Path.
    expect_original(&r, None, THPT);
    assert_eq!(
        r.original.message_id.as_deref(),
        Some("post-3225.1361@moet.test")
    );
    // The multiline reply is joined into one.
    assert!(
        diagnostic_of(&r, 0).starts_with(
            "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking"
        ),
        "{r:#?}"
    );
}

#[test]
fn yahoo_text() {
    let r = expect(
        "bounce-yahoo-text",
        Kind::Failure,
        "yahoo",
        &[("ngocanh.thcs@yahoo.com", Some("5.0.0"), true)],
    );
    expect_original(&r, Some("norply+b1370-h2j3k4m5n6@moet.test"), THPT);
    assert!(diagnostic_of(&r, 0).starts_with("554 delivery error: dd This user doesn't have"));
}

#[test]
fn groupwise() {
    let r = expect(
        "bounce-groupwise",
        Kind::Failure,
        "groupwise",
        &[
            ("luongvanu@truong-a.test", None, true),
            ("kieuthiv@truong-a.test", None, true),
        ],
    );
    expect_original(&r, Some("norply+b1380-p3q4r5s6t7@moet.test"), THPT);
    assert_eq!(diagnostic_of(&r, 0), "user not found");
    assert!(diagnostic_of(&r, 1).starts_with("The recipient's mailbox does not exist"));
}

#[test]
fn domino() {
    let r = expect(
        "bounce-domino",
        Kind::Failure,
        "domino",
        &[("tranvanm@truong-b.test", None, true)],
    );
    expect_original(&r, Some("norply+b1390-u4v5w6x7y2@moet.test"), THPT);
    assert!(diagnostic_of(&r, 0).ends_with("not listed in Domino Directory"));
}

#[test]
fn postfix_delay_dsn() {
    let r = expect(
        "delay-postfix",
        Kind::Delay,
        "rfc3464",
        &[("quachthis@thcs-ba.test", Some("4.3.0"), false)],
    );
    expect_original(&r, Some("norply+b1430-w3x4y5z6a7@moet.test"), THPT);
}

#[test]
fn exim_delay_warning() {
    let r = expect(
        "delay-exim",
        Kind::Delay,
        "exim",
        &[("tonguyen@truong-e.test", Some("4.7.1"), false)],
    );
    expect_original(&r, None, None);
    assert_eq!(
        diagnostic_of(&r, 0),
        "451 4.7.1 Greylisting in action, please come back later"
    );
}

#[test]
fn sendmail_four_hour_warning() {
    let r = expect(
        "delay-sendmail",
        Kind::Delay,
        "sendmail",
        &[("hoangq@truong-f.test", None, false)],
    );
    expect_original(&r, Some("norply+b1440-g5h6j7k2m3@moet.test"), THPT);
}

#[test]
fn exchange_delay_dsn() {
    let r = expect(
        "delay-exchange",
        Kind::Delay,
        "rfc3464",
        &[("lethir@truong-g.test", Some("4.4.7"), false)],
    );
    expect_original(&r, Some("norply+b1445-n4p5q6r7s2@moet.test"), THPT);
}

#[test]
fn arf_abuse_report() {
    let r = expect(
        "arf-fbl-abuse",
        Kind::Complaint,
        "arf",
        &[("phuhuynh.lan@example.test", None, false)],
    );
    assert_eq!(r.feedback_type.as_deref(), Some("abuse"));
    expect_original(
        &r,
        Some("norply+b42-abcdefghjk@moet.test"),
        Some("<thpt.moet.test>"),
    );
    assert_eq!(
        r.original.message_id.as_deref(),
        Some("post-3301.42@moet.test")
    );
    assert_eq!(
        r.original.list_unsubscribe,
        vec!["norply+u-thpt-abcdefghijklmnop@moet.test"]
    );
}

#[test]
fn arf_with_headers_only() {
    let r = expect(
        "arf-yahoo",
        Kind::Complaint,
        "arf",
        &[("hoangminh.k12@yahoo.com", None, false)],
    );
    assert_eq!(r.feedback_type.as_deref(), Some("abuse"));
    expect_original(&r, Some("norply+b1450-t5u6v7w2x3@moet.test"), THPT);
    assert_eq!(
        r.original.list_unsubscribe,
        vec!["norply+u-thpt-hijklmnopqrstuvw@moet.test"]
    );
}

#[test]
fn arf_with_redacted_recipient() {
    let r = expect("arf-microsoft-jmrp", Kind::Complaint, "arf", &[]);
    assert_eq!(r.feedback_type.as_deref(), Some("abuse"));
    expect_original(&r, Some("norply+b1455-y6z7a2b3c4@moet.test"), THPT);
}

#[test]
fn auto_replies_and_people_are_no_reports() {
    for (name, raw) in SAMPLES {
        if name.starts_with("auto-") || name.starts_with("human-") {
            assert_eq!(report_of(raw), None, "{name}");
        }
    }
    // Not vacuous: the loop above saw them.
    assert!(
        SAMPLES
            .iter()
            .filter(|(n, _)| n.starts_with("auto-"))
            .count()
            >= 13
    );
}

#[test]
fn every_bounce_delay_and_arf_sample_is_a_report() {
    for (name, raw) in SAMPLES {
        if !(name.starts_with("auto-") || name.starts_with("human-")) {
            assert!(report_of(raw).is_some(), "{name}");
        }
    }
}

/// A message built from headers and a plain-text body.
fn text_message(headers: &str, body: &str) -> Vec<u8> {
    format!("{headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}")
        .into_bytes()
}

#[test]
fn null_return_path_makes_text_readable_but_auto_replied_does_not() {
    let body = "Delivery has failed to these recipients or groups:\r\n\r\nhs.tran@school.test\r\nThe e-mail address you entered couldn't be found.\r\n";
    let null = text_message(
        "Return-Path: <>\r\nFrom: Gateway <gw@school.test>\r\nTo: norply+b9-abcdefghjk@moet.test\r\nSubject: Report\r\n",
        body,
    );
    let r = report_of(&null).expect("a bounce");
    assert_eq!(r.format, "exchange");
    assert_eq!(r.recipients[0].address, "hs.tran@school.test");
    assert!(r.recipients[0].permanent);

    let replied = text_message(
        "Return-Path: <>\r\nFrom: Gateway <gw@school.test>\r\nTo: norply+b9-abcdefghjk@moet.test\r\nSubject: Report\r\nAuto-Submitted: auto-replied\r\n",
        body,
    );
    assert_eq!(report_of(&replied), None);

    let person = text_message(
        "Return-Path: <gv@school.test>\r\nFrom: GV <gv@school.test>\r\nTo: dangky-thpt@moet.test\r\nSubject: Report\r\n",
        body,
    );
    assert_eq!(report_of(&person), None);
}

#[test]
fn gmail_and_office_365_text_without_dsn() {
    let old_gmail = text_message(
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\nTo: norply+b9-abcdefghjk@moet.test\r\nSubject: Delivery Status Notification (Failure)\r\n",
        "Delivery to the following recipient failed permanently:\r\n\r\n     Co.Giao@Example.test\r\n\r\nTechnical details of permanent failure:\r\nGoogle tried to deliver your message, but it was rejected by the server for the recipient domain example.test.\r\n\r\nThe error that the other server returned was:\r\n550 5.1.1 <co.giao@example.test>: Recipient address rejected: User unknown\r\n\r\n----- Original message -----\r\n\r\nReturn-Path: <norply+b9-abcdefghjk@moet.test>\r\nFrom: thpt@moet.test\r\nTo: thpt@moet.test\r\n",
    );
    let r = report_of(&old_gmail).expect("a bounce");
    assert_eq!(r.format, "gmail");
    assert_eq!(r.kind, Kind::Failure);
    assert_eq!(r.recipients.len(), 1, "{r:#?}");
    assert_eq!(r.recipients[0].address, "co.giao@example.test");
    assert_eq!(r.recipients[0].status.as_deref(), Some("5.1.1"));
    assert_eq!(
        r.original.return_path.as_deref(),
        Some("norply+b9-abcdefghjk@moet.test")
    );

    let gmail_delay = text_message(
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\nTo: norply+b9-abcdefghjk@moet.test\r\nSubject: Delivery Status Notification (Delay)\r\n",
        "** Delivery incomplete **\r\n\r\nThere was a temporary problem delivering your message to thay.binh@example.test. Gmail will retry for 47 more hours. You'll be notified if the delivery fails permanently.\r\n\r\nThe response was:\r\n\r\n421 4.7.0 Try again later\r\n",
    );
    let r = report_of(&gmail_delay).expect("a delay");
    assert_eq!((r.kind, r.format), (Kind::Delay, "gmail"));
    assert_eq!(r.recipients[0].address, "thay.binh@example.test");
    assert!(!r.recipients[0].permanent);

    let o365 = text_message(
        "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@school.test>\r\nTo: norply+b9-abcdefghjk@moet.test\r\nSubject: Undeliverable: [THPT] x\r\nX-MS-Exchange-Message-Is-Ndr:\r\n",
        "Your message to hieutruong@school.test couldn't be delivered.\r\nhieutruong wasn't found at school.test.\r\n\r\nDiagnostic information for administrators:\r\n\r\nGenerating server: SG2PR06MB5310.apcprd06.prod.outlook.test\r\n\r\nhieutruong@school.test\r\nRemote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\r\n\r\nOriginal message headers:\r\n\r\nFrom: thpt@moet.test\r\nTo: thpt@moet.test\r\nMessage-ID: <post-1.9@moet.test>\r\n",
    );
    let r = report_of(&o365).expect("a bounce");
    assert_eq!(r.format, "exchange");
    assert_eq!(r.recipients.len(), 1, "{r:#?}");
    assert_eq!(r.recipients[0].status.as_deref(), Some("5.1.10"));
    assert_eq!(
        r.recipients[0].diagnostic.as_deref(),
        Some(
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
        )
    );
    assert_eq!(r.original.message_id.as_deref(), Some("post-1.9@moet.test"));
    assert_eq!(r.original.return_path, None);
}

#[test]
fn dsn_without_diagnostic_code_takes_the_words_of_its_text() {
    let (_, raw) = sample!("bounce-postfix-user-unknown");
    let text = String::from_utf8_lossy(raw).replace(
        "Diagnostic-Code: smtp; 550 5.1.1 <nguyenvana@school.test>: Recipient address\n    rejected: User unknown in virtual mailbox table\n",
        "",
    );
    assert!(!text.contains("Diagnostic-Code"));
    let r = report_of(text.as_bytes()).expect("a bounce");
    assert_eq!(r.format, "rfc3464");
    assert_eq!(
        r.recipients[0].diagnostic.as_deref(),
        Some(
            "550 5.1.1 <nguyenvana@school.test>: Recipient address rejected: User unknown in virtual mailbox table"
        )
    );
}

#[test]
fn success_notices_and_not_spam_reports_are_no_reports() {
    let (_, raw) = sample!("bounce-postfix-user-unknown");
    let delivered = String::from_utf8_lossy(raw)
        .replace("Action: failed", "Action: delivered")
        .replace("Status: 5.1.1", "Status: 2.0.0");
    assert_eq!(report_of(delivered.as_bytes()), None);

    let (_, raw) = sample!("arf-fbl-abuse");
    let not_spam =
        String::from_utf8_lossy(raw).replace("Feedback-Type: abuse", "Feedback-Type: not-spam");
    assert_eq!(report_of(not_spam.as_bytes()), None);
}

/// Mangled versions of `raw`.
fn mangled(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // Every 7th byte made invalid UTF-8.
    out.push(
        raw.iter()
            .enumerate()
            .map(|(i, b)| if i % 7 == 3 { 0xC3 } else { *b })
            .collect(),
    );
    // Line ends and blank lines gone or doubled.
    out.push(raw.iter().copied().filter(|b| *b != b'\n').collect());
    out.push(
        raw.iter()
            .flat_map(|b| {
                if *b == b'\n' {
                    vec![b'\n', b'\n']
                } else {
                    vec![*b]
                }
            })
            .collect(),
    );
    // Colons and angle brackets removed, then only kept.
    out.push(
        raw.iter()
            .copied()
            .filter(|b| !b":<>".contains(b))
            .collect(),
    );
    out.push(
        raw.iter()
            .copied()
            .filter(|b| b":<>@\r\n -".contains(b) || b.is_ascii_digit())
            .collect(),
    );
    // Multibyte characters cut in half, and the second half of the message first.
    let mid = raw.len() / 2;
    let mut swapped = raw[mid..].to_vec();
    swapped.extend_from_slice(&raw[..mid]);
    out.push(swapped);
    out.push(
        String::from_utf8_lossy(raw)
            .replace("ư", "\u{FFFD}\u{0301}")
            .replace('\n', "\n\u{00A0}")
            .into_bytes(),
    );
    out
}

#[test]
fn truncated_and_mangled_samples_never_panic() {
    let mut reports = 0usize;
    for (name, raw) in SAMPLES {
        for end in (0..raw.len()).step_by(97) {
            if report_of(&raw[..end]).is_some() {
                reports += 1;
            }
        }
        for (i, m) in mangled(raw).iter().enumerate() {
            // Parsing and reading must not panic; the result does not matter.
            let _ = std::panic::catch_unwind(|| report_of(m))
                .unwrap_or_else(|_| panic!("{name}: mangled #{i} panicked"));
        }
    }
    // Not vacuous: most prefixes long enough to hold the report are read.
    assert!(
        reports > 200,
        "only {reports} truncated samples gave a report"
    );
}

#[test]
fn huge_hostile_bounce_is_read_quickly_and_capped() {
    let mut body = String::from(
        "This is the mail system at host x.test.\n\n                   The mail system\n\n",
    );
    for i in 0..60_000 {
        body.push_str(&format!(
            "<user{i}@example.test>: host x said: 550 5.1.1 no\n\n"
        ));
    }
    let raw = text_message(
        "From: MAILER-DAEMON@x.test\r\nTo: norply+b9-abcdefghjk@moet.test\r\nSubject: Undelivered Mail Returned to Sender\r\n",
        &body,
    );
    let start = Instant::now();
    let r = report_of(&raw).expect("a bounce");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(!r.recipients.is_empty());
    assert!(r.recipients.len() <= MAX_RECIPIENTS);

    // One very long line of address-like text and angle brackets.
    let long = "<a@b.c".repeat(200_000);
    let raw = text_message(
        "From: MAILER-DAEMON@x.test\r\nSubject: failure notice\r\n",
        &format!("Hi. This is the qmail-send program at x.test.\n{long}\n"),
    );
    let start = Instant::now();
    let _ = report_of(&raw);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn only_valid_addresses_are_read() {
    for ok in [
        "a@b.test",
        "<Le.Lan@School.test>",
        "mailto:x+y@z.test",
        "'dda:SMTP=u@h.test'",
        "nguyễn@trường.vn",
    ] {
        assert!(normalize_address(ok).is_some(), "{ok}");
    }
    for bad in [
        "david...@gmail.com",
        ".a@b.test",
        "a.@b.test",
        "a@b",
        "a@-b.test",
        "a@b..test",
        "a@1.2.3.4",
        "a b@c.test",
        "@b.test",
    ] {
        assert_eq!(normalize_address(bad), None, "{bad}");
    }
}

#[test]
fn a_forwarded_bounce_is_a_persons_mail() {
    let raw = text_message(
        "From: gv@school.test\r\nTo: dangky-thpt@moet.test\r\nSubject: Fwd: Undeliverable: [THPT] x\r\n",
        "Please help.\n\nDelivery has failed to these recipients or groups:\n\nother@school.test\n",
    );
    assert_eq!(report_of(&raw), None);
}

#[test]
fn dsn_fields_in_a_text_part_are_read() {
    let raw = text_message(
        "From: MAILER-DAEMON@gw.test\r\nSubject: Delivery Status Notification (Failure)\r\n",
        "An error occurred while trying to deliver the mail to the following recipients:\n\n\
         Reporting-MTA: dns; gw.test\n\n\
         Final-Recipient: rfc822; gone@school.test\n\
         Action: failed\n\
         Status: 5.1.1\n\
         Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable\n",
    );
    let r = report_of(&raw).expect("a report");
    assert_eq!(r.format, "rfc3464");
    assert_eq!(r.recipients.len(), 1);
    assert_eq!(r.recipients[0].address, "gone@school.test");
    assert_eq!(r.recipients[0].status.as_deref(), Some("5.1.1"));
}

#[test]
fn a_complaint_wrapped_in_a_forwarded_message_is_read() {
    let inner = "From: staff@hotmail.test\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/report; report-type=feedback-report; boundary=\"in\"\r\n\r\n\
        --in\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\
        --in\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n\
        Original-Rcpt-To: <gv@hotmail.test>\r\n\r\n--in--\r\n";
    let raw = format!(
        "From: staff@hotmail.test\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\n\
         --out\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n\
         --out\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--out--\r\n"
    );
    let r = report_of(raw.as_bytes()).expect("a complaint");
    assert_eq!(r.kind, Kind::Complaint);
    assert_eq!(r.recipients[0].address, "gv@hotmail.test");
}
