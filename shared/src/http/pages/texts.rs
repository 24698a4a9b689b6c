//! The words of the pages, in English and in French. One macro line per
//! text, so a text cannot exist in one language only; and the words of
//! the domain's values (statuses, frequencies, views).

use crate::domain::{
    ConsultationStatus, DeliveryStatus, FollowupStatus, FranchiseStatus, Frequency, Locale, View,
};

macro_rules! texts {
    ($($name:ident: $en:expr, $fr:expr;)*) => {
        /// The words of the pages, in one language.
        pub struct Texts {
            pub lang: &'static str,
            $(pub $name: &'static str,)*
        }
        pub const EN: Texts = Texts { lang: "en", $($name: $en,)* };
        pub const FR: Texts = Texts { lang: "fr", $($name: $fr,)* };
    };
}

texts! {
    signed_in_as: "Signed in as", "Connecté·e en tant que";
    main_nav: "Sections", "Sections";
    nav_consultations: "Consultations", "Consultations";
    nav_followups: "Follow-ups", "Suivis";
    nav_statistics: "Statistics", "Statistiques";
    nav_visit_statistics: "Visits", "Visites";
    nav_franchise: "Franchise", "Franchise";
    franchise: "Franchise", "Franchise";
    tenant_key: "Tenant key", "Clé de la franchise";
    language: "Language", "Langue";
    allowed_origins: "Allowed origins", "Origines autorisées";
    terms_accepted_by: "Terms accepted by", "Conditions acceptées par";
    terms_accepted_at: "Terms accepted on", "Conditions acceptées le";
    expired_title: "This link has expired", "Ce lien a expiré";
    expired_body: "For your security, each link opens once and only for a few minutes. Please open the view again from your software.", "Pour votre sécurité, chaque lien ne s'ouvre qu'une fois et pendant quelques minutes. Veuillez rouvrir la vue depuis votre logiciel.";
    not_found_title: "Page not found", "Page introuvable";
    not_found_body: "This address does not match any embedcare view.", "Cette adresse ne correspond à aucune vue embedcare.";
    item_not_found_body: "It does not exist in this franchise, or it was removed.", "Il n'existe pas dans cette franchise, ou il a été supprimé.";
    forbidden_title: "Not available here", "Non disponible ici";
    forbidden_body: "This view cannot be opened in this session. Please open it from your software.", "Cette vue ne peut pas être ouverte dans cette session. Veuillez l'ouvrir depuis votre logiciel.";
    resume_title: "Loading…", "Chargement…";
    resume_body: "Opening your page.", "Ouverture de votre page.";
    needs_script: "This page needs JavaScript to open.", "Cette page a besoin de JavaScript pour s'ouvrir.";
    error_body: "Please try again in a moment.", "Veuillez réessayer dans un instant.";
    patient: "Patient", "Patient·e";
    name: "Name", "Nom";
    date_of_birth: "Date of birth", "Date de naissance";
    unknown: "—", "—";
    no_patient_title: "No patient selected", "Aucun·e patient·e sélectionné·e";
    no_patient_body: "Open this view from your software with a patient.", "Ouvrez cette vue depuis votre logiciel avec un·e patient·e.";
    confirm_patient: "Please confirm the patient before you continue.", "Veuillez confirmer le ou la patient·e avant de continuer.";
    reason: "Reason", "Motif";
    choose_reason: "Choose the reason for the consultation", "Choisissez le motif de la consultation";
    no_reason: "No reason yet", "Aucun motif pour l'instant";
    none_option: "None", "Aucun";
    send_to_patient: "Send to the patient", "Envoyer au patient";
    save_draft: "Save as draft", "Enregistrer comme brouillon";
    status: "Status", "Statut";
    created_at: "Created", "Date de création";
    updated_at: "Updated", "Mise à jour";
    sent_at: "Sent", "Date d'envoi";
    answered_at: "Answered", "Date de réponse";
    done_at: "Done", "Date de fin";
    delivery: "Delivery to the patient", "Envoi au patient";
    delivery_none: "Not recorded", "Non enregistré";
    answers: "Answers", "Réponses";
    no_answers: "No answers yet.", "Aucune réponse pour l'instant.";
    summary: "Summary", "Synthèse";
    summary_hint: "Your analysis (optional, at most 4000 characters).", "Votre analyse (facultative, 4000 caractères au plus).";
    actions: "Actions", "Actions";
    send: "Send to the patient", "Envoyer au patient";
    mark_done: "Mark as done", "Marquer comme terminée";
    archive: "Archive", "Archiver";
    cancel_consultation: "Cancel the consultation", "Annuler la consultation";
    no_actions: "No action is possible in this status.", "Aucune action n'est possible dans ce statut.";
    back_to_dashboard: "Back to the list", "Retour à la liste";
    plan_followup: "Plan a follow-up", "Planifier un suivi";
    start_consultation: "Start a consultation", "Démarrer une consultation";
    no_consultation_title: "No consultation yet", "Aucune consultation pour l'instant";
    no_consultation_body: "This patient has no consultation in this franchise.", "Ce ou cette patient·e n'a aucune consultation dans cette franchise.";
    no_followup_title: "No follow-up yet", "Aucun suivi pour l'instant";
    no_followup_body: "This patient has no follow-up in this franchise.", "Ce ou cette patient·e n'a aucun suivi dans cette franchise.";
    filter_status: "Filter by status", "Filtrer par statut";
    filter_patient: "Whose", "De qui";
    all: "All", "Tous";
    this_patient: "This patient", "Ce ou cette patient·e";
    all_patients: "All patients", "Tous les patients";
    list_caption: "Newest first", "Les plus récentes d'abord";
    empty_list: "Nothing to show.", "Rien à afficher.";
    next_page: "Next page", "Page suivante";
    first_page: "First page", "Première page";
    pagination: "Pages", "Pages";
    yes: "Yes", "Oui";
    no: "No", "Non";
    required: "required", "obligatoire";
    submit_answers: "Send my answers", "Envoyer mes réponses";
    answer_intro: "Please answer the questions below. Your pharmacist will read your answers.", "Veuillez répondre aux questions ci-dessous. Votre pharmacien·ne lira vos réponses.";
    thanks_title: "Thank you", "Merci";
    thanks_body: "Your answers were sent to your pharmacist.", "Vos réponses ont été transmises à votre pharmacien·ne.";
    closed_title: "Nothing to answer", "Rien à répondre";
    closed_body: "This consultation is no longer waiting for your answers.", "Cette consultation n'attend plus vos réponses.";
    followup_closed_body: "This follow-up is no longer waiting for your answers.", "Ce suivi n'attend plus vos réponses.";
    followup_nothing_body: "There is no questionnaire to answer for this follow-up.", "Ce suivi n'a pas de questionnaire à remplir.";
    nothing_awaiting_body: "You have no consultation to answer at the moment.", "Vous n'avez aucune consultation à remplir pour le moment.";
    due_date: "Due date", "Échéance";
    frequency: "Frequency", "Fréquence";
    freq_once: "Once", "Une fois";
    freq_daily: "Daily", "Tous les jours";
    freq_weekly: "Weekly", "Toutes les semaines";
    freq_monthly: "Monthly", "Tous les mois";
    notes: "Notes", "Notes";
    notes_hint: "At most 1000 characters.", "1000 caractères au plus.";
    reason_optional: "Reason (optional)", "Motif (facultatif)";
    create_followup: "Plan the follow-up", "Planifier le suivi";
    move_in_progress: "Start", "Commencer";
    move_done: "Mark as done", "Marquer comme terminé";
    move_unanswered: "Mark as unanswered", "Marquer sans réponse";
    move_cancelled: "Cancel the follow-up", "Annuler le suivi";
    move_archived: "Archive", "Archiver";
    onboarding_intro: "Before your team uses embedcare, a person authorised by the franchise accepts the terms of use.", "Avant que votre équipe utilise embedcare, une personne autorisée par la franchise accepte les conditions d'utilisation.";
    terms_title: "Terms of use", "Conditions d'utilisation";
    terms_1: "embedcare processes patients' health information on behalf of the franchise, only to run the consultations its team starts.", "embedcare traite les renseignements de santé des patients pour le compte de la franchise, uniquement pour mener les consultations que son équipe démarre.";
    terms_2: "The franchise ensures that each person using embedcare is authorised to see the patients' information.", "La franchise s'assure que chaque personne qui utilise embedcare est autorisée à consulter les renseignements des patients.";
    terms_3: "Events sent to the franchise's software carry identifiers and statuses only, never names or answers.", "Les événements envoyés au logiciel de la franchise ne contiennent que des identifiants et des statuts, jamais de noms ni de réponses.";
    accept_terms: "I accept the terms of use on behalf of the franchise", "J'accepte les conditions d'utilisation au nom de la franchise";
    onboard: "Accept and onboard", "Accepter et adhérer";
    onboarded_title: "Already onboarded", "Adhésion déjà faite";
    onboarded_body: "This franchise has accepted the terms of use.", "Cette franchise a accepté les conditions d'utilisation.";
    offboarded_title: "Offboarded", "Départ effectué";
    offboarded_body: "This franchise has left embedcare. Its software can no longer open views.", "Cette franchise a quitté embedcare. Son logiciel ne peut plus ouvrir de vues.";
    offboarding_intro: "Offboarding ends the use of embedcare for this franchise: its software can no longer open views or create consultations.", "Le départ met fin à l'utilisation d'embedcare pour cette franchise : son logiciel ne pourra plus ouvrir de vues ni créer de consultations.";
    confirm_offboard: "I understand, and I want this franchise to leave embedcare", "Je comprends et je veux que cette franchise quitte embedcare";
    offboard: "Offboard the franchise", "Confirmer le départ";
    consultations_by_status: "Consultations by status", "Consultations par statut";
    followups_by_status: "Follow-ups by status", "Suivis par statut";
    count: "Count", "Nombre";
    share: "Share", "Part";
    total: "Total", "Total";
    working: "Working…", "En cours…";
    bad_page_title: "This page of the list is not valid", "Cette page de la liste n'est pas valide";
    bad_page_body: "Go back to the first page of the list.", "Revenez à la première page de la liste.";
}

pub fn texts(locale: Locale) -> &'static Texts {
    match locale {
        Locale::En => &EN,
        Locale::Fr => &FR,
    }
}

