//! The rules of webhooks, free of HTTP and SQL: which targets and event names are accepted,
//! what a secret looks like, how a delivery is signed (Standard Webhooks), and how long a
//! failed delivery waits before its next attempt.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use sha2::Sha256;

use crate::error::FieldError;
use crate::events::EventType;

/// The prefix Standard Webhooks gives secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// Longest URL accepted.
const MAX_URL_LEN: usize = 2000;

/// Longest retry delay, whatever the base and attempt say.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(6 * 3600);

/// The events a webhook subscribes to: all of them, or a set of names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    All,
    Only(Vec<EventType>),
}

impl EventFilter {
    /// Parses `["*"]` or a list of known names (at least one, duplicates ignored).
    pub fn parse(names: &[String]) -> Result<Self, FieldError> {
        if names.is_empty() {
            return Err(FieldError::new(
                "events",
                "must name at least one event, or [\"*\"] for all",
            ));
        }
        // `*` means every event, whatever else is listed beside it.
        if names.iter().any(|n| n == "*") {
            return Ok(EventFilter::All);
        }
        let mut types = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match EventType::parse(name) {
                Some(t) if !types.contains(&t) => types.push(t),
                Some(_) => {}
                None => {
                    return Err(FieldError::new(
                        format!("events[{i}]"),
                        format!(
                            "`{}` is not an event name; see the list in the API documentation",
                            name.chars().take(60).collect::<String>()
                        ),
                    ));
                }
            }
        }
        Ok(EventFilter::Only(types))
    }

    /// The stored form: `*` or space-separated names.
    pub fn to_stored(&self) -> String {
        match self {
            EventFilter::All => "*".into(),
            EventFilter::Only(types) => types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" "),
        }
    }

    /// The names as the API shows them.
    pub fn names_of_stored(stored: &str) -> Vec<String> {
        stored.split_whitespace().map(str::to_owned).collect()
    }

    /// Whether a stored filter takes an event type.
    pub fn stored_matches(stored: &str, event_type: &str) -> bool {
        stored.split_whitespace().any(|n| n == "*" || n == event_type)
    }
}

/// A webhook target URL as written: `http`/`https`, a host, no credentials. Whether its host
/// may be private is checked separately ([`forbidden_ip`]), since that needs DNS.
pub fn parse_target(raw: &str) -> Result<url::Url, FieldError> {
    if raw.len() > MAX_URL_LEN {
        return Err(FieldError::new(
            "url",
            format!("must be at most {MAX_URL_LEN} characters"),
        ));
    }
    crate::fields::url::check_http_url(raw).map_err(|m| FieldError::new("url", m))?;
    url::Url::parse(raw).map_err(|e| FieldError::new("url", format!("is not a valid URL: {e}")))
}

/// Addresses a webhook must not reach in production unless allowed: the server's own machine
/// and networks (loopback, private, link-local, carrier-grade NAT, unique-local), and
/// addresses that are not a host (unspecified, multicast, broadcast, documentation).
pub fn forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0) // NAT64 prefix itself
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

fn forbidden_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT 100.64/10
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// A new random secret: `whsec_` and 32 random bytes in base64.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// What a secret given by a client looks like: `whsec_` and standard base64 of 24 to 65 bytes
/// (8–21 groups of four characters and an optional padded group), as Standard Webhooks
/// libraries take it. The API schema states the same pattern.
pub const SECRET_PATTERN: &str =
    r"^whsec_(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$";

/// The key bytes of a secret (see [`SECRET_PATTERN`]).
pub fn parse_secret(raw: &str) -> Result<Vec<u8>, FieldError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    static PATTERN: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(SECRET_PATTERN).ok());
    // Lenient about the unused low bits of the last character, as most decoders are.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bad = || {
        FieldError::new(
            "secret",
            "must be `whsec_` followed by the base64 of 24 to 65 random bytes (or leave it out to have one generated)",
        )
    };
    if !PATTERN.as_ref().is_some_and(|p| p.is_match(raw)) {
        return Err(bad());
    }
    let encoded = raw.strip_prefix(SECRET_PREFIX).ok_or_else(bad)?;
    LENIENT.decode(encoded).map_err(|_| bad())
}

