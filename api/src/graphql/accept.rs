//! The two media types of GraphQL over HTTP, chosen by the request's
//! `Accept`. `application/json` is what every client got before: each
//! GraphQL result is 200. `application/graphql-response+json` lets the
//! status say what happened: a request error (nothing ran, no `data`) is
//! 4xx, and its answer has no `data` entry, as the GraphQL spec says.

use async_graphql::Response;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::{Serialize, ser::SerializeMap};

use crate::error::{code, error_response};

pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFormat {
    Json,
    GraphqlResponse,
}

impl ResponseFormat {
    /// The format the client prefers, `None` when it accepts neither. No
    /// `Accept` and wildcards get `application/json`; the new type only
    /// when the client names it and does not prefer `application/json`.
    pub fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let values: Vec<&str> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.iter().all(|v| v.trim().is_empty()) {
            return Some(Self::Json);
        }
        let (mut new_type, mut json, mut wildcard) = (None::<f32>, None::<f32>, None::<f32>);
        for range in values.iter().flat_map(|v| v.split(',')) {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let Some(q) = quality(parts) else { continue };
            let slot = match media.as_str() {
                GRAPHQL_RESPONSE => &mut new_type,
                JSON => &mut json,
                "*/*" | "application/*" => &mut wildcard,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |seen| seen.max(q)));
        }
        // A type named outright overrides a wildcard (RFC 9110, 12.5.1).
        let json = json.or(wildcard).unwrap_or(0.0);
        match new_type {
            Some(q) if q > 0.0 && q >= json => Some(Self::GraphqlResponse),
            _ if json > 0.0 => Some(Self::Json),
            _ => None,
        }
    }

    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Json => JSON,
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        })
    }

    /// The status of one operation's answer. Under `application/json`
    /// always 200; under the new type a request error is 400, or 403 for a
    /// mutation refused before it ran (a read-only token), except Apollo's
    /// `PersistedQueryNotFound`, which its clients expect as 200.
    pub fn status(self, response: &Response) -> StatusCode {
        if self == Self::Json || !is_request_error(response) {
            return StatusCode::OK;
        }
        let code = response
            .errors
            .first()
            .and_then(|e| e.extensions.as_ref())
            .and_then(|ext| ext.get("code"))
            .and_then(|c| match c {
                async_graphql::Value::String(s) => Some(s.as_str()),
                _ => None,
            });
        match code {
            Some(code::PERSISTED_QUERY_NOT_FOUND) => StatusCode::OK,
            Some(code::FORBIDDEN) => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The answer as this format writes it.
    pub fn body(self, response: &Response) -> Body<'_> {
        Body {
            response,
            without_data: self == Self::GraphqlResponse && is_request_error(response),
        }
    }
}

/// A request's `Accept` names neither GraphQL type nor a wildcard.
pub fn not_acceptable(request_id: &str) -> axum::response::Response {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        code::NOT_ACCEPTABLE,
        "GraphQL answers are `application/graphql-response+json` or `application/json`; \
         accept one of them",
        request_id,
    )
}

/// The `q` of a media range, 1 when absent; `None` for one that is not a
/// number from 0 to 1 (the range is then left out).
fn quality<'a>(params: impl Iterator<Item = &'a str>) -> Option<f32> {
    for param in params {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("q")
        {
            return value
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|q| (0.0..=1.0).contains(q));
        }
    }
    Some(1.0)
}

/// Nothing of the operation ran: no data, and no error of a field.
fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// One operation's answer, without `data` where the format leaves it out.
pub struct Body<'a> {
    response: &'a Response,
    without_data: bool,
}

impl Serialize for Body<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !self.without_data {
            return self.response.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("errors", &self.response.errors)?;
        if !self.response.extensions.is_empty() {
            map.serialize_entry("extensions", &self.response.extensions)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(accept: &[&str]) -> Option<ResponseFormat> {
        let mut headers = HeaderMap::new();
        for value in accept {
            headers.append(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        }
        ResponseFormat::negotiate(&headers)
    }

    use ResponseFormat::{GraphqlResponse, Json};

    #[test]
    fn no_accept_and_wildcards_keep_json() {
        assert_eq!(format(&[]), Some(Json));
        assert_eq!(format(&[""]), Some(Json));
        assert_eq!(format(&["*/*"]), Some(Json));
        assert_eq!(format(&["application/*"]), Some(Json));
        assert_eq!(format(&["application/json"]), Some(Json));
        assert_eq!(
            format(&["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"]),
            Some(Json)
        );
    }

    #[test]
    fn the_new_type_when_named_and_preferred() {
        assert_eq!(format(&[GRAPHQL_RESPONSE]), Some(GraphqlResponse));
        // What Apollo Client and graphql-http send.
        assert_eq!(
            format(&["application/graphql-response+json,application/json;q=0.9"]),
            Some(GraphqlResponse)
        );
        assert_eq!(
            format(&["application/json", "application/graphql-response+json"]),
            Some(GraphqlResponse)
        );
        assert_eq!(
            format(&["Application/GraphQL-Response+JSON; charset=utf-8, */*"]),
            Some(GraphqlResponse)
        );
        assert_eq!(
            format(&["application/graphql-response+json;q=0.5, application/json"]),
            Some(Json)
        );
        assert_eq!(
            format(&["application/graphql-response+json;q=0.5, */*"]),
            Some(Json)
        );
        assert_eq!(
            format(&["application/graphql-response+json;q=0, application/json;q=0.1"]),
            Some(Json)
        );
    }

    #[test]
    fn neither_type_is_not_acceptable() {
        assert_eq!(format(&["text/html"]), None);
        assert_eq!(format(&["application/xml, text/plain"]), None);
        assert_eq!(format(&["application/json;q=0"]), None);
        assert_eq!(format(&["application/json;q=2"]), None);
        assert_eq!(format(&["*/*;q=0"]), None);
        assert_eq!(format(&["application/json;q=0, */*"]), None);
    }

    #[test]
    fn request_errors_lose_data_and_get_a_status() {
        let mut refused = async_graphql::ServerError::new("syntax", None);
        refused
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code::BAD_REQUEST);
        let response = Response::from_errors(vec![refused]);
        assert_eq!(Json.status(&response), StatusCode::OK);
        assert_eq!(GraphqlResponse.status(&response), StatusCode::BAD_REQUEST);
        let json = serde_json::to_value(Json.body(&response)).unwrap();
        assert!(json.as_object().unwrap().contains_key("data"));
        let new = serde_json::to_value(GraphqlResponse.body(&response)).unwrap();
        assert!(!new.as_object().unwrap().contains_key("data"));
        assert_eq!(new["errors"][0]["message"], "syntax");

        let partial = Response::new(async_graphql::Value::Null);
        assert_eq!(GraphqlResponse.status(&partial), StatusCode::OK);
    }
}