fn pick(locale: Locale, (en, fr): (&'static str, &'static str)) -> &'static str {
    match locale {
        Locale::En => en,
        Locale::Fr => fr,
    }
}

/// A value's name in the pages' words. (The impls below are word tables,
/// alike by design.)
pub trait Label {
    fn label(self, locale: Locale) -> &'static str;
}

impl Label for ConsultationStatus {
    fn label(self, locale: Locale) -> &'static str {
        use ConsultationStatus::*;
        pick(
            locale,
            match self {
                Draft => ("Draft", "Brouillon"),
                Sent => ("Sent", "Envoyée"),
                InProgress => ("In progress", "En cours"),
                ToBeAnalyzed => ("To be analysed", "À analyser"),
                Done => ("Done", "Terminée"),
                Archived => ("Archived", "Archivée"),
                Cancelled => ("Cancelled", "Annulée"),
                Expired => ("Expired", "Expirée"),
            },
        )
    }
}

/// Follow-ups (« un suivi ») take the masculine in French.
impl Label for FollowupStatus {
    fn label(self, locale: Locale) -> &'static str {
        use FollowupStatus::*;
        pick(
            locale,
            match self {
                Planned => ("Planned", "Planifié"),
                InProgress => ("In progress", "En cours"),
                Unanswered => ("Unanswered", "Sans réponse"),
                Done => ("Done", "Terminé"),
                Archived => ("Archived", "Archivé"),
                Cancelled => ("Cancelled", "Annulé"),
            },
        )
    }
}

