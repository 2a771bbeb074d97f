//! The words bounces are written in, in the languages of the mail that reaches a
//! Vietnamese ministry: English, Vietnamese, German, French, Spanish, Italian,
//! Portuguese, Dutch, Russian, Chinese and Japanese. Every phrase is compared folded
//! ([`crate::text::fold`]: no diacritics, lowercase, single spaces), so that "Không thể
//! gửi", "khong the gui" and their decomposed forms are one.

use crate::text::fold;
use std::sync::LazyLock;

/// Subject beginnings of bounces and delay warnings.
const SUBJECTS: &[&str] = &[
    // English, as MTAs and webmail write them.
    "undelivered mail returned to sender",
    "undeliverable",
    "undelivered mail",
    "undelivered message",
    "mail delivery failed",
    "mail delivery failure",
    "mail delivery system",
    "mail delivery error",
    "mail delivery problem",
    "mail failure",
    "failure notice",
    "delivery status notification",
    "delivery notification",
    "delivery report",
    "delivery failure",
    "delivery failed",
    "delivery problem",
    "failed delivery",
    "failed mail",
    "message delivery failure",
    "message delivery has failed",
    "returned mail",
    "mail returned",
    "returned to sender",
    "mail system error",
    "nondeliverable",
    "non-deliverable",
    "non delivery",
    "non-delivery",
    "nondelivery",
    "message not delivered",
    "message undeliverable",
    "could not send message",
    "your message could not be delivered",
    "notice: mail delivery status",
    "permanent delivery failure",
    "delayed mail",
    "delayed:",
    "delivery delayed",
    "warning: message",
    "warning: could not send message",
    // Vietnamese.
    "thu khong gui duoc",
    "khong gui duoc thu",
    "khong the gui thu",
    "khong the chuyen thu",
    "gui thu that bai",
    "thu bi tra lai",
    "tra lai thu",
    "bao cao gui thu",
    "khong the gui",
    "khong gui duoc",
    // German.
    "unzustellbar",
    "nicht zustellbar",
    "zustellung fehlgeschlagen",
    "fehlgeschlagene zustellung",
    "nicht zugestellt",
    "unzustellbare nachricht",
    "ruckmeldung zur zustellung",
    "benachrichtigung zum ubermittlungsstatus",
    "verzogert:",
    "zustellung verzogert",
    // French.
    "non remis",
    "non distribuable",
    "non delivre",
    "echec de la remise",
    "echec de remise",
    "echec de la livraison",
    "echec de livraison",
    "echec de distribution",
    "message non remis",
    "message non delivre",
    "impossible de remettre",
    "notification d'etat de remise",
    "retarde:",
    "remise differee",
    // Spanish.
    "no se puede entregar",
    "no se pudo entregar",
    "no entregado",
    "no entregable",
    "imposible de entregar",
    "error en la entrega",
    "fallo en la entrega",
    "error de entrega",
    "mensaje no entregado",
    "notificacion de estado de entrega",
    "retrasado:",
    "entrega retrasada",
    // Italian.
    "non recapitabile",
    "non recapitato",
    "mancato recapito",
    "impossibile recapitare",
    "consegna non riuscita",
    "messaggio non consegnato",
    "errore di consegna",
    "notifica sullo stato della consegna",
    "ritardato:",
    "consegna ritardata",
    // Portuguese.
    "nao entregue",
    "nao e possivel entregar",
    "falha na entrega",
    "mensagem nao entregue",
    "impossivel entregar",
    "nao foi possivel entregar",
    "notificacao de status de entrega",
    "atrasada:",
    "entrega atrasada",
    // Dutch.
    "onbestelbaar",
    "niet afgeleverd",
    "niet bezorgd",
    "kan niet worden bezorgd",
    "bezorging mislukt",
    "afleveren mislukt",
    "vertraagd:",
    "bezorging vertraagd",
    // Russian.
    "не доставлено",
    "недоставлено",
    "недоставленное сообщение",
    "не удалось доставить",
    "невозможно доставить",
    "ошибка доставки",
    "сообщение не доставлено",
    "возврат почты",
    "уведомление о доставке",
    "доставка задерживается",
    // Chinese.
    "退信",
    "系统退信",
    "邮件退回",
    "无法投递",
    "无法送达",
    "投递失败",
    "发送失败",
    "未送达",
    "邮件未能送达",
    "無法傳遞",
    "無法送達",
    "傳送失敗",
    "退回的郵件",
    "延迟投递",
    // Japanese.
    "配信できません",
    "配信不能",
    "配信失敗",
    "配送エラー",
    "配信エラー",
    "送信エラー",
    "送信できませんでした",
    "配信されませんでした",
    "メッセージ配信不能",
    "メール配信失敗",
    "未配信",
    "エラーメール",
    "返送",
    "配信遅延",
];

