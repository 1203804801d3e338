//! The one rule for an http(s) URL we take (embeds, canonical addresses, webhook targets): the
//! WHATWG URL Standard through the `url` crate, plus what keeps the stored URL equal to the
//! spec's pattern.

/// Checks a URL sent for a link, an embed or a canonical address; `Err` says what is wrong.
///
/// The rule is the WHATWG URL Standard as implemented by the `url` crate, not a regex: any valid
/// host (name, IPv4, `[IPv6]`) and port (0–65535), scheme `http` or `https`, and no
/// `user:password@` (a credential in a published page leaks it). Two restrictions on top keep
/// what is stored equal to what is served and to the spec's pattern: printable ASCII only
/// (non-ASCII is sent percent-encoded, as a browser copies it) and the scheme written in
/// lowercase with its `//`; input the WHATWG parser would silently repair (backslashes for
/// slashes) is refused rather than stored different from what it means.
pub fn check_http_url(u: &str) -> Result<(), String> {
    use url::SyntaxViolation as V;
    if u.is_empty() || !u.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces (percent-encode anything else)".into());
    }
    if !(u.starts_with("http://") || u.starts_with("https://")) {
        return Err("must start with http:// or https://".into());
    }
    let repaired = std::cell::Cell::new(None);
    let parsed = url::Url::options()
        .syntax_violation_callback(Some(&|v| {
            if matches!(
                v,
                V::Backslash | V::ExpectedDoubleSlash | V::EmbeddedCredentials | V::UnencodedAtSign
            ) {
                repaired.set(Some(v));
            }
        }))
        .parse(u)
        .map_err(|e| format!("is not a valid URL: {e}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    if let Some(violation) = repaired.get() {
        return Err(format!("is not a valid URL: {}", violation.description()));
    }
    if parsed.host().is_none() {
        return Err("must name a host".into());
    }
    if !host_as_the_spec_states(u) {
        return Err(
            "must name its host with letters, digits, dots and hyphens (or an [IPv6] address)".into(),
        );
    }
    Ok(())
}

/// Whether the host as written is what the spec's pattern allows: letters, digits, dots and
/// hyphens, or an `[IPv6]` literal. The WHATWG parser also takes `*`, `_`, `%41`… in a host
/// name, which the pattern ([`HTTP_URL_PATTERN`]) refuses, so Schemathesis found
/// `http://host*` accepted although the schema forbids it.
fn host_as_the_spec_states(raw: &str) -> bool {
    let after_scheme = raw.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.starts_with('[') {
        return true;
    }
    let host = after_scheme
        .split([':', '/', '?', '#'])
        .next()
        .unwrap_or_default();
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// The shape of an accepted http(s) URL as the spec states it (the server's rule is
/// [`check_http_url`]): a host name or IPv4 address, an optional port 0–65535, and printable
/// ASCII after it. `[IPv6]` hosts are accepted but left out of the pattern: a generator that
/// follows a loose IPv6 pattern mostly produces invalid addresses.
pub const HTTP_URL_PATTERN: &str = r"^https?://[A-Za-z0-9.-]+(:0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?([/?#][!-~]*)?$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_pattern_and_the_url_parser_agree_on_typical_urls() {
        let pattern = regex::Regex::new(HTTP_URL_PATTERN).expect("pattern compiles");
        // Both accept.
        for u in [
            "http://example.com:18301/x",
            "https://example.com:65535/a?b=c#d",
            "http://example.com:00080/",
            "http://example.com:/",
            "http://127.0.0.1",
            "https://a-b.example/%7Euser/@x",
            "https://example.com/caf%C3%A9?q=%zz",
        ] {
            assert!(pattern.is_match(u), "pattern refuses {u}");
            assert_eq!(check_http_url(u), Ok(()), "{u}");
        }
        // Both refuse.
        for u in [
            "http://example.com:65536/",
            "http://example.com:99999/",
            "http://user:pw@example.com/",
            "http://user@example.com/",
            "http://host*/x",
            "http://a_b.example/",
            "HTTP://example.com/",
            "ftp://example.com/",
            "http:example.com",
            "http:\\\\example.com",
            "http://exa mple.com/",
            "http://example.com/\u{e9}",
            "http://",
        ] {
            assert!(!pattern.is_match(u), "pattern accepts {u}");
            assert!(check_http_url(u).is_err(), "parser accepts {u}");
        }
        // Known differences: valid IPv6 hosts (parser only), dotted numbers that are not IPv4
        // addresses (pattern only).
        assert_eq!(check_http_url("http://[::1]:8080/"), Ok(()));
        assert!(check_http_url("http://1.2.3.4.5/").is_err());
    }
}
