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

#[cfg(test)]
mod tests {
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
