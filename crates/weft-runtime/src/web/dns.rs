//! The web tools' DNS guard. Every host name is looked up (system DNS, or the
//! [`DnsResolver`] given) and every address that is not public is dropped before reqwest
//! connects. reqwest resolves on each new connection, redirect hops included, so a name that
//! resolves to `127.0.0.1` or `169.254.169.254`, or that answers differently the second time
//! (DNS rebinding), cannot reach this machine or a private network. Pinned addresses (a tool's
//! `resolve`) go through the same check. IP literals never reach a resolver: [`Guard::refuses_url`]
//! checks them before the request and on each redirect.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::address::{is_localhost_name, is_public};

/// Looks host names up for the web tools: the system's resolver unless a tool is given
/// another with `dns_resolver` (custom DNS such as DNS over HTTPS or a split horizon, or a
/// test that makes a name resolve to a chosen address). The addresses it returns are checked
/// like any others: unless the tool allows private addresses, those that are not public are
/// dropped, and a name left with none is refused.
///
/// ```
/// use std::net::IpAddr;
/// use futures::future::BoxFuture;
/// use futures::FutureExt;
/// use weft_runtime::web::DnsResolver;
///
/// /// Answers every name with one fixed address.
/// struct Fixed(IpAddr);
///
/// impl DnsResolver for Fixed {
///     fn resolve<'a>(&'a self, _host: &'a str) -> BoxFuture<'a, std::io::Result<Vec<IpAddr>>> {
///         async move { Ok(vec![self.0]) }.boxed()
///     }
/// }
/// ```
pub trait DnsResolver: Send + Sync {
    /// The addresses of `host` (a host name, never an IP address), best first.
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>>;
}

/// The system's resolver (`getaddrinfo`, on tokio's blocking pool).
#[derive(Debug)]
pub(crate) struct SystemDns;

impl DnsResolver for SystemDns {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        async move {
            let addrs = tokio::net::lookup_host((host, 0)).await?;
            Ok(addrs.map(|addr| addr.ip()).collect())
        }
        .boxed()
    }
}

/// What a web tool may reach besides public addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Guard {
    /// Any address at all (`allow_private_addresses(true)`).
    pub allow_private: bool,
    /// Hosts that may be local or private (`allow_private_host`): lowercase, no trailing dot.
    pub private_hosts: Vec<String>,
}

impl Guard {
    /// Whether `host` (a name or an IP address) may be local or private.
    pub fn exempts(&self, host: &str) -> bool {
        let host = normalize(host);
        self.allow_private || self.private_hosts.contains(&host)
    }

    /// Whether `url` is refused before any lookup: it has no host, or names this machine or
    /// a private network by IP address or as `localhost`, and is not exempt. Other names are
    /// checked when they are resolved.
    pub fn refuses_url(&self, url: &reqwest::Url) -> bool {
        let Some(host) = url.host_str() else {
            return true;
        };
        if self.exempts(host) {
            return false;
        }
        match normalize(host).parse::<IpAddr>() {
            Ok(ip) => !is_public(ip),
            Err(_) => is_localhost_name(host),
        }
    }
}

/// A host as compared: lowercase, without IPv6 brackets or a trailing dot.
pub(crate) fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// A request refused because where it would go is local or private.
#[derive(Debug, thiserror::Error)]
#[error("refusing {target}: it is a local or private address")]
pub(crate) struct Refused {
    /// The host name or URL refused.
    pub target: String,
}

impl Refused {
    /// The refusal somewhere in `err`'s chain of causes, if there is one.
    pub fn in_chain<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
        let mut next = Some(err);
        while let Some(cause) = next {
            if let Some(refused) = cause.downcast_ref::<Refused>() {
                return Some(refused);
            }
            next = cause.source();
        }
        None
    }
}

/// The resolver reqwest uses: pinned addresses, else the lookup, minus what the guard
/// refuses.
#[derive(Clone)]
pub(crate) struct GuardedDns {
    lookup: Arc<dyn DnsResolver>,
    pinned: Arc<[(String, SocketAddr)]>,
    guard: Arc<Guard>,
}