/// The `webhook-signature` header value: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` keyed by the secret's bytes (Standard Webhooks).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// How long to wait after the `attempts`-th failed attempt: `base × 2^(attempts-1)`, capped at
/// six hours, of which a random half is taken away ("equal jitter"), so receivers that failed
/// together are not retried in step.
pub fn retry_delay(base: Duration, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let full = base.saturating_mul(1u32 << exp).min(MAX_RETRY_DELAY);
    let half = full / 2;
    let jitter = rand::thread_rng().gen_range(0.0..=1.0);
    half + half.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_host_is_letters_digits_dots_and_hyphens_as_the_spec_says() {
        for ok in [
            "https://hooks.example.com/in",
            "http://10.0.0.1:8080/x",
            "https://a-b.example:443?x=1",
            "http://[::1]:9000/",
        ] {
            assert!(parse_target(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://host*",
            "http://a_b.example/",
            "http://a%41.example/",
            "https://*.example.com/",
        ] {
            assert_eq!(parse_target(bad).unwrap_err().field, "url", "{bad}");
        }
    }

    #[test]
    fn event_filters_take_known_names_or_a_lone_star() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(EventFilter::parse(&names(&["*"])), Ok(EventFilter::All));
        let f = EventFilter::parse(&names(&["article.published", "tag.deleted", "article.published"]))
            .expect("valid");
        assert_eq!(f.to_stored(), "article.published tag.deleted");
        assert!(EventFilter::parse(&names(&[])).is_err());
        assert_eq!(EventFilter::parse(&names(&["ping", "*"])), Ok(EventFilter::All));
        let err = EventFilter::parse(&names(&["ping", "article.exploded"])).expect_err("unknown");
        assert_eq!(err.field, "events[1]");
        assert!(EventFilter::stored_matches("*", "ping"));
        assert!(EventFilter::stored_matches(
            "tag.deleted article.published",
            "article.published"
        ));
        assert!(!EventFilter::stored_matches(
            "article.published",
            "article.updated"
        ));
    }

    #[test]
    fn private_and_special_addresses_are_recognised() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(forbidden_ip(bad.parse().expect("ip")), "{bad}");
        }
        for good in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!forbidden_ip(good.parse().expect("ip")), "{good}");
        }
    }

    #[test]
    fn targets_must_be_http_urls_with_a_host() {
        assert!(parse_target("https://hooks.example.com/masthead").is_ok());
        assert!(parse_target("http://127.0.0.1:9000/x").is_ok());
        for bad in [
            "ftp://example.com/",
            "example.com",
            "http://",
            "https://user:pw@example.com/",
            "javascript:alert(1)",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_standard_webhooks_secrets() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(parse_secret(&secret).expect("valid").len(), 32);
        assert!(parse_secret("whsec_c2hvcnQ=").is_err(), "too short");
        assert!(parse_secret("not-a-secret").is_err());
        assert!(parse_secret("whsec_!!!").is_err());
        // 24 bytes (the shortest), 32 (padded), 63 + 2 (the longest).
        for n in [24usize, 32, 65] {
            let secret = format!("whsec_{}", STANDARD.encode(vec![7u8; n]));
            assert_eq!(parse_secret(&secret).expect("valid").len(), n, "{secret}");
        }
        assert!(parse_secret(&format!("whsec_{}", STANDARD.encode([7u8; 66]))).is_err());
        assert!(parse_secret(&format!("whsec_{}", STANDARD.encode([7u8; 23]))).is_err());
    }

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification (spec/standard-webhooks.md).
        let key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter() {
        let base = Duration::from_secs(30);
        for attempts in 1..=8u32 {
            let full = base * (1 << (attempts - 1));
            let d = retry_delay(base, attempts);
            assert!(d >= full / 2 && d <= full, "attempt {attempts}: {d:?}");
        }
        assert!(retry_delay(base, 40) <= MAX_RETRY_DELAY);
    }
}
