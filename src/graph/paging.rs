//! Paging through Graph collections by following `@odata.nextLink` verbatim, and only to the
//! configured Graph root.

use futures::Stream;
use serde_json::Value;
use url::Url;

use super::client::{Call, GraphClient};
use super::error::GraphError;

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
    Fail(GraphError),
    Done,
}

/// Walks the pages of one collection; `next_page` returns `None` after the last page or the
/// first error.
pub struct Pager {
    client: GraphClient,
    next: Next,
    headers: Vec<(String, String)>,
    pages: u64,
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
        }
    }

    /// Sends `ConsistencyLevel: eventual` on every page (needed for `$count=true`, `$search`
    /// and other advanced queries; Graph does not carry it over in nextLinks).
    pub fn eventual_consistency(mut self) -> Self {
        self.headers
            .push(("ConsistencyLevel".into(), "eventual".into()));
        self
    }

    /// Pages fetched so far.
    pub fn pages_fetched(&self) -> u64 {
        self.pages
    }

    /// The next page, or `None` when the collection is exhausted.
    pub async fn next_page(&mut self) -> Option<Result<Page, GraphError>> {
        let url = match std::mem::replace(&mut self.next, Next::Done) {
            Next::Done => return None,
            Next::Fail(e) => return Some(Err(e)),
            Next::Fetch(u) => u,
        };
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
        let reply = match self.client.execute(&call).await {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        self.pages += 1;
        let mut body = reply.json;
        let items = match body.get_mut("value").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => {
                return Some(Err(GraphError::Decode {
                    what: format!("GET {}", url.path()),
                    message: "the response has no \"value\" array".into(),
                }));
            }
        };
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
        Some(Ok(page))
    }
}

impl GraphClient {
    /// A pager over the collection at `first` (relative path, or an absolute Graph URL).
    pub fn pager(&self, first: &str) -> Pager {
        Pager::new(self.clone(), first)
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