impl fmt::Debug for GuardedDns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedDns")
            .field("pinned", &self.pinned)
            .field("guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl GuardedDns {
    /// Looks names up with `lookup`, except the `pinned` ones (host, address), and keeps only
    /// the addresses `guard` allows.
    pub fn new(
        lookup: Arc<dyn DnsResolver>,
        pinned: &[(String, SocketAddr)],
        guard: Guard,
    ) -> Self {
        GuardedDns {
            lookup,
            pinned: pinned
                .iter()
                .map(|(host, addr)| (normalize(host), *addr))
                .collect(),
            guard: Arc::new(guard),
        }
    }

    /// The addresses `host` may be reached at (port 0 where the lookup gives none: the URL's
    /// port, or the scheme's, is used), or why there are none.
    pub async fn addresses(&self, host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        let host = normalize(host);
        let pinned: Vec<SocketAddr> = self
            .pinned
            .iter()
            .filter(|(name, _)| *name == host)
            .map(|(_, addr)| *addr)
            .collect();
        let found = if pinned.is_empty() {
            let ips = self
                .lookup
                .resolve(&host)
                .await
                .map_err(ResolveError::Lookup)?;
            ips.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect()
        } else {
            pinned
        };
        if found.is_empty() {
            return Err(ResolveError::Lookup(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} has no address"),
            )));
        }
        if self.guard.exempts(&host) {
            return Ok(found);
        }
        let public: Vec<SocketAddr> = found
            .into_iter()
            .filter(|addr| is_public(addr.ip()))
            .collect();
        if public.is_empty() {
            return Err(ResolveError::Refused(Refused { target: host }));
        }
        Ok(public)
    }
}

/// Why a name could not be resolved.
#[derive(Debug)]
pub(crate) enum ResolveError {
    /// The lookup failed.
    Lookup(io::Error),
    /// Every address was local or private.
    Refused(Refused),
}

