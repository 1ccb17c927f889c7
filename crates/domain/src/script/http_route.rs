//! `HttpEndpoint`: the path, methods and auth mode under which an `http` script is served.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 5] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HttpMethod {
    type Err = HttpRouteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        HttpMethod::ALL
            .into_iter()
            .find(|m| m.as_str() == upper)
            .ok_or_else(|| HttpRouteError::UnknownMethod(s.to_owned()))
    }
}

/// Who may call an endpoint: a signed-in caller of the tenant, or anyone (a public webhook).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointAuth {
    #[default]
    Authenticated,
    Public,
}

impl EndpointAuth {
    pub fn as_str(&self) -> &'static str {
        match self {
            EndpointAuth::Authenticated => "authenticated",
            EndpointAuth::Public => "public",
        }
    }
}

impl FromStr for EndpointAuth {
    type Err = HttpRouteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "authenticated" => Ok(EndpointAuth::Authenticated),
            "public" => Ok(EndpointAuth::Public),
            other => Err(HttpRouteError::UnknownAuth(other.to_owned())),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpRouteError {
    #[error("is required for http scripts")]
    MissingPath,
    #[error("must start with '/'")]
    NoLeadingSlash,
    #[error("must be at most {max} characters")]
    PathTooLong { max: usize },
    #[error("must not have empty segments, a trailing slash, '.' or '..' segments")]
    EmptySegment,
    #[error("segment \"{0}\" may only hold letters, digits, '-', '_', '.' and '~'")]
    BadSegment(String),
    #[error("parameter \":{0}\" must be a letter or '_' followed by letters, digits or '_'")]
    BadParameter(String),
    #[error("parameter \":{0}\" appears twice")]
    DuplicateParameter(String),
    #[error("at least one method is required for http scripts")]
    NoMethods,
    #[error("\"{0}\" is not one of GET, POST, PUT, PATCH, DELETE")]
    UnknownMethod(String),
    #[error("\"{0}\" is not one of authenticated, public")]
    UnknownAuth(String),
}

/// A route path such as `/orders/:id/items`, relative to `/api/scripts` (or `/hooks/{slug}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HttpPath(String);

impl HttpPath {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, HttpRouteError> {
        let path = raw.trim();
        if path.is_empty() {
            return Err(HttpRouteError::MissingPath);
        }
        if !path.starts_with('/') {
            return Err(HttpRouteError::NoLeadingSlash);
        }
        if path.len() > Self::MAX_CHARS {
            return Err(HttpRouteError::PathTooLong {
                max: Self::MAX_CHARS,
            });
        }
        let mut parameters: Vec<&str> = Vec::new();
        for segment in path[1..].split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(HttpRouteError::EmptySegment);
            }
            if let Some(name) = segment.strip_prefix(':') {
                let mut chars = name.chars();
                let valid = chars
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(HttpRouteError::BadParameter(name.to_owned()));
                }
                if parameters.contains(&name) {
                    return Err(HttpRouteError::DuplicateParameter(name.to_owned()));
                }
                parameters.push(name);
            } else if !segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
            {
                return Err(HttpRouteError::BadSegment(segment.to_owned()));
            }
        }
        Ok(Self(path.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path with parameter names erased (`/orders/:id` → `/orders/:`): two paths with the
    /// same key match the same requests, so the key is what must be unique per tenant and method.
    pub fn route_key(&self) -> String {
        self.0
            .split('/')
            .map(|segment| {
                if segment.starts_with(':') {
                    ":"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The full endpoint of an `http` script.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpEndpoint {
    pub path: HttpPath,
    pub methods: Vec<HttpMethod>,
    pub auth: EndpointAuth,
}

impl HttpEndpoint {
    /// Parses methods into a sorted, duplicate-free, non-empty list.
    pub fn parse_methods(raw: &[String]) -> Result<Vec<HttpMethod>, HttpRouteError> {
        let mut methods = raw
            .iter()
            .map(|m| m.parse())
            .collect::<Result<Vec<HttpMethod>, _>>()?;
        if methods.is_empty() {
            return Err(HttpRouteError::NoMethods);
        }
        methods.sort_unstable();
        methods.dedup();
        Ok(methods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let cases: &[(&str, Result<&str, HttpRouteError>)] = &[
            ("/orders", Ok("/orders")),
            ("/orders/:id/items", Ok("/orders/:/items")),
            ("/v1/report.csv", Ok("/v1/report.csv")),
            ("", Err(HttpRouteError::MissingPath)),
            ("orders", Err(HttpRouteError::NoLeadingSlash)),
            ("/", Err(HttpRouteError::EmptySegment)),
            ("/orders/", Err(HttpRouteError::EmptySegment)),
            ("/a//b", Err(HttpRouteError::EmptySegment)),
            ("/a/../b", Err(HttpRouteError::EmptySegment)),
            ("/a b", Err(HttpRouteError::BadSegment("a b".into()))),
            ("/a?x=1", Err(HttpRouteError::BadSegment("a?x=1".into()))),
            ("/a/:1x", Err(HttpRouteError::BadParameter("1x".into()))),
            ("/a/:", Err(HttpRouteError::BadParameter(String::new()))),
            (
                "/:id/:id",
                Err(HttpRouteError::DuplicateParameter("id".into())),
            ),
        ];
        for (raw, expected) in cases {
            let got = HttpPath::parse(raw).map(|p| p.route_key());
            assert_eq!(got, expected.clone().map(str::to_owned), "{raw:?}");
        }
        let long = format!("/{}", "a".repeat(200));
        assert_eq!(
            HttpPath::parse(&long),
            Err(HttpRouteError::PathTooLong { max: 200 })
        );
    }

    #[test]
    fn methods() {
        let parse = |raw: &[&str]| {
            HttpEndpoint::parse_methods(&raw.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            parse(&["post", "GET", "get"]),
            Ok(vec![HttpMethod::Get, HttpMethod::Post])
        );
        assert_eq!(parse(&[]), Err(HttpRouteError::NoMethods));
        assert_eq!(
            parse(&["TRACE"]),
            Err(HttpRouteError::UnknownMethod("TRACE".into()))
        );
        assert_eq!("public".parse(), Ok(EndpointAuth::Public));
        assert!("open".parse::<EndpointAuth>().is_err());
    }
}
