//! Reading the Azure blob container Aurora writes snapshots to, with a SAS token.

use super::super::client::http_client;
use super::super::error::{AuroraError, Call};
use super::super::settings::{Secret, join_url, percent_encode};
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where the snapshots are: the container URL and its SAS token (secret: it grants access).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobContainerSettings {
    /// `https://ACCOUNT.blob.core.windows.net/CONTAINER`, without a query.
    pub container_url: String,
    /// The SAS query string (`sv=…&sig=…`), with or without a leading `?`.
    pub sas: Secret,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
}

fn default_connect_timeout_ms() -> u64 {
    10_000
}
fn default_request_timeout_ms() -> u64 {
    60_000
}

impl BlobContainerSettings {
    pub fn new(container_url: impl Into<String>, sas: impl Into<Secret>) -> BlobContainerSettings {
        BlobContainerSettings {
            container_url: container_url.into(),
            sas: sas.into(),
            connect_timeout_ms: default_connect_timeout_ms(),
            request_timeout_ms: default_request_timeout_ms(),
        }
    }

    /// From a full SAS URL (`https://…/container?sv=…&sig=…`), as the Azure portal gives it.
    pub fn from_sas_url(url: &str) -> BlobContainerSettings {
        match url.split_once('?') {
            Some((base, sas)) => BlobContainerSettings::new(base, sas),
            None => BlobContainerSettings::new(url, ""),
        }
    }
}

/// One page of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobPage {
    pub names: Vec<String>,
    /// Empty when this was the last page.
    pub next_marker: String,
}

/// A blob container reader.
#[derive(Clone, Debug)]
pub struct BlobContainer {
    http: reqwest::Client,
    base: String,
    sas: Secret,
}

impl BlobContainer {
    pub fn new(settings: &BlobContainerSettings) -> Result<BlobContainer, AuroraError> {
        if reqwest::Url::parse(&settings.container_url).is_err() {
            return Err(AuroraError::Settings("container_url is not a URL".into()));
        }
        let http = http_client(
            Duration::from_millis(settings.connect_timeout_ms),
            Duration::from_millis(settings.request_timeout_ms),
        )?;
        Ok(BlobContainer {
            http,
            base: settings.container_url.trim_end_matches('/').to_owned(),
            sas: Secret::new(settings.sas.expose().trim_start_matches('?')),
        })
    }

    /// Every blob name under `prefix`, following `NextMarker` to the end.
    pub async fn list(&self, prefix: Option<&str>) -> Result<Vec<String>, AuroraError> {
        let mut names = Vec::new();
        let mut marker = String::new();
        loop {
            let page = self.list_page(prefix, &marker).await?;
            names.extend(page.names);
            if page.next_marker.is_empty() || page.next_marker == marker {
                return Ok(names);
            }
            marker = page.next_marker;
        }
    }

    /// One page of the listing from `marker` (empty for the first page).
    pub async fn list_page(
        &self,
        prefix: Option<&str>,
        marker: &str,
    ) -> Result<BlobPage, AuroraError> {
        let mut url = format!("{}?{}", self.base, self.sas.expose());
        if !self.sas.is_empty() {
            url.push('&');
        }
        url.push_str("restype=container&comp=list");
        if let Some(p) = prefix.filter(|p| !p.is_empty()) {
            url.push_str("&prefix=");
            url.push_str(&percent_encode(p));
        }
        if !marker.is_empty() {
            url.push_str("&marker=");
            url.push_str(&percent_encode(marker));
        }
        let body = self.get(Call::ListBlobs, &url).await?;
        parse_listing(&body).map_err(|message| AuroraError::Unexpected {
            call: Call::ListBlobs,
            status: None,
            message,
        })
    }

    /// The content of one blob.
    pub async fn fetch(&self, name: &str) -> Result<Vec<u8>, AuroraError> {
        let encoded: Vec<String> = name.split('/').map(percent_encode).collect();
        let mut url = join_url(&self.base, &encoded.join("/"));
        if !self.sas.is_empty() {
            url.push('?');
            url.push_str(self.sas.expose());
        }
        self.get(Call::FetchBlob, &url).await
    }