impl reqwest::dns::Resolve for GuardedDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let dns = self.clone();
        Box::pin(async move {
            match dns.addresses(name.as_str()).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(ResolveError::Lookup(err)) => Err(err.into()),
                Err(ResolveError::Refused(refused)) => Err(refused.into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Answers names from a list; a name with several answers gives the next one on each
    /// lookup (the last one again once the list is used up).
    #[derive(Default)]
    struct Scripted {
        answers: Mutex<Vec<(String, Vec<Vec<IpAddr>>)>>,
    }

    impl Scripted {
        fn with(name: &str, answers: &[&[&str]]) -> Arc<Self> {
            let answers = answers
                .iter()
                .map(|ips| ips.iter().map(|ip| ip.parse().unwrap()).collect())
                .collect();
            Arc::new(Scripted {
                answers: Mutex::new(vec![(name.to_string(), answers)]),
            })
        }
    }

    impl DnsResolver for Scripted {
        fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
            let mut answers = self.answers.lock().unwrap();
            let found = answers
                .iter_mut()
                .find(|(name, _)| name == host)
                .map(|(_, list)| {
                    if list.len() > 1 {
                        list.remove(0)
                    } else {
                        list[0].clone()
                    }
                });
            let result =
                found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such name"));
            async move { result }.boxed()
        }
    }

    fn guarded(lookup: Arc<dyn DnsResolver>, guard: Guard) -> GuardedDns {
        GuardedDns::new(lookup, &[], guard)
    }

    fn ips(addrs: &[SocketAddr]) -> Vec<String> {
        addrs.iter().map(|a| a.ip().to_string()).collect()
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_or_metadata_is_refused() {
        for answer in [
            "127.0.0.1",
            "169.254.169.254",
            "::1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            let dns = guarded(Scripted::with("evil.test", &[&[answer]]), Guard::default());
            let err = dns.addresses("evil.test").await.unwrap_err();
            assert!(
                matches!(&err, ResolveError::Refused(r) if r.target == "evil.test"),
                "{answer}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn private_answers_are_dropped_and_public_ones_kept() {
        let dns = guarded(
            Scripted::with(
                "mixed.test",
                &[&["10.0.0.7", "93.184.216.34", "fd00::1", "2606:4700::1111"]],
            ),
            Guard::default(),
        );
        let kept = dns.addresses("MIXED.test.").await.unwrap();
        assert_eq!(ips(&kept), ["93.184.216.34", "2606:4700::1111"]);
    }

    #[tokio::test]
    async fn every_lookup_is_checked_so_rebinding_is_refused() {
        // Public at first, loopback the second time it is asked.
        let dns = guarded(
            Scripted::with("rebind.test", &[&["93.184.216.34"], &["127.0.0.1"]]),
            Guard::default(),
        );
        assert_eq!(
            ips(&dns.addresses("rebind.test").await.unwrap()),
            ["93.184.216.34"]
        );
        let second = dns.addresses("rebind.test").await.unwrap_err();
        assert!(matches!(second, ResolveError::Refused(_)), "{second:?}");
    }

    #[tokio::test]
    async fn pinned_addresses_are_checked_too() {
        let pinned = [(
            "Web.Weft.Test".to_string(),
            "127.0.0.1:8080".parse().unwrap(),
        )];
        let lookup: Arc<dyn DnsResolver> = Scripted::with("other.test", &[&["8.8.8.8"]]);
        let dns = GuardedDns::new(lookup.clone(), &pinned, Guard::default());
        let err = dns.addresses("web.weft.test").await.unwrap_err();
        assert!(matches!(err, ResolveError::Refused(_)), "{err:?}");

        // Allowed by name: the pinned address, port included.
        let guard = Guard {
            private_hosts: vec!["web.weft.test".into()],
            ..Guard::default()
        };
        let dns = GuardedDns::new(lookup.clone(), &pinned, guard);
        let addrs = dns.addresses("web.weft.test").await.unwrap();
        assert_eq!(addrs, ["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]);

        // Allowed altogether.
        let everything = Guard {
            allow_private: true,
            ..Guard::default()
        };
        let dns = GuardedDns::new(lookup, &pinned, everything);
        assert!(dns.addresses("web.weft.test").await.is_ok());
    }

    #[tokio::test]
    async fn a_failed_or_empty_lookup_is_not_a_refusal() {
        let dns = guarded(Scripted::with("empty.test", &[&[]]), Guard::default());
        assert!(matches!(
            dns.addresses("empty.test").await,
            Err(ResolveError::Lookup(_))
        ));
        assert!(matches!(
            dns.addresses("unknown.test").await,
            Err(ResolveError::Lookup(_))
        ));
    }

    #[tokio::test]
    async fn the_refusal_survives_reqwests_error_chain() {
        use reqwest::dns::Resolve;
        let dns = guarded(
            Scripted::with("evil.test", &[&["127.0.0.1"]]),
            Guard::default(),
        );
        let Err(err) = dns.resolve("evil.test".parse().unwrap()).await else {
            panic!("evil.test was not refused");
        };
        let refused = Refused::in_chain(err.as_ref()).unwrap();
        assert_eq!(refused.target, "evil.test");
    }

    #[test]
    fn urls_naming_private_addresses_are_refused_before_any_lookup() {
        let guard = Guard::default();
        let refused = |url: &str| guard.refuses_url(&reqwest::Url::parse(url).unwrap());
        for url in [
            "http://127.0.0.1:8080/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://localhost/",
            "http://LocalHost./",
            "http://api.localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://0.0.0.0/",
            "http://[2001:db8::1]/",
        ] {
            assert!(refused(url), "{url}");
        }
        for url in [
            "https://example.com/",
            "http://93.184.216.34/",
            "http://[2606:4700::1111]/",
            "http://evil.test/", // a name: checked when it is resolved
        ] {
            assert!(!refused(url), "{url}");
        }

        let local_mirror = Guard {
            private_hosts: vec!["localhost".into(), "127.0.0.1".into()],
            ..Guard::default()
        };
        let allowed = |url: &str| !local_mirror.refuses_url(&reqwest::Url::parse(url).unwrap());
        assert!(allowed("http://localhost:8080/") && allowed("http://127.0.0.1/"));
        assert!(!allowed("http://127.0.0.2/") && !allowed("http://api.localhost/"));
    }
}
