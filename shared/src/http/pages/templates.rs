//! The templates of the pages (askama: compiled into the binary, checked
//! at build time, escaped by default) and the models the views fill. The
//! models hold words already in the page's language (`texts.rs`), so the
//! templates only lay them out; what the page's script needs travels in the
//! `embed-context` JSON element (no inline script, no inline style: the CSP
//! allows neither).

use askama::Template;
use serde_json::Value;

use super::texts::Texts;

/// JSON for a `<script type="application/json">` element: `<`, `>` and `&`
/// are escaped so no value can close the element.
pub fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A page with one message and no session: expired, not found, or
/// "restoring the session".
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub t: &'a Texts,
    pub context_json: String,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
}

/// A link inside the iframe; the script follows it with the session
/// (`data-nav`) instead of letting the browser load it without one.
#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

impl NavLink {
    pub fn new(href: impl Into<String>, label: impl Into<String>, current: bool) -> Self {
        Self {
            href: href.into(),
            label: label.into(),
            current,
        }
    }
}

/// What frames every view of a session: the franchise, and for employees
/// who is signed in and the sections.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub franchise_name: String,
    pub user_name: Option<String>,
    pub nav: Vec<NavLink>,
}

/// A view of a session.
#[derive(Template)]
#[template(path = "view.html")]
pub struct ViewPage<'a> {
    pub t: &'a Texts,
    pub context_json: String,
    pub chrome: Chrome,
    pub title: String,
    pub body: Body,
}

/// What a view shows.
pub enum Body {
    /// A state to explain (nothing found, nothing to answer, thank you…).
    Message(Message),
    ConsultationStart(StartModel),
    ConsultationDetails(Box<ConsultationModel>),
    Dashboard(DashboardModel),
    Answer(AnswerModel),
    FollowupForm(FollowupFormModel),
    FollowupDetails(Box<FollowupModel>),
    Franchise(FranchiseModel),
    Onboarding,
    Offboarding,
    Statistics(StatisticsModel),
    /// A provider's waiting room: queue, eConsults, today's appointments.
    WaitingRoom(Box<WaitingRoomModel>),
    /// A provider's started (or ended) visit, with its chat.
    VisitRoom(Box<VisitRoomModel>),
    /// A provider's schedule and availability editor.
    Schedule(Box<ScheduleModel>),
    /// A provider's room with video (`views/room.rs`).
    ProviderRoom(Box<ProviderRoomModel>),
    /// The visits' statistics, as server-rendered SVG charts.
    VisitStatistics(Box<VisitStatsModel>),
}

/// The words of the room's video.
#[derive(Debug, Clone)]
pub struct VideoWords {
    pub video: &'static str,
    pub mute: &'static str,
    pub unmute: &'static str,
    pub camera_off: &'static str,
    pub camera_on: &'static str,
    pub hang_up: &'static str,
    pub no_camera: &'static str,
    pub no_media: &'static str,
    pub waiting: &'static str,
    pub left: &'static str,
    pub presence: &'static str,
}

/// The provider's room: the visit's room and, once it is in progress, the
/// video's context (`#video-context`, read by `video.js`).
#[derive(Debug, Clone)]
pub struct ProviderRoomModel {
    pub room: VisitRoomModel,
    pub video_json: Option<String>,
    pub v: VideoWords,
}

impl ProviderRoomModel {
    pub fn visit_room(&self) -> &VisitRoomModel {
        &self.room
    }
}

/// The words of the provider's views, in the page's language.
#[derive(Debug, Clone)]
pub struct ProviderWords {
    pub rooms: &'static str,
    pub queue: &'static str,
    pub queue_empty: &'static str,
    pub position: &'static str,
    pub waiting: &'static str,
    pub minutes: &'static str,
    pub reason: &'static str,
    pub econsults: &'static str,
    pub econsults_empty: &'static str,
    pub today: &'static str,
    pub today_empty: &'static str,
    pub in_progress: &'static str,
    pub start: &'static str,
    pub accept: &'static str,
    pub complete: &'static str,
    pub no_show: &'static str,
    pub open_room: &'static str,
    pub chat: &'static str,
    pub chat_empty: &'static str,
    pub message: &'static str,
    pub send: &'static str,
    pub back: &'static str,
    pub availability: &'static str,
    pub weekly: &'static str,
    pub weekly_hint: &'static str,
    pub exceptions: &'static str,
    pub exceptions_hint: &'static str,
    pub save: &'static str,
    pub status: &'static str,
    pub when: &'static str,
    /// The live state of a visit: who is in its room now.
    pub connected: &'static str,
    pub nobody_connected: &'static str,
}