    async fn get(&self, call: Call, url: &str) -> Result<Vec<u8>, AuroraError> {
        let response = self
            .http
            .get(url)
            .header("x-ms-version", "2021-08-06")
            .send()
            .await
            .map_err(|e| AuroraError::from_transport(call, e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| AuroraError::from_transport(call, e))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let status = status.as_u16();
        let reason = azure_error_code(&body);
        Err(match status {
            401 | 403 => AuroraError::Authentication {
                call,
                message: format!("the container refused the SAS token (HTTP {status}{reason})"),
            },
            408 | 429 | 500..=599 => AuroraError::Transient {
                call,
                status: Some(status),
                message: format!("HTTP {status}{reason}"),
            },
            _ => AuroraError::Unexpected {
                call,
                status: Some(status),
                message: format!("HTTP {status}{reason}"),
            },
        })
    }
}

/// `": Code"` from an Azure XML error body (`<Error><Code>…</Code>`).
fn azure_error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code.trim())
        .unwrap_or("");
    if code.is_empty() {
        String::new()
    } else {
        format!(": {code}")
    }
}

/// Reads `<EnumerationResults><Blobs><Blob><Name>…` and `<NextMarker>`.
pub fn parse_listing(xml: &[u8]) -> Result<BlobPage, String> {
    let text = std::str::from_utf8(xml).map_err(|_| "the listing is not UTF-8".to_owned())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut page = BlobPage::default();
    let mut current = String::new();
    let mut seen_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("the listing is not XML: {e}"))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    if name != "EnumerationResults" {
                        return Err(format!("the listing's root is <{name}>"));
                    }
                    seen_root = true;
                }
                path.push(name);
                current.clear();
            }
            Event::Empty(_) => {}
            Event::Text(t) => {
                let s = t.xml_content().map_err(|e| format!("the listing: {e}"))?;
                current.push_str(&s);
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| format!("the listing: {e}"))?;
                current.push_str(&s);
            }
            Event::GeneralRef(r) => {
                if let Some(ch) = r
                    .resolve_char_ref()
                    .map_err(|e| format!("the listing: {e}"))?
                {
                    current.push(ch);
                } else {
                    let name = r.decode().map_err(|e| format!("the listing: {e}"))?;
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("the listing uses an unknown entity &{name};"))?;
                    current.push_str(resolved);
                }
            }
            Event::End(_) => {
                let is = |want: &[&str]| path.iter().map(String::as_str).eq(want.iter().copied());
                if is(&["EnumerationResults", "Blobs", "Blob", "Name"]) {
                    page.names.push(std::mem::take(&mut current));
                } else if is(&["EnumerationResults", "NextMarker"]) {
                    page.next_marker = std::mem::take(&mut current).trim().to_owned();
                }
                current.clear();
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err("the listing has no <EnumerationResults>".into());
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_parses() {
        let xml = br#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://a.blob.core.windows.net/" ContainerName="c">
  <Prefix>2025</Prefix><Marker/><MaxResults>2</MaxResults>
  <Blobs>
    <Blob><Name>20251202_094656845_1_CS_CHANGE_QUEUE.json</Name>
      <Properties><Content-Length>10</Content-Length></Properties></Blob>
    <Blob><Name>odd &amp; name&#46;json</Name><Properties/></Blob>
  </Blobs>
  <NextMarker>2!88!MDAw</NextMarker>
</EnumerationResults>"#;
        let page = parse_listing(xml).expect("listing");
        assert_eq!(
            page.names,
            vec![
                "20251202_094656845_1_CS_CHANGE_QUEUE.json".to_string(),
                "odd & name.json".to_string()
            ]
        );
        assert_eq!(page.next_marker, "2!88!MDAw");
        let last = parse_listing(b"<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>")
            .expect("listing");
        assert_eq!(last, BlobPage::default());
        assert!(parse_listing(b"<Error><Code>AuthenticationFailed</Code></Error>").is_err());
        assert!(parse_listing(b"not xml <").is_err());
    }

    #[test]
    fn sas_urls_split() {
        let s = BlobContainerSettings::from_sas_url("https://a.example/c?sv=1&sig=abc");
        assert_eq!(s.container_url, "https://a.example/c");
        assert_eq!(s.sas.expose(), "sv=1&sig=abc");
        assert!(!format!("{s:?}").contains("abc"));
        assert_eq!(
            azure_error_code(b"<Error><Code>AuthenticationFailed</Code></Error>"),
            ": AuthenticationFailed"
        );
    }
}
