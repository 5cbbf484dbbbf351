use super::*;

const OPEN: Policy = Policy {
    allow_private: false,
    https_only: false,
};
const PRODUCTION: Policy = Policy {
    allow_private: false,
    https_only: true,
};
const SELF_HOSTED: Policy = Policy {
    allow_private: true,
    https_only: false,
};

fn refused(url: &str, policy: &Policy) -> Refusal {
    check_url(url, policy).unwrap_err()
}

#[test]
fn public_http_and_https_urls_pass() {
    for url in [
        "https://example.org/hooks",
        "http://example.org:8080/x?y=1",
        "https://93.184.215.14/",
        "https://[2606:4700::1111]/",
    ] {
        assert!(check_url(url, &OPEN).is_ok(), "{url}");
    }
    assert!(check_url("https://example.org/", &PRODUCTION).is_ok());
}

#[test]
fn other_schemes_and_missing_hosts_are_refused() {
    for url in [
        "ftp://example.org/",
        "file:///etc/passwd",
        "mailto:a@b.c",
        "not a url",
        "http://",
    ] {
        assert_eq!(refused(url, &OPEN), Refusal::Url(NOT_HTTP.into()), "{url}");
    }
}

#[test]
fn plain_http_is_refused_in_production() {
    let Refusal::Url(message) = refused("http://example.org/hooks", &PRODUCTION) else {
        panic!("expected a URL refusal");
    };
    assert!(message.contains("https"), "{message}");
}

#[test]
fn credentials_in_the_url_are_refused() {
    for url in [
        "https://user:pw@example.org/",
        "https://user@example.org/",
        "https://:pw@example.org/",
    ] {
        let Refusal::Url(message) = refused(url, &SELF_HOSTED) else {
            panic!("expected a URL refusal for {url}");
        };
        assert!(message.contains("user name or password"), "{message}");
    }
    let Refusal::Url(_) = check_shown_url("https://user:pw@example.org/").unwrap_err() else {
        panic!("a shown URL with credentials is refused too");
    };
}

#[test]
fn control_characters_are_refused_before_parsing() {
    for url in [
        "https://example.org/\0",
        "https://exa\0mple.org/",
        "https://example.org/a\tb",
        "https://example.org/\nx",
        "https://example.org/\u{7f}",
    ] {
        let Refusal::Url(message) = refused(url, &SELF_HOSTED) else {
            panic!("expected a URL refusal for {url:?}");
        };
        assert!(message.contains("control characters"), "{message}");
        assert!(check_shown_url(url).is_err(), "{url:?}");
    }
}

#[test]
fn urls_longer_than_the_limit_are_refused() {
    let at_limit = format!("https://example.org/{}", "a".repeat(MAX_URL_LEN - 20));
    assert_eq!(at_limit.len(), MAX_URL_LEN);
    assert!(check_url(&at_limit, &OPEN).is_ok());
    let over = format!("{at_limit}a");
    assert_eq!(
        refused(&over, &OPEN),
        Refusal::Url(format!("must be at most {MAX_URL_LEN} characters"))
    );
}

#[test]
fn ip_literals_are_judged_as_parsed() {
    let cases = [
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        (
            "http://169.254.169.254/latest",
            "169.254.169.254 is a link-local address",
        ),
        ("http://127.0.0.1:9/", "127.0.0.1 is a loopback address"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://[::1]/", "::1 is a loopback address"),
        (
            "http://[::ffff:127.0.0.1]/",
            "::ffff:127.0.0.1 is a loopback address",
        ),
        (
            "http://[fd00::1]/",
            "fd00::1 is a unique-local (private) address",
        ),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://192.0.2.1/", "192.0.2.1 is a documentation address"),
    ];
    for (url, message) in cases {
        assert_eq!(
            refused(url, &OPEN),
            Refusal::Address(message.into()),
            "{url}"
        );
    }
}

#[test]
fn allowing_private_targets_opens_only_own_networks() {
    for url in [
        "http://127.0.0.1:9/",
        "http://10.0.0.1/",
        "http://[fd00::1]/",
        "http://100.64.0.1/",
    ] {
        assert!(check_url(url, &SELF_HOSTED).is_ok(), "{url}");
    }
    for url in [
        "http://169.254.169.254/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ] {
        assert!(
            matches!(refused(url, &SELF_HOSTED), Refusal::Address(_)),
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_before_connecting() {
    let client = GuardedClient::new(OPEN, Duration::from_secs(2)).unwrap();
    let Err(Refusal::Address(message)) = client.check_target("http://localhost:9/").await else {
        panic!("localhost is refused at registration");
    };
    assert!(message.starts_with("localhost resolves to "), "{message}");
    assert!(message.ends_with("a loopback address"), "{message}");
    // A call finds the same refusal in its resolver, and sends nothing.
    let sent = client
        .post("http://localhost:9/", &[], b"{}".to_vec())
        .await;
    assert!(
        matches!(sent, Err(Failure::Refused(Refusal::Address(_)))),
        "{sent:?}"
    );
}
