//! One long listing split into parallel chains by the first characters of a property
//! (`startswith`), planned from `$count`s and checked against them.
//!
//! `startswith` on `userPrincipalName` (users) and `mailNickname` (groups) works as a default
//! query, and so do their `$count`s as advanced queries [GDC concepts/aad-advanced-queries.md].
//! A UPN may only hold `A-Z a-z 0-9 ' . - _ ! # ^ ~` [GDC resources/user.md], so its first
//! characters partition the users; whether `startswith` is case-sensitive is not documented,
//! which is why the plan is kept only when the prefixes' counts add up to the whole, and
//! the caller deduplicates by id and compares what it read with the total.

use std::collections::BTreeMap;

use futures::future::try_join_all;

use crate::graph::{GraphClient, GraphError};

/// Characters a user principal name may start with (lower case; see the module doc).
pub(super) const UPN_FIRST: &str = "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~";
/// Characters most group mail nicknames start with; the rest are read by the fill-in.
pub(super) const NICKNAME_FIRST: &str = "abcdefghijklmnopqrstuvwxyz0123456789-_.";
/// A prefix holding more objects than this is split by one more character, so that no
/// chain takes much longer than ~7 s (999 items a page, ~0.9 s a page at 0.8 ms an item).
const SPLIT_ABOVE: u64 = 8_000;
/// Longest prefix tried.
const MAX_PREFIX: usize = 3;

/// How to split one collection.
#[derive(Debug, Clone)]
pub(super) struct Partition {
    /// The collection's path, e.g. `/users` or `/groups/{id}/members/microsoft.graph.user`.
    pub path: String,
    /// The property whose first characters split it.
    pub property: &'static str,
    pub alphabet: &'static str,
}

impl Partition {
    fn filter(&self, prefix: &str) -> String {
        // OData doubles a quote inside a string literal.
        format!(
            "startswith({},'{}')",
            self.property,
            prefix.replace('\'', "''")
        )
    }

    /// Splits the collection of `total` objects into prefixes whose `$count`s add up to
    /// `total`; `None` when they do not (a character outside the alphabet, or a
    /// case-sensitive `startswith`): the caller then reads it in one chain.
    pub(super) async fn plan(
        &self,
        client: &GraphClient,
        total: u64,
    ) -> Result<Option<Vec<String>>, GraphError> {
        let firsts: Vec<String> = self.alphabet.chars().map(String::from).collect();
        let counts = self.counts(client, &firsts).await?;
        if counts.iter().sum::<u64>() != total {
            tracing::info!(path = %self.path, total, sum = counts.iter().sum::<u64>(), "prefix counts do not add up; not splitting");
            return Ok(None);
        }
        let mut level: Vec<(String, u64)> = firsts.into_iter().zip(counts).collect();
        let mut leaves = Vec::new();
        loop {
            let (heavy, light): (Vec<_>, Vec<_>) = level
                .into_iter()
                .partition(|(p, n)| *n > SPLIT_ABOVE && p.chars().count() < MAX_PREFIX);
            leaves.extend(light.into_iter().filter(|(_, n)| *n > 0).map(|(p, _)| p));
            if heavy.is_empty() {
                break;
            }
            let splits = try_join_all(heavy.iter().map(|(p, n)| self.split(client, p, *n))).await?;
            level = Vec::new();
            for ((p, _), split) in heavy.into_iter().zip(splits) {
                match split {
                    Some(children) => level.extend(children),
                    // Children that don't add up: keep the prefix whole.
                    None => leaves.push(p),
                }
            }
        }
        Ok(Some(leaves))
    }

    /// The children of `prefix` and their counts, if they add up to its `n`.
    async fn split(
        &self,
        client: &GraphClient,
        prefix: &str,
        n: u64,
    ) -> Result<Option<Vec<(String, u64)>>, GraphError> {
        let children: Vec<String> = self
            .alphabet
            .chars()
            .map(|c| format!("{prefix}{c}"))
            .collect();
        let counts = self.counts(client, &children).await?;
        Ok((counts.iter().sum::<u64>() == n).then(|| children.into_iter().zip(counts).collect()))
    }

    async fn counts(
        &self,
        client: &GraphClient,
        prefixes: &[String],
    ) -> Result<Vec<u64>, GraphError> {
        try_join_all(prefixes.iter().map(|p| async move {
            let path = format!("{}/$count?$filter={}", self.path, self.filter(p));
            client.count_query(&path).await
        }))
        .await
    }

