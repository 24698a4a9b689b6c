//! The log filter of every process (`EMBEDCARE_LOG`, `tracing` syntax),
//! for the functions (`lambda::http::init_logging`) and the local binary.
//!
//! Our own code logs ids and statuses only, at any level. The libraries
//! under it do not: at `debug` or `trace` the Lambda runtime prints whole
//! events (their headers: the API key), the HTTP and TLS stacks print what
//! they carry, and the AWS SDK prints its requests and responses (items:
//! patients' data, token hashes). So those stay at `info` whatever
//! `EMBEDCARE_LOG` says: a directive naming them is dropped, and so is a
//! span filter that names no target (it would reach them through our
//! spans). Feature `lambda` or `local`.

use tracing_subscriber::EnvFilter;

/// Targets (prefixes of module paths) that never log below `info`.
pub const CAPPED: [&str; 8] = [
    "lambda_runtime",
    "lambda_http",
    "aws_",
    "hyper",
    "h2",
    "rustls",
    "tower",
    "axum",
];

/// The filter of `spec` (`info` when it is absent or does not parse),
/// with [`CAPPED`] at `info`.
pub fn filter(spec: Option<&str>) -> EnvFilter {
    let kept: Vec<&str> = spec
        .unwrap_or("info")
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty() && allowed(d))
        .collect();
    let mut filter = EnvFilter::try_new(kept.join(",")).unwrap_or_else(|_| EnvFilter::new("info"));
    for target in CAPPED {
        if let Ok(d) = format!("{target}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// Whether a directive of the user's may stay: it does not name a capped
/// target, and a span filter names its target.
fn allowed(directive: &str) -> bool {
    let target = directive
        .split(['[', '='])
        .next()
        .unwrap_or_default()
        .trim();
    if target.is_empty() {
        return !directive.contains('[');
    }
    let is_level = !directive.contains(['=', '['])
        && matches!(
            target.to_ascii_lowercase().as_str(),
            "trace" | "debug" | "info" | "warn" | "error" | "off"
        );
    is_level || !CAPPED.iter().any(|c| target.starts_with(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_stay_at_info_whatever_the_spec() {
        let shown = filter(Some(
            "trace,hyper=trace,[request]=trace,shared[request]=debug",
        ))
        .to_string();
        for target in CAPPED {
            assert!(shown.contains(&format!("{target}=info")), "{shown}");
        }
        assert!(!shown.contains("hyper=trace"), "{shown}");
        assert!(!shown.contains(",[request]"), "{shown}");
        assert!(shown.contains("shared[request]=debug"), "{shown}");
        assert!(shown.contains("trace"), "our own code follows: {shown}");
        assert!(
            filter(Some("aws_smithy_runtime=trace"))
                .to_string()
                .contains("aws_=info")
        );
        assert!(
            !filter(Some("aws_smithy_runtime=trace"))
                .to_string()
                .contains("aws_smithy_runtime")
        );
        assert!(filter(Some("not a filter [")).to_string().contains("info"));
        assert!(filter(None).to_string().contains("info"));
    }
}