/// Sentences of a bounce's own text saying that mail could not be delivered.
const FAILURE: &[&str] = &[
    // English.
    "could not be delivered",
    "couldn't be delivered",
    "could not be sent",
    "cannot be delivered",
    "can't be delivered",
    "was not delivered",
    "wasn't delivered",
    "not been delivered",
    "were not delivered",
    "could not deliver",
    "couldn't deliver",
    "unable to deliver",
    "failed to deliver",
    "delivery failed",
    "delivery has failed",
    "delivery to the following",
    "error delivering",
    "error while delivering",
    "problem delivering",
    "undeliverable",
    "undelivered",
    "permanent error",
    "permanent failure",
    "permanent fatal error",
    "did not reach",
    "rejected your message",
    "message was rejected",
    "there's a problem with the e-mail address",
    "there was a problem with the e-mail address",
    "returned to sender",
    "following address(es) failed",
    "following recipients failed",
    "following recipient(s)",
    "following addresses had",
    "no such user",
    "user unknown",
    "unknown user",
    // Vietnamese.
    "khong the gui",
    "khong gui duoc",
    "khong the chuyen",
    "khong chuyen duoc",
    "khong the phat",
    "gui khong thanh cong",
    "gui that bai",
    "bi tra lai",
    "khong the giao",
    "khong the nhan thu",
    // German.
    "konnte nicht zugestellt werden",
    "konnte nicht ausgeliefert werden",
    "kann nicht zugestellt werden",
    "nicht zugestellt werden",
    "unzustellbar",
    "zustellung fehlgeschlagen",
    "zustellung ist fehlgeschlagen",
    "fehler bei der zustellung",
    "permanenter fehler",
    "dauerhafter fehler",
    // French.
    "n'a pas pu etre remis",
    "n'a pas pu etre delivre",
    "n'a pas pu etre livre",
    "n'a pas pu etre distribue",
    "n'a pu etre distribue",
    "n'a pas ete remis",
    "n'a pas ete delivre",
    "impossible de remettre",
    "impossible de distribuer",
    "impossible de delivrer",
    "echec de la remise",
    "echec de remise",
    "erreur permanente",
    // Spanish.
    "no se ha podido entregar",
    "no se pudo entregar",
    "no pudo ser entregado",
    "no se puede entregar",
    "no ha sido entregado",
    "no se ha entregado",
    "imposible entregar",
    "error permanente",
    "fallo en la entrega",
    // Italian.
    "non e stato possibile recapitare",
    "non e stato possibile consegnare",
    "non e stato recapitato",
    "non e stato consegnato",
    "non puo essere recapitato",
    "impossibile recapitare",
    "impossibile consegnare",
    "non recapitabile",
    "mancato recapito",
    "errore permanente",
    // Portuguese.
    "nao foi possivel entregar",
    "nao pode ser entregue",
    "nao foi entregue",
    "impossivel entregar",
    "falha na entrega",
    "erro permanente",
    // Dutch.
    "kon niet worden afgeleverd",
    "kan niet worden afgeleverd",
    "kon niet worden bezorgd",
    "kan niet worden bezorgd",
    "niet worden bezorgd",
    "niet afgeleverd",
    "onbestelbaar",
    "permanente fout",
    "bezorging mislukt",
    // Russian.
    "не может быть доставлено",
    "не может быть доставлен",
    "не удалось доставить",
    "не было доставлено",
    "не доставлено",
    "невозможно доставить",
    "ошибка доставки",
    "постоянная ошибка",
    // Chinese.
    "无法投递",
    "无法送达",
    "未能送达",
    "不能送达",
    "投递失败",
    "发送失败",
    "无法发送",
    "退信",
    "無法傳遞",
    "無法送達",
    "傳送失敗",
    "無法投遞",
    // Japanese.
    "配信できませんでした",
    "配信できません",
    "送信できませんでした",
    "配送できませんでした",
    "届けることができませんでした",
    "配信されませんでした",
    "送信されませんでした",
    "アドレスが見つかりません",
    "宛先不明",
    "配信不能",
];