impl Label for FranchiseStatus {
    fn label(self, locale: Locale) -> &'static str {
        pick(
            locale,
            match self {
                FranchiseStatus::Active => (
                    "Active (terms not yet accepted)",
                    "Active (conditions non acceptées)",
                ),
                FranchiseStatus::Onboarded => ("Onboarded", "Adhésion faite"),
                FranchiseStatus::Offboarded => ("Offboarded", "Départ effectué"),
            },
        )
    }
}

impl Label for DeliveryStatus {
    fn label(self, locale: Locale) -> &'static str {
        pick(
            locale,
            match self {
                DeliveryStatus::Pending => ("Pending", "En attente"),
                DeliveryStatus::Sent => ("Sent", "Envoyée"),
                DeliveryStatus::Failed => ("Failed", "Échec"),
                DeliveryStatus::NoContact => ("No contact details", "Aucune coordonnée"),
            },
        )
    }
}

impl Label for Frequency {
    fn label(self, locale: Locale) -> &'static str {
        let t = texts(locale);
        match self {
            Frequency::Once => t.freq_once,
            Frequency::Daily => t.freq_daily,
            Frequency::Weekly => t.freq_weekly,
            Frequency::Monthly => t.freq_monthly,
        }
    }
}

/// The title of a view.
impl Label for View {
    fn label(self, locale: Locale) -> &'static str {
        pick(
            locale,
            match self {
                View::ConsultationStart => ("Start a consultation", "Démarrer une consultation"),
                View::ConsultationDashboard => ("Consultations", "Consultations"),
                View::ConsultationDetails => ("Consultation details", "Détails de la consultation"),
                View::ConsultationAnswer => ("Your consultation", "Votre consultation"),
                View::FollowupStart => ("Start a follow-up", "Démarrer un suivi"),
                View::FollowupDashboard => ("Follow-ups", "Suivis"),
                View::FollowupDetails => ("Follow-up details", "Détails du suivi"),
                View::FollowupPlan => ("Plan a follow-up", "Planifier un suivi"),
                View::FollowupAnswer => ("Your follow-up", "Votre suivi"),
                View::FranchiseManagement => ("Franchise management", "Gestion de la franchise"),
                View::FranchiseOnboarding => ("Franchise onboarding", "Adhésion de la franchise"),
                View::FranchiseOffboarding => ("Franchise offboarding", "Départ de la franchise"),
                View::Statistics => ("Statistics", "Statistiques"),
                View::VisitsWaitingRoom => ("Waiting room", "Salle d'attente"),
                View::VisitsSchedule => ("My schedule", "Mon horaire"),
                View::VisitsStatistics => ("Visit statistics", "Statistiques des visites"),
            },
        )
    }
}
