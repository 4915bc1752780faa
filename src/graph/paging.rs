//! Paging through Graph collections by following `@odata.nextLink` verbatim, and only to the
//! configured Graph root. A pager can start from a first page that arrived inside a
//! `$batch`, and can restart a listing whose page token expired.

use foldhash::HashSet;
use futures::Stream;
use serde_json::Value;
use url::Url;

use super::client::{Call, GraphClient};
use super::error::GraphError;

/// Graph's error code for a `$skiptoken` that is no longer valid (400).
pub const EXPIRED_PAGE_TOKEN: &str = "Directory_ExpiredPageToken";

/// One page of a collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The `value` array.
    pub items: Vec<Value>,
    /// `@odata.count` (first page only, when `$count=true` was asked for).
    pub count: Option<u64>,
    /// `@odata.nextLink`, if another page follows.
    pub next_link: Option<String>,
    /// `@odata.deltaLink` on the last page of a delta query.
    pub delta_link: Option<String>,
}

enum Next {
    Fetch(Url),
    /// The first page's body, already received (inside a `$batch`).
    Received {
        url: Url,
        body: Value,
    },
    Fail(GraphError),
    Done,
}

/// Restarting a listing whose page token expired: from its first page, skipping the
/// objects (by id) already returned, a bounded number of times.
struct Restart {
    first: Url,
    left: u32,
    seen: HashSet<String>,
}

/// Walks the pages of one collection; `next_page` returns `None` after the last page or the
/// first error.
pub struct Pager {
    client: GraphClient,
    next: Next,
    headers: Vec<(String, String)>,
    pages: u64,
    restart: Option<Restart>,
    restarts: u32,
}

impl Pager {
    pub(crate) fn new(client: GraphClient, first: &str) -> Self {
        let next = match client.graph_url(first) {
            Ok(u) => Next::Fetch(u),
            Err(e) => Next::Fail(e),
        };
        Pager {
            client,
            next,
            headers: Vec::new(),
            pages: 0,
            restart: None,
            restarts: 0,
        }
    }

    /// Sends `ConsistencyLevel: eventual` on every page (needed for `$count=true`, `$search`
    /// and other advanced queries; Graph does not carry it over in nextLinks).
    pub fn eventual_consistency(mut self) -> Self {
        self.headers
            .push(("ConsistencyLevel".into(), "eventual".into()));
        self
    }

    /// When a later page fails with 400 Directory_ExpiredPageToken, starts the listing
    /// again from its first page (at most `times` times) and returns only objects whose
    /// `id` was not returned before. [`restarts`](Self::restarts) says how often it did.
    pub fn restart_on_expired_page_token(mut self, times: u32) -> Self {
        let first = match &self.next {
            Next::Fetch(u) | Next::Received { url: u, .. } => u.clone(),
            Next::Fail(_) | Next::Done => return self,
        };
        self.restart = Some(Restart {
            first,
            left: times,
            seen: HashSet::default(),
        });
        self
    }

    /// Pages fetched so far.
    pub fn pages_fetched(&self) -> u64 {
        self.pages
    }

    /// How often the listing was restarted after its page token expired.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// The next page, or `None` when the collection is exhausted.
    pub async fn next_page(&mut self) -> Option<Result<Page, GraphError>> {
        loop {
            let (url, body) = match std::mem::replace(&mut self.next, Next::Done) {
                Next::Done => return None,
                Next::Fail(e) => return Some(Err(e)),
                Next::Received { url, body } => (url, body),
                Next::Fetch(url) => match self.fetch(&url).await {
                    Ok(body) => (url, body),
                    Err(e) => {
                        if self.restart_after(&e) {
                            continue;
                        }
                        return Some(Err(e));
                    }
                },
            };
            self.pages += 1;
            return Some(self.decode(url, body));
        }
    }

    async fn fetch(&self, url: &Url) -> Result<Value, GraphError> {
        let mut call = Call::get(url.clone());
        for (k, v) in &self.headers {
            if !call
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(k))
            {
                call.headers.push((k.clone(), v.clone()));
            }
        }
        Ok(self.client.execute(&call).await?.json)
    }

    /// Whether `e` expired the page token of a later page and the listing starts over.
    fn restart_after(&mut self, e: &GraphError) -> bool {
        let Some(restart) = &mut self.restart else {
            return false;
        };
        let expired = e.status() == Some(400) && e.code() == Some(EXPIRED_PAGE_TOKEN);
        if !expired || self.pages == 0 || restart.left == 0 {
            return false;
        }
        restart.left -= 1;
        self.restarts += 1;
        tracing::warn!(
            path = restart.first.path(),
            seen = restart.seen.len(),
            "page token expired; restarting the listing from its first page"
        );
        self.next = Next::Fetch(restart.first.clone());
        true
    }

    fn decode(&mut self, url: Url, mut body: Value) -> Result<Page, GraphError> {
        let mut items = match body.get_mut("value").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(GraphError::Decode {
                    what: format!("GET {}", url.path()),
                    message: "the response has no \"value\" array".into(),
                });
            }
        };
        if let Some(restart) = &mut self.restart {
            // After a restart, objects of the pages read before it come again.
            items.retain(|item| match item.get("id").and_then(Value::as_str) {
                Some(id) => restart.seen.insert(id.to_string()),
                None => true,
            });
        }
        let link = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
        let page = Page {
            items,
            count: body.get("@odata.count").and_then(Value::as_u64),
            next_link: link("@odata.nextLink"),
            delta_link: link("@odata.deltaLink"),
        };
        if let Some(next) = &page.next_link {
            self.next = match Url::parse(next) {
                Ok(n) if n == url => Next::Fail(GraphError::Decode {
                    what: format!("GET {}", url.path()),
                    message: "the paging link points at the page just read".into(),
                }),
                Ok(n) => match self.client.check_origin(n) {
                    Ok(n) => Next::Fetch(n),
                    Err(e) => Next::Fail(e),
                },
                Err(e) => Next::Fail(GraphError::Decode {
                    what: format!("GET {}", url.path()),
                    message: format!("the @odata.nextLink is not a URL: {e}"),
                }),
            };
        }
        Ok(page)
    }
}

impl GraphClient {
    /// A pager over the collection at `first` (relative path, or an absolute Graph URL).
    pub fn pager(&self, first: &str) -> Pager {
        Pager::new(self.clone(), first)
    }

    /// A pager whose first page, the answer to `first`, already arrived (inside a
    /// `$batch`): it yields that page, then follows its links like any other pager.
    pub fn pager_from(&self, first: &str, body: Value) -> Pager {
        let mut pager = Pager::new(self.clone(), first);
        pager.next = match std::mem::replace(&mut pager.next, Next::Done) {
            Next::Fetch(url) => Next::Received { url, body },
            other => other,
        };
        pager
    }

    /// The pages of a collection as a stream; it ends after the last page or the first error.
    pub fn pages(
        &self,
        first: &str,
    ) -> impl Stream<Item = Result<Page, GraphError>> + Send + 'static {
        futures::stream::unfold(self.pager(first), |mut pager| async move {
            pager.next_page().await.map(|r| (r, pager))
        })
    }
}