/// Sentences of a delay warning: delivery is still being tried.
const DELAY: &[&str] = &[
    // English.
    "has been delayed",
    "have been delayed",
    "delivery is delayed",
    "is delayed",
    "has not yet been delivered",
    "not yet been delivered",
    "still trying",
    "will continue trying",
    "will keep trying",
    "will retry",
    "this is a warning only",
    "warning message only",
    "delayed delivery",
    // Vietnamese.
    "bi tre",
    "bi cham tre",
    "chua duoc gui",
    "chua gui duoc",
    "chua the gui",
    "dang thu lai",
    "se tiep tuc thu",
    // German.
    "verzogert",
    "noch nicht zugestellt",
    "wird weiterhin versucht",
    // French.
    "retarde",
    "pas encore ete remis",
    "pas encore ete delivre",
    "continuera d'essayer",
    // Spanish.
    "retrasad",
    "aun no se ha entregado",
    "todavia no se ha entregado",
    "seguira intentando",
    // Italian.
    "ritardat",
    "non e ancora stato recapitato",
    "non e stato ancora recapitato",
    "continuera a provare",
    // Portuguese.
    "atrasad",
    "ainda nao foi entregue",
    "continuara tentando",
    // Dutch.
    "vertraagd",
    "nog niet bezorgd",
    "nog niet afgeleverd",
    // Russian.
    "задерживается",
    "задержка доставки",
    "еще не доставлено",
    "ещё не доставлено",
    "пока не доставлено",
    // Chinese.
    "延迟",
    "延遲",
    "尚未投递",
    "尚未送达",
    "正在重试",
    // Japanese.
    "遅延",
    "まだ配信されていません",
    "再送を試みます",
];

fn folded(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| fold(p)).collect()
}

static SUBJECTS_FOLDED: LazyLock<Vec<String>> = LazyLock::new(|| folded(SUBJECTS));
static FAILURE_FOLDED: LazyLock<Vec<String>> = LazyLock::new(|| folded(FAILURE));
static DELAY_FOLDED: LazyLock<Vec<String>> = LazyLock::new(|| folded(DELAY));

/// Whether `subject` announces a bounce or a delay warning, in any of the languages:
/// it starts with one of the subjects, maybe in brackets ("[系统退信] …"). A forwarded
/// or answered bounce ("Fwd: Undeliverable: …") is a person's mail, not a mailer's.
pub(super) fn bounce_subject(subject: &str) -> bool {
    let s = fold(subject);
    let s = s.trim_start_matches(['[', '(', '*', ' ']);
    SUBJECTS_FOLDED.iter().any(|p| s.starts_with(p.as_str()))
}

/// Whether `text` (folded) says mail could not be delivered, in any of the languages.
pub(super) fn says_failure(folded: &str) -> bool {
    FAILURE_FOLDED.iter().any(|p| folded.contains(p.as_str()))
}

/// Whether `text` (folded) says delivery is only delayed, in any of the languages.
pub(super) fn says_delay(folded: &str) -> bool {
    DELAY_FOLDED.iter().any(|p| folded.contains(p.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_in_every_language() {
        for s in [
            "Undelivered Mail Returned to Sender",
            "Undeliverable: [THPT] Thông báo",
            "Thư không gửi được: [THPT] Thông báo",
            "Unzustellbar: Rundschreiben",
            "Non remis : Circulaire",
            "No se puede entregar: Circular",
            "Non recapitabile: Circolare",
            "Não entregue: Circular",
            "Onbestelbaar: Circulaire",
            "Недоставленное сообщение",
            "系统退信",
            "[退信] 通知",
            "配信できませんでした",
        ] {
            assert!(bounce_subject(s), "{s}");
        }
        for s in [
            "Thông báo nghỉ lễ",
            "Re: circular 12",
            "Automatic reply: x",
            "Fwd: Undeliverable: x",
        ] {
            assert!(!bounce_subject(s), "{s}");
        }
    }

    #[test]
    fn failure_and_delay_sentences() {
        assert!(says_failure(&fold(
            "Ihre Nachricht konnte nicht zugestellt werden"
        )));
        assert!(says_failure(&fold("Thư của bạn không thể gửi tới")));
        assert!(says_failure(&fold("メッセージを配信できませんでした")));
        assert!(says_failure(&fold("Votre message n'a pas pu être remis")));
        assert!(!says_failure(&fold("Tôi đang đi công tác đến thứ Hai")));
        assert!(says_delay(&fold("Die Zustellung wurde verzögert")));
        assert!(says_delay(&fold("Delivery has been delayed; still trying")));
        assert!(!says_delay(&fold("Your message could not be delivered")));
    }
}