/// A visit in one of the provider's lists.
#[derive(Debug, Clone)]
pub struct VisitRow {
    pub id: String,
    pub position: String,
    pub waiting_minutes: String,
    pub when: String,
    pub reason: String,
    pub status: String,
    pub can_start: bool,
    pub can_accept: bool,
    pub can_no_show: bool,
    /// The visit's room page, once it is the provider's and started.
    pub href: Option<String>,
    /// Who of the visit's people is connected now (presence), as shown;
    /// empty for a visit that has ended.
    pub live: String,
}

#[derive(Debug, Clone)]
pub struct WaitingRoomModel {
    pub w: ProviderWords,
    pub rooms: Vec<NavLink>,
    pub room_name: String,
    pub queue: Vec<VisitRow>,
    pub econsults: Vec<VisitRow>,
    pub today: Vec<VisitRow>,
    pub in_progress: Vec<VisitRow>,
}

#[derive(Debug, Clone)]
pub struct ChatLine {
    pub id: String,
    pub author: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct VisitRoomModel {
    pub w: ProviderWords,
    pub id: String,
    pub status: String,
    pub facts: Vec<Fact>,
    pub messages: Vec<ChatLine>,
    pub chat_open: bool,
    pub can_complete: bool,
    pub can_no_show: bool,
    pub back: NavLink,
}

/// One room's availability editor: the JSON of `PUT
/// /v2/providers/{userId}/availability`'s `weekly` and `exceptions`.
#[derive(Debug, Clone)]
pub struct AvailabilityEditor {
    pub room_code: String,
    pub room_name: String,
    pub weekly_json: String,
    pub exceptions_json: String,
}

#[derive(Debug, Clone)]
pub struct ScheduleModel {
    pub w: ProviderWords,
    pub today: Vec<VisitRow>,
    pub editors: Vec<AvailabilityEditor>,
}

#[derive(Debug, Clone)]
pub struct Message {
    /// `info`, `success`, `warning`.
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    pub links: Vec<NavLink>,
}

#[derive(Debug, Clone)]
pub struct PatientModel {
    pub id: String,
    pub name: String,
    pub date_of_birth: String,
}

#[derive(Debug, Clone)]
pub struct ReasonOption {
    pub code: String,
    pub title: String,
    pub description: String,
    pub selected: bool,
}

#[derive(Debug, Clone)]
pub struct StartModel {
    pub patient: PatientModel,
    pub reasons: Vec<ReasonOption>,
}

/// A label and a value, for a list of facts.
#[derive(Debug, Clone)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

impl Fact {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConsultationModel {
    pub id: String,
    pub status: String,
    pub status_label: String,
    pub facts: Vec<Fact>,
    pub answers: Vec<Fact>,
    pub summary: Option<String>,
    pub can_send: bool,
    /// The reasons to pick from when sending a draft without one.
    pub reasons: Vec<ReasonOption>,
    pub can_complete: bool,
    pub can_archive: bool,
    pub can_cancel: bool,
    pub links: Vec<NavLink>,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub href: String,
    pub when: String,
    pub patient: String,
    pub reason: String,
    pub status: String,
    pub status_label: String,
    pub due: String,
}

#[derive(Debug, Clone)]
pub struct DashboardModel {
    pub followups: bool,
    pub status_filters: Vec<NavLink>,
    pub patient_filters: Vec<NavLink>,
    pub rows: Vec<Row>,
    pub pages: Vec<NavLink>,
    pub links: Vec<NavLink>,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub dom_id: String,
}

/// One question of a questionnaire, as a form control.
#[derive(Debug, Clone)]
pub struct QuestionField {
    pub name: String,
    pub dom_id: String,
    /// `single`, `multi`, `yesno`, `number`, `scale`, `text`.
    pub kind: &'static str,
    pub label: String,
    pub required: bool,
    pub choices: Vec<Choice>,
    pub min: String,
    pub max: String,
    pub step: &'static str,
    pub maxlength: String,
}

#[derive(Debug, Clone)]
pub struct AnswerModel {
    /// The action that records the answers (`consultation.answer`,
    /// `followup.answer`).
    pub action: &'static str,
    /// The action the page sends on the patient's first interaction.
    pub first: Option<&'static str>,
    /// The hidden field that names what is answered, and its value.
    pub id_field: &'static str,
    pub id: String,
    pub reason_title: String,
    pub reason_description: String,
    pub questions: Vec<QuestionField>,
}

#[derive(Debug, Clone)]
pub struct FrequencyOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Debug, Clone)]
pub struct FollowupFormModel {
    pub patient: PatientModel,
    pub consultation_id: Option<String>,
    pub reasons: Vec<ReasonOption>,
    pub no_reason_selected: bool,
    pub due_date: String,
    pub min_date: String,
    pub frequencies: Vec<FrequencyOption>,
    pub notes: String,
}

