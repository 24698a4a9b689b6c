//! Where a view lives: the one builder of the addresses of the embedded
//! pages, and the route templates they match. The router serves
//! [`PAGE_ROUTE`] and [`ACTION_ROUTE`]; launch URLs, the links of the pages
//! and the page's script all use what these functions build, so the
//! address of a page is written here only. Nothing in an address
//! identifies a person.

use super::types::{Locale, TenantKey};
use super::view::View;

/// Every page: `/{locale}/embed/franchise/{tenant}/{area}/{view}`.
pub const PAGE_ROUTE: &str = "/{locale}/embed/franchise/{tenant}/{area}/{view}";
/// Every page action: `POST /{locale}/embed/franchise/{tenant}/actions/{action}`.
pub const ACTION_ROUTE: &str = "/{locale}/embed/franchise/{tenant}/actions/{action}";

/// `/{locale}/embed/franchise/{tenant}`: the base of a franchise's pages.
pub fn franchise_base(locale: Locale, tenant: &TenantKey) -> String {
    format!("/{locale}/embed/franchise/{tenant}")
}

/// `{area}/{view}`: what names a view inside the franchise's pages (in
/// browser messages, too).
pub fn view_slug(view: View) -> String {
    let (area, slug) = view.segments();
    format!("{area}/{slug}")
}

/// The path of a view, with the given query parameters (blank ones left
/// out).
pub fn page_path(
    locale: Locale,
    tenant: &TenantKey,
    view: View,
    params: &[(&str, &str)],
) -> String {
    let mut path = format!("{}/{}", franchise_base(locale, tenant), view_slug(view));
    let params: Vec<_> = params.iter().filter(|(_, v)| !v.is_empty()).collect();
    if !params.is_empty() {
        path.push('?');
        path.push_str(&serde_urlencoded::to_string(params).unwrap_or_default());
    }
    path
}

/// Where the page's script posts its actions (followed by the action's name).
pub fn actions_base(locale: Locale, tenant: &TenantKey) -> String {
    format!("{}/actions/", franchise_base(locale, tenant))
}

/// A launch URL: `{base_url}/{locale}/embed/franchise/{tenant}/{area}/{view}?session={token}`.
pub fn launch_url(
    base_url: &str,
    locale: Locale,
    tenant: &TenantKey,
    view: View,
    token: &str,
) -> String {
    format!(
        "{base_url}{}",
        page_path(locale, tenant, view, &[("session", token)])
    )
}

// ---- the patient app --------------------------------------------------------

/// The patient app's routes (outside the franchise's embedded pages: its
/// tokens carry their franchise).
pub const CLINIC_AUTH: &str = "/auth";
pub const CLINIC_DASHBOARD: &str = "/u/clinic";
pub const CLINIC_VISIT_START: &str = "/visits/start/{visitId}";
pub const CLINIC_VISIT: &str = "/visits/{visitId}";
pub const CLINIC_APPOINTMENT: &str = "/members/appointment/{visitId}";
pub const CLINIC_JOIN: &str = "/visits/join/{code}";
/// A participant's invitation link (its token in the query, posted by the
/// shell's script).
pub const CLINIC_INVITATION: &str = "/members/invitation/{visitId}";

pub fn clinic_invitation(visit: &str) -> String {
    format!("/members/invitation/{visit}")
}

pub fn clinic_visit_start(visit: &str) -> String {
    format!("/visits/start/{visit}")
}

pub fn clinic_visit(visit: &str) -> String {
    format!("/visits/{visit}")
}

pub fn clinic_join(code: &str) -> String {
    format!("/visits/join/{code}")
}

/// `{base_url}/members/appointment/{visitId}?token={token}`.
pub fn appointment_url(base_url: &str, visit: &str, token: &str) -> String {
    format!("{base_url}/members/appointment/{visit}?token={token}")
}

/// Where `/auth` lands: `next` when it is a path of the patient app (the
/// dashboard, a visit's waiting room, a visit), else the dashboard —
/// never another site. Absolute URLs, `//host`, `/\host`, encoded
/// separators, `..`, control characters and every other scheme fall
/// back.
pub fn resolve_next(next: Option<&str>) -> String {
    let fallback = || CLINIC_DASHBOARD.to_owned();
    let Some(raw) = next else { return fallback() };
    let is_id = |s: &str| super::ids::is_id(s);
    // Only our own grammar passes: no percent, no backslash, no query.
    if raw.is_empty()
        || raw.len() > 200
        || !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'))
    {
        return fallback();
    }
    let parts: Vec<&str> = raw.split('/').collect();
    let ok = match parts.as_slice() {
        ["", "u", "clinic"] => true,
        ["", "visits", "start", id] => is_id(id),
        ["", "visits", id] => is_id(id) && *id != "start" && *id != "join",
        _ => false,
    };
    if ok { raw.to_owned() } else { fallback() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_is_a_path_of_the_patient_app_or_the_dashboard() {
        for ok in [
            "/u/clinic",
            "/visits/start/abc-1",
            "/visits/f47ac10b-58cc-4372-a567-0e02b2c3d479",
        ] {
            assert_eq!(resolve_next(Some(ok)), ok);
        }
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/%2F%2Fevil.example",
            "%2F%2Fevil.example",
            "javascript:alert(1)",
            "/visits/../../evil",
            "/u/clinic?x=https://evil",
            "/u/clinic\n",
            "/visits/start/",
            "/visits/join/abc",
            "",
            " /u/clinic",
        ] {
            assert_eq!(resolve_next(Some(bad)), "/u/clinic", "{bad}");
        }
        assert_eq!(resolve_next(None), "/u/clinic");
    }

    use super::*;

    #[test]
    fn paths_match_the_routes_and_carry_only_the_given_params() {
        let tenant = TenantKey::parse("demo").unwrap();
        assert_eq!(
            page_path(
                Locale::Fr,
                &tenant,
                View::ConsultationDetails,
                &[("consultationId", "abc"), ("status", "")]
            ),
            "/fr/embed/franchise/demo/consultation/details?consultationId=abc"
        );
        for view in View::ALL {
            let (area, slug) = view.segments();
            let expected = PAGE_ROUTE
                .replace("{locale}", "en")
                .replace("{tenant}", "demo")
                .replace("{area}", area)
                .replace("{view}", slug);
            assert_eq!(page_path(Locale::En, &tenant, view, &[]), expected);
        }
        assert_eq!(
            format!("{}consultation.send", actions_base(Locale::En, &tenant)),
            ACTION_ROUTE
                .replace("{locale}", "en")
                .replace("{tenant}", "demo")
                .replace("{action}", "consultation.send")
        );
        assert_eq!(
            launch_url(
                "https://app.example",
                Locale::En,
                &tenant,
                View::Statistics,
                "tok"
            ),
            "https://app.example/en/embed/franchise/demo/statistics/dashboard?session=tok"
        );
    }
}
