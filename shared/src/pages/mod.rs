//! The embedded pages: askama templates (compiled into the binary, checked
//! at build time, escaped by default), their FR/EN texts, and the context
//! each page hands to `static/app.js`.

use askama::Template;
use serde_json::Value;

use crate::domain::{Locale, View};

/// The words of the pages, in one language.
pub struct Texts {
    pub lang: &'static str,
    pub signed_in_as: &'static str,
    pub session_scope: &'static str,
    pub franchise: &'static str,
    pub view: &'static str,
    pub user_id: &'static str,
    pub patient_id: &'static str,
    pub consultation_id: &'static str,
    pub followup_id: &'static str,
    pub landing_note: &'static str,
    pub expired_title: &'static str,
    pub expired_body: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub resume_title: &'static str,
    pub resume_body: &'static str,
}

pub const EN: Texts = Texts {
    lang: "en",
    signed_in_as: "Signed in as",
    session_scope: "This session",
    franchise: "Franchise",
    view: "View",
    user_id: "User id",
    patient_id: "Patient id",
    consultation_id: "Consultation id",
    followup_id: "Follow-up id",
    landing_note: "You are signed in. This view opens here.",
    expired_title: "This link has expired",
    expired_body: "For your security, each link opens once and only for a few minutes. Please open the view again from your software.",
    not_found_title: "Page not found",
    not_found_body: "This address does not match any embedcare view.",
    resume_title: "Loading…",
    resume_body: "Restoring your session.",
};

pub const FR: Texts = Texts {
    lang: "fr",
    signed_in_as: "Connecté·e en tant que",
    session_scope: "Cette session",
    franchise: "Franchise",
    view: "Vue",
    user_id: "Identifiant utilisateur",
    patient_id: "Identifiant patient",
    consultation_id: "Identifiant consultation",
    followup_id: "Identifiant suivi",
    landing_note: "Vous êtes connecté·e. Cette vue s'ouvre ici.",
    expired_title: "Ce lien a expiré",
    expired_body: "Pour votre sécurité, chaque lien ne s'ouvre qu'une fois et pendant quelques minutes. Veuillez rouvrir la vue depuis votre logiciel.",
    not_found_title: "Page introuvable",
    not_found_body: "Cette adresse ne correspond à aucune vue embedcare.",
    resume_title: "Chargement…",
    resume_body: "Restauration de votre session.",
};

pub fn texts(locale: Locale) -> &'static Texts {
    match locale {
        Locale::En => &EN,
        Locale::Fr => &FR,
    }
}

/// The title of a view, in the page's language.
pub fn view_label(view: View, locale: Locale) -> &'static str {
    let (en, fr) = match view {
        View::ConsultationStart => ("Start a consultation", "Démarrer une consultation"),
        View::ConsultationDashboard => ("Consultations", "Consultations"),
        View::ConsultationDetails => ("Consultation details", "Détails de la consultation"),
        View::ConsultationAnswer => ("Your consultation", "Votre consultation"),
        View::FollowupStart => ("Start a follow-up", "Démarrer un suivi"),
        View::FollowupDashboard => ("Follow-ups", "Suivis"),
        View::FollowupDetails => ("Follow-up details", "Détails du suivi"),
        View::FollowupPlan => ("Plan a follow-up", "Planifier un suivi"),
        View::FranchiseManagement => ("Franchise management", "Gestion de la franchise"),
        View::FranchiseOnboarding => ("Franchise onboarding", "Adhésion de la franchise"),
        View::FranchiseOffboarding => ("Franchise offboarding", "Départ de la franchise"),
        View::Statistics => ("Statistics", "Statistiques"),
    };
    match locale {
        Locale::En => en,
        Locale::Fr => fr,
    }
}

/// JSON for a `<script type="application/json">` element: `<`, `>` and `&`
/// are escaped so no value can close the element.
pub fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[derive(Template)]
#[template(path = "landing.html")]
pub struct LandingPage<'a> {
    pub t: &'a Texts,
    pub context_json: String,
    pub franchise_name: &'a str,
    pub tenant_key: &'a str,
    pub user_name: String,
    pub user_id: &'a str,
    pub view_label: &'a str,
    pub view_path: String,
    pub ids: Vec<(&'a str, String)>,
}

/// A page with one message: expired, not found, or "restoring the session".
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub t: &'a Texts,
    pub context_json: String,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
}

#[cfg(test)]
mod tests {
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
        let page = LandingPage {
            t: &EN,
            context_json: "{}".into(),
            franchise_name: "<b>F</b>",
            tenant_key: "demo",
            user_name: "<script>x</script>".into(),
            user_id: "u",
            view_label: "V",
            view_path: "a/b".into(),
            ids: vec![],
        };
        let html = page.render().unwrap();
        assert!(html.contains("&#60;script&#62;x") || html.contains("&lt;script&gt;x"));
        assert!(!html.contains("<script>x</script>"));
    }
}