    /// The first URL of each prefix's chain; `query` holds the other options (`$select`,
    /// `$top`, …).
    pub(super) fn chains(&self, prefixes: &[String], query: &str) -> Vec<String> {
        prefixes
            .iter()
            .map(|p| format!("{}?$filter={}&{query}", self.path, self.filter(p)))
            .collect()
    }
}

/// How the values of a property (the user principal names already listed) start: the count
/// of each lower-cased prefix up to [`MAX_PREFIX`] characters. A subset of those objects (a
/// large group's user members) is then split without probing a `$count` per prefix; the
/// caller checks that the parts add up to the subset's `$count` and reads again what the
/// sample did not foresee.
#[derive(Debug, Default)]
pub(super) struct Histogram {
    counts: BTreeMap<String, u64>,
    total: u64,
}

impl Histogram {
    pub(super) fn of<'a>(values: impl IntoIterator<Item = &'a str>) -> Histogram {
        let mut h = Histogram::default();
        for v in values {
            h.total += 1;
            let mut prefix = String::new();
            for c in v.chars().flat_map(char::to_lowercase).take(MAX_PREFIX) {
                prefix.push(c);
                *h.counts.entry(prefix.clone()).or_default() += 1;
            }
        }
        h
    }

    /// Disjoint prefixes that cover every sampled value, each expected to hold at most `max`
    /// of `n` objects drawn like the sample (split further while a prefix is heavier and
    /// shorter than [`MAX_PREFIX`]).
    pub(super) fn prefixes(&self, n: u64, max: u64) -> Vec<String> {
        let scale = n as f64 / self.total.max(1) as f64;
        let mut leaves = Vec::new();
        let mut level: Vec<(&str, u64)> = self.children("");
        while let Some((p, count)) = level.pop() {
            let children = self.children(p);
            if count as f64 * scale > max as f64 && !children.is_empty() {
                level.extend(children);
            } else {
                leaves.push(p.to_string());
            }
        }
        leaves.sort_unstable();
        leaves
    }

    /// The sampled prefixes one character longer than `prefix` that start with it.
    fn children(&self, prefix: &str) -> Vec<(&str, u64)> {
        let len = prefix.chars().count() + 1;
        self.counts
            .range::<str, _>((
                std::ops::Bound::Excluded(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| k.chars().count() == len)
            .map(|(k, n)| (k.as_str(), *n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_splits_heavy_prefixes_and_covers_every_value() {
        let mut upns: Vec<String> = (0..300).map(|i| format!("ann{i}@x")).collect();
        upns.extend((0..40).map(|i| format!("Bob{i}@x")));
        upns.extend(["c@x".to_string(), "'q@x".to_string()]);
        let h = Histogram::of(upns.iter().map(String::as_str));
        // All of them at 100 a part: "a" (300) splits down to "ann" (no deeper level).
        assert_eq!(h.prefixes(342, 100), ["'", "ann", "b", "c"]);
        // A group holding a tenth of them: nothing is heavy.
        assert_eq!(h.prefixes(34, 100), ["'", "a", "b", "c"]);
        // Every value starts with exactly one prefix.
        let prefixes = h.prefixes(342, 10);
        for u in &upns {
            let lower = u.to_lowercase();
            assert_eq!(
                prefixes
                    .iter()
                    .filter(|p| lower.starts_with(p.as_str()))
                    .count(),
                1,
                "{u} in {prefixes:?}"
            );
        }
    }

    #[test]
    fn chains_filter_by_prefix_and_double_quotes() {
        let p = Partition {
            path: "/users".into(),
            property: "userPrincipalName",
            alphabet: UPN_FIRST,
        };
        let chains = p.chains(&["a".into(), "'".into()], "$select=id&$top=999");
        assert_eq!(
            chains,
            vec![
                "/users?$filter=startswith(userPrincipalName,'a')&$select=id&$top=999",
                "/users?$filter=startswith(userPrincipalName,'''')&$select=id&$top=999",
            ]
        );
    }

    #[test]
    fn the_upn_alphabet_is_the_documented_one_without_upper_case() {
        assert_eq!(UPN_FIRST.len(), 26 + 10 + 8);
        assert!(UPN_FIRST.chars().all(|c| !c.is_ascii_uppercase()));
    }
}
