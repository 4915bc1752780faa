//! Paging through Graph collections by following `@odata.nextLink` verbatim, and only to the
//! configured Graph root. A pager can start from a first page that arrived inside a
//! `$batch`, and can restart a listing whose page token expired.
//!
//! A pager decodes each page's items straight into the type its caller reads
//! ([`PageItem`]): a typed item keeps only the fields its rows need, where a
//! `serde_json::Value` per object was a fifth of a large run's CPU.

use foldhash::HashSet;
use futures::Stream;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::client::{Call, GraphClient};
use super::error::GraphError;
use super::object_key::ObjectKey;

/// Graph's error code for a `$skiptoken` that is no longer valid (400).
pub const EXPIRED_PAGE_TOKEN: &str = "Directory_ExpiredPageToken";

/// An item of a collection as a pager decodes it from the page's `value` array: fields it
/// does not name are skipped.
pub trait PageItem: DeserializeOwned + Send + 'static {
    /// The object's id, which a restarted listing skips objects by.
    fn id(&self) -> Option<&str>;
}

impl PageItem for Value {
    fn id(&self) -> Option<&str> {
        self.get("id").and_then(Value::as_str)
    }
}

/// One page of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T = Value> {
    /// The `value` array.
    pub items: Vec<T>,
    /// `@odata.count` (first page only, when `$count=true` was asked for).
    pub count: Option<u64>,
    /// `@odata.nextLink`, if another page follows.
    pub next_link: Option<String>,
    /// `@odata.deltaLink` on the last page of a delta query.
    pub delta_link: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            count: None,
            next_link: None,
            delta_link: None,
        }
    }
}

/// A page's body as Graph sends it.
#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
pub(crate) struct PageBody<T> {
    #[serde(default = "Option::default")]
    value: Option<Vec<T>>,
    #[serde(rename = "@odata.count", default)]
    count: Option<u64>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    delta_link: Option<String>,
}

impl<T> Default for PageBody<T> {
    /// What an empty body decodes to: no `value` array.
    fn default() -> Self {
        PageBody {
            value: None,
            count: None,
            next_link: None,
            delta_link: None,
        }
    }
}

enum Next<T> {
    Fetch(Url),
    /// The first page's body, already received (inside a `$batch`).
    Received {
        url: Url,
        body: Result<PageBody<T>, GraphError>,
    },
    Fail(GraphError),
    Done,
}

/// Restarting a listing whose page token expired: from its first page, skipping the
/// objects (by id) already returned, a bounded number of times.
struct Restart {
    first: Url,
    left: u32,
    seen: HashSet<ObjectKey>,
}

/// Walks the pages of one collection; `next_page` returns `None` after the last page or the
/// first error.
pub struct Pager<T = Value> {
    client: GraphClient,
    next: Next<T>,
    headers: Vec<(String, String)>,
    pages: u64,
    restart: Option<Restart>,
    restarts: u32,
}

impl<T: PageItem> Pager<T> {
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
    pub async fn next_page(&mut self) -> Option<Result<Page<T>, GraphError>> {
        loop {
            let (url, body) = match std::mem::replace(&mut self.next, Next::Done) {
                Next::Done => return None,
                Next::Fail(e) => return Some(Err(e)),
                Next::Received { url, body } => match body {
                    Ok(body) => (url, body),
                    Err(e) => {
                        self.pages += 1;
                        return Some(Err(e));
                    }
                },
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

    async fn fetch(&self, url: &Url) -> Result<PageBody<T>, GraphError> {
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
        self.client.execute_decoded(call).await
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

    fn decode(&mut self, url: Url, body: PageBody<T>) -> Result<Page<T>, GraphError> {
        let Some(mut items) = body.value else {
            return Err(GraphError::Decode {
                what: format!("GET {}", url.path()),
                message: "the response has no \"value\" array".into(),
            });
        };
        if let Some(restart) = &mut self.restart {
            // After a restart, objects of the pages read before it come again.
            items.retain(|item| match item.id() {
                Some(id) => restart.seen.insert(ObjectKey::of(id)),
                None => true,
            });
        }
        let page = Page {
            items,
            count: body.count,
            next_link: body.next_link,
            delta_link: body.delta_link,
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

    /// A pager over the collection at `first` whose items decode as `T`.
    pub fn pager_of<T: PageItem>(&self, first: &str) -> Pager<T> {
        Pager::new(self.clone(), first)
    }

    /// A pager whose first page, the answer to `first`, already arrived (inside a
    /// `$batch`): it yields that page, then follows its links like any other pager.
    pub fn pager_from<T: PageItem>(&self, first: &str, body: Value) -> Pager<T> {
        let mut pager = Pager::new(self.clone(), first);
        pager.next = match std::mem::replace(&mut pager.next, Next::Done) {
            Next::Fetch(url) => {
                let body = match body {
                    // An empty body, as a single request's: no `value` array.
                    Value::Null => Ok(PageBody::default()),
                    body => PageBody::deserialize(body).map_err(|e| GraphError::Decode {
                        what: format!("GET {}", url.path()),
                        message: format!("unexpected JSON ({e})"),
                    }),
                };
                Next::Received { url, body }
            }
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