#[derive(Debug, Clone)]
pub struct Move {
    pub to: &'static str,
    pub label: &'static str,
}

#[derive(Debug, Clone)]
pub struct FollowupModel {
    pub id: String,
    pub status: String,
    pub status_label: String,
    pub facts: Vec<Fact>,
    pub notes: Option<String>,
    pub answers: Vec<Fact>,
    pub moves: Vec<Move>,
    pub links: Vec<NavLink>,
}

#[derive(Debug, Clone)]
pub struct FranchiseModel {
    pub facts: Vec<Fact>,
    pub origins: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CountRow {
    pub status: String,
    pub label: String,
    pub count: usize,
}

#[derive(Debug, Clone)]
pub struct CountTable {
    pub id: &'static str,
    pub caption: &'static str,
    pub rows: Vec<CountRow>,
    pub total: usize,
    /// The largest count (at least 1): the scale of the bars.
    pub max: usize,
}

#[derive(Debug, Clone)]
pub struct StatisticsModel {
    pub tables: Vec<CountTable>,
}

/// One bar of an SVG chart: what it counts (`key`), its label, its value
/// as shown, and where it is drawn (`y`, `width` in the chart's units).
#[derive(Debug, Clone)]
pub struct SvgBar {
    pub key: String,
    pub label: String,
    pub value: String,
    pub y: usize,
    pub text_y: usize,
    pub width: usize,
    pub value_x: usize,
}

/// A horizontal bar chart, drawn by the server (no script).
#[derive(Debug, Clone)]
pub struct SvgChart {
    pub id: &'static str,
    pub title: &'static str,
    pub bars: Vec<SvgBar>,
    pub height: usize,
}

#[derive(Debug, Clone)]
pub struct VisitStatsModel {
    pub range: String,
    pub total_label: &'static str,
    pub total: usize,
    pub ranges: Vec<NavLink>,
    pub charts: Vec<SvgChart>,
    pub concerns_title: &'static str,
    pub concern_label: &'static str,
    pub concerns_empty: &'static str,
    pub concerns: Vec<CountRow>,
}

#[cfg(test)]
mod tests {
    use super::super::texts::{EN, FR};
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let v = serde_json::json!({"x": "</script><script>alert(1)</script>&"});
        let s = script_json(&v);
        assert!(!s.contains("</script>"));
        assert_eq!(serde_json::from_str::<Value>(&s).unwrap(), v);
    }

    #[test]
    fn templates_escape_html() {
        let page = ViewPage {
            t: &EN,
            context_json: "{}".into(),
            chrome: Chrome {
                franchise_name: "<b>F</b>".into(),
                user_name: Some("<script>x</script>".into()),
                nav: vec![],
            },
            title: "V".into(),
            body: Body::Message(Message {
                kind: "info",
                title: "<i>t</i>".into(),
                body: "b".into(),
                links: vec![],
            }),
        };
        let html = page.render().unwrap();
        assert!(html.contains("&#60;script&#62;x") || html.contains("&lt;script&gt;x"));
        assert!(!html.contains("<script>x</script>"));
        assert!(!html.contains("<b>F</b>") && !html.contains("<i>t</i>"));
    }

    #[test]
    fn every_text_exists_in_both_languages() {
        assert_eq!(EN.lang, "en");
        assert_eq!(FR.lang, "fr");
        assert_ne!(EN.send_to_patient, FR.send_to_patient);
    }
}
