//! Browser origins allowed to call the API: the CORS policy's origins and
//! those that may open a WebSocket.

/// The origins of `CORS_ALLOWED_ORIGINS`, compared exactly, and in
/// development any port on loopback (a frontend's dev server picks its own).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    exact: Vec<String>,
    any_loopback_port: bool,
}

impl AllowedOrigins {
    /// Parses a comma-separated list such as
    /// `https://app.example.org, http://localhost:3000`; the error says
    /// which entry is wrong.
    pub fn parse(list: &str, any_loopback_port: bool) -> Result<Self, String> {
        let mut exact = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let origin = Origin::parse(entry).ok_or_else(|| {
                format!(
                    "`{entry}` is not an origin: write scheme://host or scheme://host:port \
                     (http or https, no path, no trailing slash), such as https://app.example.org; \
                     `*` is not accepted, list each origin"
                )
            })?;
            let origin = origin.to_string();
            if !exact.contains(&origin) {
                exact.push(origin);
            }
        }
        Ok(Self {
            exact,
            any_loopback_port,
        })
    }

    /// Whether a page of `origin` (an `Origin` header's value) may call the API.
    pub fn allows(&self, origin: &str) -> bool {
        let Some(origin) = Origin::parse(origin) else {
            // `null` (sandboxed pages, files) and anything malformed.
            return false;
        };
        (self.any_loopback_port && origin.is_loopback())
            || self.exact.iter().any(|o| *o == origin.to_string())
    }

    /// The listed origins, as they are compared.
    pub fn listed(&self) -> &[String] {
        &self.exact
    }
}

/// Whether `origin` is the origin of the server the request was sent to,
/// by its `Host` header: a page the server itself served (GraphiQL).
pub fn same_host(origin: &str, host: &str) -> bool {
    Origin::parse(origin).is_some_and(|o| {
        let port = o.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{}{port}", o.host).eq_ignore_ascii_case(host.trim())
    })
}

/// `scheme://host[:port]`, lower case, without the scheme's default port,
/// as browsers write it.
struct Origin {
    https: bool,
    host: String,
    port: Option<u16>,
}

impl Origin {
    fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim().to_ascii_lowercase();
        let (https, authority) = match raw.split_once("://")? {
            ("http", rest) => (false, rest),
            ("https", rest) => (true, rest),
            _ => return None,
        };
        let (host, port) = match authority.rsplit_once(':') {
            // An IPv6 address without a port ends in `]`.
            Some((host, port)) if !port.ends_with(']') => {
                (host, Some(port.parse::<u16>().ok().filter(|p| *p != 0)?))
            }
            _ => (authority, None),
        };
        let valid_host = if let Some(ip) = host.strip_prefix('[') {
            ip.strip_suffix(']')
                .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
        } else {
            !host.is_empty()
                && !host.starts_with(['.', '-'])
                && !host.ends_with(['.', '-'])
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        if !valid_host {
            return None;
        }
        let default_port = if https { 443 } else { 80 };
        Some(Self {
            https,
            host: host.to_owned(),
            port: port.filter(|p| *p != default_port),
        })
    }

    fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_origins_match_exactly() {
        let origins =
            AllowedOrigins::parse(" https://App.Example.org , http://10.0.0.5:8081,", false)
                .unwrap();
        assert_eq!(
            origins.listed(),
            ["https://app.example.org", "http://10.0.0.5:8081"]
        );
        assert!(origins.allows("https://app.example.org"));
        assert!(origins.allows("https://app.example.org:443"));
        assert!(origins.allows("http://10.0.0.5:8081"));
        for refused in [
            "http://app.example.org",
            "https://app.example.org:8443",
            "https://evil.app.example.org",
            "https://app.example.org.evil.net",
            "http://10.0.0.5:8082",
            "http://localhost:3000",
            "null",
            "",
        ] {
            assert!(!origins.allows(refused), "{refused}");
        }
    }

    #[test]
    fn loopback_on_any_port_only_when_asked() {
        let development = AllowedOrigins::parse("", true).unwrap();
        for allowed in [
            "http://localhost:3000",
            "http://localhost",
            "http://127.0.0.1:5173",
            "http://[::1]:8080",
        ] {
            assert!(development.allows(allowed), "{allowed}");
        }
        for refused in [
            "http://localhost.evil.net:3000",
            "http://127.0.0.2:3000",
            "http://example.org",
        ] {
            assert!(!development.allows(refused), "{refused}");
        }
        let production = AllowedOrigins::parse("", false).unwrap();
        assert!(!production.allows("http://localhost:3000"));
    }

    #[test]
    fn entries_that_are_not_origins_are_refused() {
        for bad in [
            "*",
            "app.example.org",
            "https://app.example.org/",
            "https://app.example.org/path",
            "ftp://app.example.org",
            "https://user@app.example.org",
            "https://app.example.org:0",
            "https://app.example.org:99999",
            "https://app.example.org:",
            "https://",
            "https://[not-ip]:80",
            "https://-x.example.org",
        ] {
            let err =
                AllowedOrigins::parse(&format!("https://ok.example.org,{bad}"), false).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
    }

    #[test]
    fn same_host_compares_the_host_header() {
        assert!(same_host("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(same_host("https://pools.example.org", "Pools.Example.org"));
        assert!(!same_host("http://127.0.0.1:8080", "127.0.0.1:8081"));
        assert!(!same_host("https://evil.example", "pools.example.org"));
        assert!(!same_host("null", "pools.example.org"));
    }
}
